/* Per webhook, in this dispatcher: the circuit breaker and admission (attempts in flight
 * against max_concurrency, a token bucket for rate_limit_per_s), the pace estimate that
 * defers a backlog, and the continuous-failure clock behind auto-disable. Whether a failure
 * disables the webhook is dp_retry_decide's (dp_retry.h); this module only keeps the clock.
 *
 * Admission state is local to one dispatcher: tasks are keyed by webhook id, so one
 * webhook's work shares a partition of each task topic and usually one dispatcher, but
 * with N dispatchers a limit may be reached up to N times over. The breaker and the
 * failure clock outlive the dispatcher when the table has a health store
 * (dp_healthstore.h): an entry starts from the stored state, and each change of it is
 * stored.
 *
 * @locality loop thread */
#ifndef DP_BREAKER_H
#define DP_BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_config.h"
#include "dp_healthstore.h"
#include "hl/bucket.h"

typedef enum { DP_ADMIT_GO, DP_ADMIT_WAIT, DP_ADMIT_OPEN } dp_admit;

struct dp_breaker {
    char *webhook_id;
    struct dp_breaker *hnext; /* hash chain */
    int in_flight;
    struct hl_bucket rate; /* rate_limit_per_s, bursts of one second's worth */
    /* breaker */
    int64_t window_start_ms;
    int window_total, window_failed;
    bool open;
    int64_t open_until_ms; /* monotonic */
    bool probing;          /* the half-open probe is in flight */
    bool tripped;          /* opened since the last success: a success is a recovery */
    int64_t open_ms;       /* the current open period (dp_breaker_open_ms); 0 when closed */
    /* pacing of deliveries deferred because too many wait here */
    double avg_attempt_ms; /* moving average of attempt durations, 0 before the first */
    int64_t answered_ms;   /* monotonic: the last attempt's end */
    int64_t busy_from_ms;  /* monotonic: when attempts were last started from none in flight */
    int64_t defer_next_ms; /* wall clock: the due time given to the last one deferred */
    /* the pace seen from the other side: attempts ended per window while the webhook had
     * more waiting (dp_breaker_done) */
    int64_t pace_win_start_ms; /* monotonic; 0 before the first window */
    int pace_win_done;
    double done_every_ms; /* moving average of ms between ends while busy; 0: not measured */
    /* auto-disable (decided by dp_retry_decide, carried out by dp_autodisable) */
    int64_t failing_since_ms;    /* wall clock; 0 after a success */
    bool disabled_sent;          /* disabled here, until PostgreSQL's status rules again */
    int64_t disabled_version_ms; /* the webhook's updated_ms the disable was decided on */
    /* deliveries waiting here for a slot or a token (struct dp_delivery list) */
    void *wait_head, *wait_tail;
    size_t nwait;
    struct dp_breaker *ready_next; /* in the table's list of entries with waiters */
    bool in_ready;
    struct dp_healthstore *store; /* the table's, or NULL */
};

struct dp_breaker_table;

struct dp_breaker_table *dp_breaker_table_new(void);
/* From now on new entries start from, and changes go to, store (which must outlive t). */
void dp_breaker_table_set_store(struct dp_breaker_table *t, struct dp_healthstore *store);
void dp_breaker_table_free(struct dp_breaker_table *t);
struct dp_breaker *dp_breaker_get(struct dp_breaker_table *t, const char *webhook_id);

/* May an attempt start now? DP_ADMIT_OPEN: the breaker is open (*wait_ms until the probe);
 * DP_ADMIT_WAIT: no slot or no token (*wait_ms until the next token, 0 for a slot). On GO
 * the slot and token are taken. */
dp_admit dp_breaker_admit(const struct dp_config *cfg, struct dp_breaker *h, int max_concurrency,
                         int rate_per_s, int64_t now_ms, int64_t *wait_ms);
/* An attempt admitted by dp_breaker_admit ended. Returns true when this success closed a
 * breaker that had opened (a recovery worth announcing). */
bool dp_breaker_done(const struct dp_config *cfg, struct dp_breaker *h, bool ok, int64_t now_ms,
                    int64_t wall_ms);
/* How long h stays open this time: breaker_open_ms when it opened, doubled by each failed
 * probe since, at most breaker_open_max_ms. An endpoint down for long is probed every
 * breaker_open_max_ms, and its waiting deliveries hop through the retry tiers that much
 * less often (dp_deliver.c, defer_open). */
int64_t dp_breaker_open_ms(const struct dp_config *cfg, const struct dp_breaker *h);
/* An attempt that started at started_wall_ms ended at wall_ms: feeds the pace estimate. */
void dp_breaker_timed(struct dp_breaker *h, int64_t started_wall_ms, int64_t wall_ms);
/* How long, in ms, the webhook needs at its pace to finish the attempts in flight and
 * those parked here, at monotonic now_ms. While attempts are in flight and none has been
 * answered for a while (or none ever), the silence slows the pace down: an endpoint that
 * hangs shows it only when its attempts time out, and until then the average of earlier
 * answers, or the guess before the first, would keep filling the dispatcher with its
 * work. */
double dp_breaker_drain_ms(const struct dp_breaker *h, int concurrency, int rate_per_s,
                          int64_t now_ms);
/* Is the webhook answering: breaker closed, and an attempt ended within the silence that
 * slows its pace (dp_breaker_drain_ms)? */
bool dp_breaker_answering(const struct dp_breaker *h, int64_t now_ms);
/* Due time (wall clock) for a delivery deferred because too many wait here: after those in
 * flight, those parked and those deferred before it, at the webhook's pace (its average
 * attempt time over its concurrency, or its rate limit). Deferred all with the same
 * delay, a burst would come back at once, to be deferred again all but a few, round after
 * round: each round a copy of every task through Kafka, and after a crash the copies of
 * every uncommitted round delivered again. */
int64_t dp_breaker_defer_due(struct dp_breaker *h, int concurrency, int rate_per_s,
                            int64_t wall_ms);

/* Entries with waiters, for the loop to retry admission. */
void dp_breaker_mark_ready(struct dp_breaker_table *t, struct dp_breaker *h);
struct dp_breaker *dp_breaker_take_ready(struct dp_breaker_table *t);

#endif
