/* Token-bucket arithmetic (see hl/bucket.h). */
#include "hl/bucket.h"

#include "hl/banned.h"

bool hl_bucket_take(struct hl_bucket *b, double rate_per_s, double burst, int64_t now_ms,
                    double *missing)
{
    if (burst < 1)
        burst = 1;
    if (b->tokens < 0) {
        b->tokens = burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rate_per_s / 1000.0;
        b->last_ms = now_ms;
    }
    if (b->tokens > burst)
        b->tokens = burst;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return true;
    }
    *missing = 1.0 - b->tokens;
    return false;
}
