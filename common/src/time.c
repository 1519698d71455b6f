/* Clocks and ISO 8601 formatting. */
#include "hl/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hl/banned.h"

int64_t hl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hl_mono_ms(void)
{
    return hl_mono_us() / 1000;
}

int64_t hl_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void hl_iso8601_ms(int64_t epoch_ms, char out[HL_ISO8601_LEN])
{
    /* gmtime_r and snprintf cost ~3,700 instructions; a request thread formats many
     * timestamps within one second, so each thread keeps the "YYYY-MM-DDTHH:MM:SS." of the
     * last second it formatted and writes only the milliseconds. */
    static _Thread_local int64_t cached_secs = INT64_MIN;
    static _Thread_local char cached[HL_ISO8601_LEN];
    int64_t secs = epoch_ms / 1000;
    if (secs != cached_secs || epoch_ms < 0) { /* before 1970: not a clock reading, no cache */
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        char tmp[64]; /* roomy: the compiler cannot prove the fields are in range */
        snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(epoch_ms % 1000));
        memcpy(out, tmp, HL_ISO8601_LEN - 1);
        out[HL_ISO8601_LEN - 1] = '\0';
        if (epoch_ms >= 0) {
            memcpy(cached, out, HL_ISO8601_LEN);
            cached_secs = secs;
        }
        return;
    }
    int ms = (int)(epoch_ms % 1000);
    memcpy(out, cached, HL_ISO8601_LEN);
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
}
