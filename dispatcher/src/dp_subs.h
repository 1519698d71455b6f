/* The subscription cache: every active webhook, held in memory so that matching an event
 * never waits for PostgreSQL, and so that a PostgreSQL outage does not stop delivery.
 *
 * A background thread LISTENs on 'hl_webhooks_changed' (the trigger in
 * schemas/migrations/0001_webhooks.sql notifies at commit), reloads the whole set ~50 ms
 * after a notification and every refresh interval as a fallback, and publishes each load
 * as an immutable, reference-counted snapshot. Readers take a reference and never lock
 * while they use it; a snapshot lives until its last reader releases it. */
#ifndef DP_SUBS_H
#define DP_SUBS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/err.h"
#include "hl/sign.h"

struct dp_webhook {
    char *id; /* uuid text */
    char *tenant;
    char *url;
    char **events; /* subscription patterns */
    size_t nevents;
    struct hl_secret secret; /* decoded once at load */
};

/* Immutable once published. hooks are sorted by tenant, then id. */
struct dp_snapshot {
    atomic_int refs;
    size_t n;
    struct dp_webhook *hooks;
};

struct dp_subs;

/* Does not connect yet; see dp_subs_start(). */
struct dp_subs *dp_subs_new(const char *pg_dsn, int64_t refresh_interval_ms);
/* Starts the loader thread. */
hl_err dp_subs_start(struct dp_subs *s, char *errbuf, size_t errlen);
/* Waits up to timeout_ms for the first successful load; true once there is a snapshot. */
bool dp_subs_wait_ready(struct dp_subs *s, int64_t timeout_ms);
/* The current snapshot with a reference the caller gives back with dp_snapshot_release(),
 * or NULL before the first load. @locality any thread @locks takes the cache's mutex */
struct dp_snapshot *dp_subs_acquire(struct dp_subs *s);
void dp_snapshot_release(struct dp_snapshot *snap);
/* The index of the first webhook of tenant in snap->hooks; *count receives how many
 * follow it (0 when the tenant has none). */
size_t dp_snapshot_tenant(const struct dp_snapshot *snap, const char *tenant, size_t *count);
/* Stops and joins the thread, then frees everything. */
void dp_subs_free(struct dp_subs *s);

#endif
