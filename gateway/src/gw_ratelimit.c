/* Rate limits: token buckets keyed by a caller-chosen string (an API key's id, an incoming
 * webhook source, ...), answered with 429 and Retry-After by whoever asks.
 *
 * A bucket holds up to `burst` tokens and refills at `rate_per_s`; each request takes one.
 * The buckets live in a fixed table (SHARDS x SLOTS_PER_SHARD), so memory is bounded however
 * many keys appear: a key hashes to a shard (its own mutex, so civetweb workers rarely
 * contend) and to a short probe window inside it; when the window is full the slot touched
 * longest ago is evicted. Eviction forgets a bucket, i.e. refills it: harmless for a bucket
 * idle longer than burst / rate (it would be full anyway), and a bucket in active use is
 * touched too recently to be the oldest of its window unless SHARDS * SLOTS_PER_SHARD keys
 * are all busy at once. Keys are compared by a 64-bit hash; two keys that collide share a
 * bucket, which at 2^-64 per pair is not worth a stored copy of every key.
 *
 * Limits are per gateway process: with N gateways behind a balancer a key may make up to
 * N times its rate. gw_rate_limit_key, at the end, is the API-key limit every authenticated
 * request passes (the router calls it after authentication). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gw_config.h"
#include "gw_ratelimit.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "hl/log.h"
#include "hl/time.h"
#include "hl/banned.h"

#define SHARDS 64 /* power of two */
#define SLOTS_PER_SHARD 512 /* power of two */
#define PROBE 8
#define RETRY_AFTER_MAX_S 86400

struct slot {
    uint64_t hash;
    bool used;
    struct hl_bucket b;
};

struct shard {
    pthread_mutex_t mu;
    struct slot slots[SLOTS_PER_SHARD];
};

static struct shard shards[SHARDS];
static pthread_once_t shards_once = PTHREAD_ONCE_INIT;

static void shards_init(void)
{
    for (size_t i = 0; i < SHARDS; i++)
        pthread_mutex_init(&shards[i].mu, NULL);
}

bool gw_bucket_take(struct hl_bucket *b, double rate_per_s, double burst, int64_t now_ms,
                    int *retry_after_s)
{
    double missing;
    if (hl_bucket_take(b, rate_per_s, burst, now_ms, &missing))
        return true;
    /* A refused request takes nothing, so a client that honours Retry-After succeeds. */
    double wait_s = ceil(missing / rate_per_s);
    *retry_after_s = wait_s < 1 ? 1 : wait_s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (int)wait_s;
    return false;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

bool gw_rate_allow(const char *bucket_key, double rate_per_s, double burst, int *retry_after_s)
{
    if (!(rate_per_s > 0))
        return true; /* unlimited (also NaN) */
    pthread_once(&shards_once, shards_init);
    uint64_t h = fnv1a(bucket_key);
    struct shard *sh = &shards[h >> 58 & (SHARDS - 1)];
    size_t start = (size_t)h & (SLOTS_PER_SHARD - 1);
    int64_t now = hl_mono_ms();

    pthread_mutex_lock(&sh->mu);
    struct slot *s = NULL, *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct slot *c = &sh->slots[(start + i) & (SLOTS_PER_SHARD - 1)];
        if (c->used && c->hash == h) {
            s = c;
            break;
        }
        if (!c->used) {
            if (!free_slot)
                free_slot = c;
        } else if (!oldest || c->b.last_ms < oldest->b.last_ms) {
            oldest = c;
        }
    }
    if (!s) {
        s = free_slot ? free_slot : oldest;
        s->used = true;
        s->hash = h;
        s->b = (struct hl_bucket)HL_BUCKET_INIT; /* a new bucket starts full */
    }
    bool ok = gw_bucket_take(&s->b, rate_per_s, burst, now, retry_after_s);
    pthread_mutex_unlock(&sh->mu);
    return ok;
}

/* Per-key rate limits: the key's own rate_limit_per_s, else the gateway's default; one
 * bucket per key id (so all of a key's requests share it, whichever route they take). */
int gw_rate_limit_key(struct gw_req *r)
{
    const struct gw_config *cfg = r->ctx->cfg;
    double rate = r->who.rate_limit_per_s >= 0 ? (double)r->who.rate_limit_per_s
                                               : (double)cfg->api_key_rate_limit_per_s;
    char key[64];
    int retry_after;
    snprintf(key, sizeof(key), "api-key:%s", r->who.key_id);
    if (gw_rate_allow(key, rate, (double)cfg->api_key_rate_burst, &retry_after))
        return 0;
    hl_log(HL_LOG_DEBUG, "ratelimit", "key '%s' over %g requests/s", r->who.key_id, rate);
    return gw_reply_rate_limited(r, retry_after,
                                 "this API key may make %g requests per second (bursts of %lld);"
                                 " retry in %d s",
                                 rate, (long long)cfg->api_key_rate_burst, retry_after);
}
