/* Per-webhook circuit breaker and admission (see dp_breaker.h).
 *
 * Breaker: counts attempts in a fixed window of breaker_window_ms; when at least
 * breaker_min_requests ended and breaker_failure_pct of them failed, it opens for
 * breaker_open_ms. Then exactly one attempt (the probe) is let through: success closes it,
 * failure opens it again for twice as long, up to breaker_open_max_ms (dp_breaker_open_ms). */
#include "dp_breaker.h"

#include <stdlib.h>
#include <string.h>

#include "dp_metrics.h"
#include "hl/hash.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

#define NBUCKETS 4096
/* No answer for this long with attempts in flight slows the pace down (dp_breaker_drain_ms).
 * Shorter silences are the loop's own: an iteration busy with fan-out answers nobody. */
#define SILENCE_MIN_MS 250
/* The completion-rate pace (pace_ms): ends counted over windows of PACE_WINDOW_MS in which
 * the webhook had deliveries waiting, at least PACE_MIN_DONE of them for a sample. */
#define PACE_WINDOW_MS 250
#define PACE_MIN_DONE 8

struct dp_breaker_table {
    struct dp_breaker *b[NBUCKETS];
    struct dp_breaker *ready;
    struct dp_healthstore *store; /* NULL: state lives and dies with this dispatcher */
};

static unsigned hash(const char *s)
{
    return (unsigned)(hl_hash_str(HL_HASH_INIT, s) % NBUCKETS);
}

struct dp_breaker_table *dp_breaker_table_new(void)
{
    return hl_xcalloc(1, sizeof(struct dp_breaker_table));
}

void dp_breaker_table_free(struct dp_breaker_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        struct dp_breaker *h = t->b[i], *next;
        for (; h; h = next) {
            next = h->hnext;
            free(h->webhook_id);
            free(h);
        }
    }
    free(t);
}

struct dp_breaker *dp_breaker_get(struct dp_breaker_table *t, const char *webhook_id)
{
    unsigned k = hash(webhook_id);
    for (struct dp_breaker *h = t->b[k]; h; h = h->hnext)
        if (strcmp(h->webhook_id, webhook_id) == 0)
            return h;
    struct dp_breaker *h = hl_xcalloc(1, sizeof(*h));
    h->webhook_id = hl_xstrdup(webhook_id);
    h->rate = (struct hl_bucket)HL_BUCKET_INIT; /* full on first use */
    h->hnext = t->b[k];
    h->store = t->store;
    t->b[k] = h;
    struct dp_health_saved v;
    if (t->store && dp_healthstore_get(t->store, webhook_id, &v)) {
        /* where the previous owner (or this dispatcher before a restart) left it */
        int64_t wait = v.open_until_ms - hl_now_ms();
        h->open = v.open;
        if (h->open)
            dp_metrics_breakers_open(1);
        h->open_until_ms = hl_mono_ms() + (wait > 0 ? wait : 0);
        h->tripped = v.tripped;
        h->failing_since_ms = v.failing_since_ms;
        /* The period it was in is not stored. Doubling from the trip, an open period is
         * about half of the time from the first failure to its end; dp_breaker_open_ms
         * bounds it by the configuration. */
        if (h->open && v.failing_since_ms > 0 && v.open_until_ms > v.failing_since_ms)
            h->open_ms = (v.open_until_ms - v.failing_since_ms) / 2;
    }
    return h;
}

void dp_breaker_table_set_store(struct dp_breaker_table *t, struct dp_healthstore *store)
{
    t->store = store;
}

/* The part of h that outlives the dispatcher, at monotonic now_ms / wall_ms. */
static struct dp_health_saved saved_of(const struct dp_breaker *h, int64_t now_ms, int64_t wall_ms)
{
    return (struct dp_health_saved){
        .open = h->open,
        .open_until_ms = h->open ? wall_ms + (h->open_until_ms - now_ms) : 0,
        .tripped = h->tripped,
        .failing_since_ms = h->failing_since_ms,
    };
}

int64_t dp_breaker_open_ms(const struct dp_config *cfg, const struct dp_breaker *h)
{
    int64_t ms = h->open_ms;
    if (ms < cfg->breaker_open_ms)
        ms = cfg->breaker_open_ms;
    return ms < cfg->breaker_open_max_ms ? ms : cfg->breaker_open_max_ms;
}

dp_admit dp_breaker_admit(const struct dp_config *cfg, struct dp_breaker *h, int max_concurrency,
                         int rate_per_s, int64_t now_ms, int64_t *wait_ms)
{
    *wait_ms = 0;
    if (h->open) {
        if (now_ms < h->open_until_ms || h->probing) {
            /* While the probe is out, the first period, however long the current one: a
             * backlog due at the probe comes all at once, and when the probe succeeds it
             * goes breaker_open_ms later, not breaker_open_max_ms. */
            *wait_ms = h->probing ? cfg->breaker_open_ms : h->open_until_ms - now_ms;
            return DP_ADMIT_OPEN;
        }
    }
    int limit = max_concurrency > 0 ? max_concurrency : (int)cfg->default_max_concurrency;
    if (h->open)
        limit = 1; /* half-open: one probe */
    if (h->in_flight >= limit)
        return DP_ADMIT_WAIT;
    double missing;
    if (rate_per_s > 0 && !hl_bucket_take(&h->rate, rate_per_s, rate_per_s, now_ms, &missing)) {
        *wait_ms = (int64_t)(missing * 1000.0 / rate_per_s) + 1;
        return DP_ADMIT_WAIT;
    }
    if (h->open)
        h->probing = true;
    if (h->in_flight++ == 0)
        h->busy_from_ms = now_ms;
    return DP_ADMIT_GO;
}

bool dp_breaker_done(const struct dp_config *cfg, struct dp_breaker *h, bool ok, int64_t now_ms,
                    int64_t wall_ms)
{
    bool was_open = h->open, was_tripped = h->tripped;
    int64_t was_failing = h->failing_since_ms, was_until = h->open_until_ms;
    bool recovered = false;
    h->in_flight--;
    h->answered_ms = now_ms;
    /* Ends per window while deliveries wait behind these: the rate the webhook is really
     * served at here, whatever each attempt's own time (see pace_ms). A window in which
     * nothing waited measures the traffic, not the webhook, and is dropped. */
    if (h->nwait == 0) {
        h->pace_win_start_ms = 0;
    } else if (h->pace_win_start_ms == 0) {
        h->pace_win_start_ms = now_ms;
        h->pace_win_done = 0;
    } else {
        int64_t span = now_ms - h->pace_win_start_ms;
        if (++h->pace_win_done >= PACE_MIN_DONE && span >= PACE_WINDOW_MS) {
            double every = (double)span / h->pace_win_done;
            h->done_every_ms =
                h->done_every_ms > 0 ? 0.5 * h->done_every_ms + 0.5 * every : every;
        }
        if (span >= PACE_WINDOW_MS) {
            h->pace_win_start_ms = now_ms;
            h->pace_win_done = 0;
        }
    }
    if (now_ms - h->window_start_ms > cfg->breaker_window_ms) {
        h->window_start_ms = now_ms;
        h->window_total = h->window_failed = 0;
    }
    h->window_total++;
    if (!ok)
        h->window_failed++;
    if (ok) {
        recovered = h->tripped || h->disabled_sent;
        h->failing_since_ms = 0;
        h->disabled_sent = false;
        h->tripped = false;
        h->open_ms = 0;
        if (h->open) {
            h->open = false;
            dp_metrics_breakers_open(-1);
            h->window_start_ms = now_ms;
            h->window_total = h->window_failed = 0;
        }
    } else if (h->failing_since_ms == 0) {
        h->failing_since_ms = wall_ms;
    }
    if (h->probing) {
        h->probing = false;
        if (!ok) {
            h->open_ms = dp_breaker_open_ms(cfg, h) * 2;
            h->open_until_ms = now_ms + dp_breaker_open_ms(cfg, h);
        }
    } else if (!ok && !h->open && h->window_total >= cfg->breaker_min_requests &&
               h->window_failed * 100 >= cfg->breaker_failure_pct * h->window_total) {
        h->open = true;
        dp_metrics_breakers_open(1);
        h->tripped = true;
        h->open_ms = cfg->breaker_open_ms;
        h->open_until_ms = now_ms + dp_breaker_open_ms(cfg, h);
    }
    if (h->store && (h->open != was_open || h->tripped != was_tripped ||
                     h->failing_since_ms != was_failing || h->open_until_ms != was_until)) {
        struct dp_health_saved v = saved_of(h, now_ms, wall_ms);
        dp_healthstore_put(h->store, h->webhook_id, &v, wall_ms);
    }
    return recovered;
}

void dp_breaker_timed(struct dp_breaker *h, int64_t started_wall_ms, int64_t wall_ms)
{
    double d = (double)(wall_ms > started_wall_ms ? wall_ms - started_wall_ms : 0) + 1.0;
    h->avg_attempt_ms = h->avg_attempt_ms > 0 ? 0.7 * h->avg_attempt_ms + 0.3 * d : d;
}

/* Milliseconds between two attempts' ends at the webhook's pace. Before the first answer, a
 * guess on the early side: too early costs one more hop.
 *
 * Two measures, and the faster one counts: the average attempt time over the concurrency,
 * and the time between ends actually seen while deliveries waited. They agree for a slow
 * endpoint. For a fast one on a busy dispatcher the first is the loop's latency, and a
 * few long iterations (a rebalance, a burst of fan-out) lift its average for a while: the
 * webhook then looks slow, its backlog is deferred at that pace with due times far ahead,
 * every deferral frees a slot for the intake to fill with more of the same, and the
 * dispatcher ends up idle while the backlog waits in the retry tiers (scenario 3's tail).
 * The ends counted per window are what the webhook really got, spikes included. */
static double pace_ms(const struct dp_breaker *h, int concurrency, int rate_per_s)
{
    double per = (h->avg_attempt_ms > 0 ? h->avg_attempt_ms : 20.0) /
                 (concurrency > 0 ? concurrency : 1);
    if (h->done_every_ms > 0 && h->done_every_ms < per)
        per = h->done_every_ms;
    if (rate_per_s > 0 && per < 1000.0 / rate_per_s)
        per = 1000.0 / rate_per_s;
    return per;
}

double dp_breaker_drain_ms(const struct dp_breaker *h, int concurrency, int rate_per_s,
                          int64_t now_ms)
{
    double per = pace_ms(h, concurrency, rate_per_s);
    int64_t since = h->answered_ms > h->busy_from_ms ? h->answered_ms : h->busy_from_ms;
    if (h->in_flight > 0 && now_ms - since > SILENCE_MIN_MS) {
        double silent = (double)(now_ms - since) / (concurrency > 0 ? concurrency : 1);
        if (silent > per)
            per = silent;
    }
    return per * (double)(h->in_flight + (int)h->nwait);
}

bool dp_breaker_answering(const struct dp_breaker *h, int64_t now_ms)
{
    return !h->open && h->answered_ms > 0 && now_ms - h->answered_ms <= SILENCE_MIN_MS;
}

int64_t dp_breaker_defer_due(struct dp_breaker *h, int concurrency, int rate_per_s,
                            int64_t wall_ms)
{
    double per = pace_ms(h, concurrency, rate_per_s);
    int64_t ahead = wall_ms + (int64_t)(per * (double)(h->in_flight + (int)h->nwait));
    int64_t due = (h->defer_next_ms > ahead ? h->defer_next_ms : ahead) + (int64_t)per + 1;
    h->defer_next_ms = due;
    return due;
}

void dp_breaker_mark_ready(struct dp_breaker_table *t, struct dp_breaker *h)
{
    if (h->in_ready || h->nwait == 0)
        return;
    h->in_ready = true;
    h->ready_next = t->ready;
    t->ready = h;
}

struct dp_breaker *dp_breaker_take_ready(struct dp_breaker_table *t)
{
    struct dp_breaker *h = t->ready;
    if (h) {
        t->ready = h->ready_next;
        h->ready_next = NULL;
        h->in_ready = false;
    }
    return h;
}
