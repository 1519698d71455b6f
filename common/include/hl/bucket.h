/* A token bucket: holds up to `burst` tokens, refills at `rate_per_s`, and each admitted
 * request takes one. The arithmetic only: callers keep buckets where they need them (the
 * gateway's sharded table of API-key and source limits, the dispatcher's per-webhook
 * health) and under whatever lock guards those. Times are monotonic milliseconds. */
#ifndef HL_BUCKET_H
#define HL_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct hl_bucket {
    double tokens; /* < 0: not used yet; the first take finds it full */
    int64_t last_ms;
};

#define HL_BUCKET_INIT {-1, 0}

/* Refills b for the time since its last refill (a clock that went back adds nothing),
 * caps it at burst (at least 1), then takes a token if there is one: true. Otherwise
 * false, taking nothing, with *missing the part of a token not there yet (in (0, 1]): a
 * caller that waits *missing / rate_per_s seconds succeeds (each caller rounds that wait
 * as its answer needs). rate_per_s must be > 0. */
bool hl_bucket_take(struct hl_bucket *b, double rate_per_s, double burst, int64_t now_ms,
                    double *missing);

#endif
