/* Rate limits (gw_ratelimit.c): token buckets in a fixed-size table, shared by every
 * worker thread. @locks a per-shard mutex; any thread may call. */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* True when one more request under bucket_key is allowed at rate_per_s with bursts of up
 * to burst requests (rate_per_s <= 0: unlimited). False when it is over the limit:
 * *retry_after_s is then the whole seconds (>= 1) until a request would be allowed. */
bool gw_rate_allow(const char *bucket_key, double rate_per_s, double burst, int *retry_after_s);
/* One bucket's arithmetic, for unit tests: refills for the time since last_ms, then takes a
 * token if there is one. */
struct gw_bucket {
    double tokens;
    int64_t last_ms;
};
bool gw_bucket_take(struct gw_bucket *b, double rate_per_s, double burst, int64_t now_ms,
                    int *retry_after_s);

#endif
