/* Endpoint health that outlives a dispatcher: the breaker's state and the continuous-failure
 * clock behind auto-disable, kept in PostgreSQL (webhook_health, migration 0014) so that a
 * restart or a rebalance does not close an open breaker or start the auto-disable clock
 * over.
 *
 * The loop thread records a webhook's state when it changes (a breaker opening or closing,
 * the first failure, the first success: transitions, never one write per attempt) and
 * looks a webhook up when it first meets it. A background thread with its own connection
 * writes what was recorded every WRITE_MS (the latest state per webhook, last writer by
 * time wins), and reads every READ_MS the rows other dispatchers changed, so a webhook
 * whose tasks move here after a rebalance starts from its owner's state, at most about a
 * second old. While PostgreSQL is away the writes wait and coalesce; nothing blocks the
 * loop.
 *
 * @locality dp_healthstore_put and _get: the loop thread; @locks one mutex inside */
#ifndef DP_HEALTHSTORE_H
#define DP_HEALTHSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/err.h"

struct dp_health_saved {
    bool open;                /* breaker open (a probe may be due) */
    int64_t open_until_ms;    /* wall clock: when the next probe may go */
    bool tripped;             /* opened since the last success */
    int64_t failing_since_ms; /* wall clock; 0 after a success */
};

struct dp_healthstore;

struct dp_healthstore *dp_healthstore_new(const char *pg_dsn);
/* Starts the thread; waits up to wait_ms for the first read (PostgreSQL may be down: then
 * every webhook starts healthy, as before there was a store). */
hl_err dp_healthstore_start(struct dp_healthstore *s, int64_t wait_ms, char *errbuf,
                            size_t errlen);
void dp_healthstore_put(struct dp_healthstore *s, const char *webhook_id,
                        const struct dp_health_saved *v, int64_t wall_ms);
/* The webhook's last known state; false when there is none (healthy). */
bool dp_healthstore_get(struct dp_healthstore *s, const char *webhook_id,
                        struct dp_health_saved *out);
/* Writes what is pending (if PostgreSQL answers), stops the thread, frees everything. */
void dp_healthstore_free(struct dp_healthstore *s);

#endif
