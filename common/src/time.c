/* Clocks, ISO 8601 formatting and parsing. */
#include "hl/time.h"

#include <stdbool.h>
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

int64_t hl_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The n decimal digits at s as a number; false when one is not a digit. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

hl_err hl_iso8601_parse(const char *s, long long *unix_s)
{
    int y, mo, d, h, mi, se, oh = 0, om = 0;
    if (strnlen(s, 20) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se))
        return HL_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return HL_EINVAL;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return HL_EINVAL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return HL_EINVAL;
        p += 6;
    } else {
        return HL_EINVAL;
    }
    if (*p)
        return HL_EINVAL;
    *unix_s = (long long)(hl_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) -
              sign * (oh * 3600 + om * 60);
    return HL_OK;
}
