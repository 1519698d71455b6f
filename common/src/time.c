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
    time_t secs = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char tmp[64]; /* roomy: the compiler cannot prove the fields are in range */
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(epoch_ms % 1000));
    memcpy(out, tmp, HL_ISO8601_LEN - 1);
    out[HL_ISO8601_LEN - 1] = '\0';
}
