/* Clocks and timestamp formatting. */
#ifndef HL_TIME_H
#define HL_TIME_H

#include <stddef.h>
#include <stdint.h>

int64_t hl_now_ms(void);      /* wall clock, Unix epoch milliseconds */
int64_t hl_mono_ms(void);     /* monotonic, for timers and deadlines */
int64_t hl_mono_us(void);
/* Writes "2026-02-25T15:00:00.000Z" (24 chars + NUL); out needs HL_ISO8601_LEN bytes. */
#define HL_ISO8601_LEN 25
void hl_iso8601_ms(int64_t epoch_ms, char out[HL_ISO8601_LEN]);

#endif
