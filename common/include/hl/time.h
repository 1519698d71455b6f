/* Clocks, timestamp formatting and parsing. */
#ifndef HL_TIME_H
#define HL_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "hl/err.h"

int64_t hl_now_ms(void);      /* wall clock, Unix epoch milliseconds */
int64_t hl_mono_ms(void);     /* monotonic, for timers and deadlines */
int64_t hl_mono_us(void);
/* Writes "2026-02-25T15:00:00.000Z" (24 chars + NUL); out needs HL_ISO8601_LEN bytes. */
#define HL_ISO8601_LEN 25
void hl_iso8601_ms(int64_t epoch_ms, char out[HL_ISO8601_LEN]);
/* Unix seconds of an ISO-8601 / RFC 3339 date-time ("2026-02-25T15:00:00.000Z",
 * "...+02:00"); HL_EINVAL when it is not one. */
hl_err hl_iso8601_parse(const char *s, long long *unix_s);
/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31). */
int64_t hl_days_from_civil(int64_t y, int64_t m, int64_t d);

#endif
