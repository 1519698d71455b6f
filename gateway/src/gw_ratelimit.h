/* Rate limits (gw_ratelimit.c): token buckets in a fixed-size table, shared by every
 * worker thread. @locks a per-shard mutex; any thread may call. */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "hl/bucket.h"

/* True when one more request under bucket_key is allowed at rate_per_s with bursts of up
 * to burst requests (rate_per_s <= 0: unlimited). False when it is over the limit:
 * *retry_after_s is then the whole seconds (>= 1) until a request would be allowed. */
bool gw_rate_allow(const char *bucket_key, double rate_per_s, double burst, int *retry_after_s);

struct gw_req;
/* Applies the authenticated key's limit (its own rate_limit_per_s, else the gateway's
 * api_key_rate_limit_per_s): 0, or 429 with Retry-After after replying. */
int gw_rate_limit_key(struct gw_req *r);
/* hl_bucket_take with the wait as Retry-After gives it: whole seconds, 1 at least, a day
 * at most. Exposed for unit tests. */
bool gw_bucket_take(struct hl_bucket *b, double rate_per_s, double burst, int64_t now_ms,
                    int *retry_after_s);

#endif
