/* Endpoint health and admission, per webhook, in this dispatcher: attempts in flight
 * (max_concurrency), a token bucket (rate_limit_per_s), the circuit breaker, and the
 * continuous-failure clock behind auto-disable.
 *
 * The state is local to one dispatcher: tasks are keyed by webhook id, so one webhook's
 * work shares a partition of each task topic and usually one dispatcher, but with N
 * dispatchers a limit may be reached up to N times over. State is forgotten on restart
 * (the breaker closes, the failure clock restarts).
 *
 * @locality loop thread */
#ifndef DP_HEALTH_H
#define DP_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_config.h"
#include "hl/bucket.h"

typedef enum { DP_ADMIT_GO, DP_ADMIT_WAIT, DP_ADMIT_OPEN } dp_admit;

struct dp_health {
    char *webhook_id;
    struct dp_health *hnext; /* hash chain */
    int in_flight;
    struct hl_bucket rate; /* rate_limit_per_s, bursts of one second's worth */
    /* breaker */
    int64_t window_start_ms;
    int window_total, window_failed;
    bool open;
    int64_t open_until_ms; /* monotonic */
    bool probing;          /* the half-open probe is in flight */
    bool tripped;          /* opened since the last success: a success is a recovery */
    /* pacing of deliveries deferred because too many wait here */
    double avg_attempt_ms; /* moving average of attempt durations, 0 before the first */
    int64_t answered_ms;   /* monotonic: the last attempt's end */
    int64_t busy_from_ms;  /* monotonic: when attempts were last started from none in flight */
    int64_t defer_next_ms; /* wall clock: the due time given to the last one deferred */
    /* auto-disable */
    int64_t failing_since_ms; /* wall clock; 0 after a success */
    bool disabled_sent;     /* disabled here, until PostgreSQL's status rules again */
    int64_t disabled_at_ms; /* wall clock of that */
    /* deliveries waiting here for a slot or a token (struct dp_delivery list) */
    void *wait_head, *wait_tail;
    size_t nwait;
    struct dp_health *ready_next; /* in the table's list of entries with waiters */
    bool in_ready;
};

struct dp_health_table;

struct dp_health_table *dp_health_table_new(void);
void dp_health_table_free(struct dp_health_table *t);
struct dp_health *dp_health_get(struct dp_health_table *t, const char *webhook_id);

/* May an attempt start now? DP_ADMIT_OPEN: the breaker is open (*wait_ms until the probe);
 * DP_ADMIT_WAIT: no slot or no token (*wait_ms until the next token, 0 for a slot). On GO
 * the slot and token are taken. */
dp_admit dp_health_admit(const struct dp_config *cfg, struct dp_health *h, int max_concurrency,
                         int rate_per_s, int64_t now_ms, int64_t *wait_ms);
/* An attempt admitted by dp_health_admit ended. Returns true when this success closed a
 * breaker that had opened (a recovery worth announcing). */
bool dp_health_done(const struct dp_config *cfg, struct dp_health *h, bool ok, int64_t now_ms,
                    int64_t wall_ms);
/* An attempt that started at started_wall_ms ended at wall_ms: feeds the pace estimate. */
void dp_health_timed(struct dp_health *h, int64_t started_wall_ms, int64_t wall_ms);
/* How long, in ms, the webhook needs at its pace to finish the attempts in flight and
 * those parked here, at monotonic now_ms. While attempts are in flight and none has been
 * answered for a while (or none ever), the silence slows the pace down: an endpoint that
 * hangs shows it only when its attempts time out, and until then the average of earlier
 * answers, or the guess before the first, would keep filling the dispatcher with its
 * work. */
double dp_health_drain_ms(const struct dp_health *h, int concurrency, int rate_per_s,
                          int64_t now_ms);
/* Due time (wall clock) for a delivery deferred because too many wait here: after those in
 * flight, those parked and those deferred before it, at the webhook's pace (its average
 * attempt time over its concurrency, or its rate limit). Deferred all with the same
 * delay, a burst would come back at once, to be deferred again all but a few, round after
 * round: each round a copy of every task through Kafka, and after a crash the copies of
 * every uncommitted round delivered again. */
int64_t dp_health_defer_due(struct dp_health *h, int concurrency, int rate_per_s,
                            int64_t wall_ms);
/* True once the webhook has failed without a success for auto_disable_after_ms (once). */
bool dp_health_should_disable(const struct dp_config *cfg, struct dp_health *h,
                              int64_t wall_ms);

/* Entries with waiters, for the loop to retry admission. */
void dp_health_mark_ready(struct dp_health_table *t, struct dp_health *h);
struct dp_health *dp_health_take_ready(struct dp_health_table *t);

#endif
