/* The subscription cache: every webhook (paused and disabled ones too: their events become
 * skipped deliveries), held in memory so that matching an event
 * never waits for PostgreSQL, and so that a PostgreSQL outage does not stop delivery.
 *
 * A background thread LISTENs on 'hl_webhooks_changed' (the triggers of
 * schemas/migrations/0011_subscription_version.sql notify at commit), reloads the whole set
 * ~50 ms after a notification, at once when the loop asks (dp_subs_request) and, as a
 * fallback, every refresh interval when the subscription version moved, and publishes each
 * load, read in one transaction with its version, as an immutable, reference-counted
 * snapshot. Readers take a reference and never lock
 * while they use it; a snapshot lives until its last reader releases it. */
#ifndef DP_SUBS_H
#define DP_SUBS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/buf.h"
#include "hl/err.h"
#include "hl/filter.h"
#include "hl/keyring.h"
#include "hl/sign.h"

typedef enum { DP_WH_ACTIVE, DP_WH_PAUSED, DP_WH_DISABLED } dp_wh_status;
typedef enum { DP_BACKOFF_EXPONENTIAL, DP_BACKOFF_LINEAR, DP_BACKOFF_FIXED } dp_backoff;

#define DP_SCHEDULE_MAX 20 /* retry_policy.schedule_ms: at most this many retries */

/* A webhook's retry policy (retry_policy jsonb, migration 0003). */
struct dp_retry_policy {
    dp_backoff strategy;
    int max_attempts; /* total, first attempt included */
    int64_t initial_delay_ms;
    int64_t max_delay_ms;
    /* An explicit schedule (retry_policy.schedule_ms), when nschedule > 0: the wait before
     * retry n is schedule_ms[n - 1], and max_attempts is 1 + nschedule. */
    int nschedule;
    int64_t schedule_ms[DP_SCHEDULE_MAX];
};

/* Everything an attempt needs, decoded and preformatted once per load so that building a
 * request is copying strings. Credentials live here and in requests only, never in logs. */
struct dp_webhook {
    char *id; /* uuid text */
    char *tenant;
    char *url;
    char **events; /* subscription patterns */
    size_t nevents;
    dp_wh_status status;
    char *method;            /* POST, PUT or PATCH */
    struct hl_secret secret; /* decoded once at load */
    struct hl_secret previous_secret;
    int64_t previous_secret_expires_ms; /* epoch ms; 0 when there is no previous secret */
    bool sig_standard, sig_legacy, sig_v1a;
    struct hl_v1a_key signing_key; /* v1a; previous_signing_key signs during the overlap */
    struct hl_v1a_key previous_signing_key;
    bool has_signing_key, has_previous_signing_key;
    /* Non-NULL when a sealed value does not open with this dispatcher's ring: the webhook's
     * deliveries then fail with error class secret_unavailable and this reason (it names
     * the field and the master key id, never a value). */
    char *secret_error;
    char *legacy_header;
    char **header_lines; /* "Name: value": custom headers, then the auth header if static */
    size_t nheader_lines;
    char *hmac_key; /* auth type hmac: raw secret text, NULL otherwise */
    size_t hmac_key_len;
    char *hmac_header;
    struct dp_retry_policy retry;
    int64_t timeout_ms;
    int rate_limit_per_s; /* 0: unlimited */
    int max_concurrency;  /* 0: the dispatcher's default */
    int64_t updated_ms;   /* epoch ms of the row's last change */
    struct hl_filter *filter; /* the payload filter (migration 0016), NULL when none */
    /* Delivery format (dp_format.h): NULL for the standard one, whose path is unchanged */
    struct hl_format *format;
    struct hl_buf format_key; /* HMAC key of the format's signature header */
};

/* Immutable once published. hooks are sorted by tenant, then id; tenants sorted. */
/* One event pattern of one webhook: the snapshot's index of patterns, sorted by tenant,
 * pattern and webhook, finds a tenant's webhooks for an event type without looking at the
 * others (dp_snapshot_matching). */
struct dp_pattern_ref {
    const char *tenant;  /* the webhook's */
    const char *pattern; /* one of its events */
    size_t hook;         /* its index in hooks */
};

struct dp_snapshot {
    atomic_int refs;
    /* subscription_version when it was read (migration 0011): the snapshot holds every
     * change to tenants and webhooks numbered up to it, in one consistent read */
    int64_t version;
    size_t n;
    struct dp_webhook *hooks;
    char **tenants; /* every known tenant id: events of any other are poison */
    size_t ntenants;
    struct dp_pattern_ref *patterns; /* every webhook's every pattern (dp_snapshot_index) */
    size_t npatterns;
};

/* The webhooks whose patterns match an event type: indexes into hooks, ascending. Starts
 * with room for DP_MATCHES_INLINE on the stack (dp_matches_init). */
#define DP_MATCHES_INLINE 32
struct dp_matches {
    size_t *idx;
    size_t n, cap;
    size_t inline_idx[DP_MATCHES_INLINE];
};

struct dp_subs;

/* Does not connect yet; see dp_subs_start(). kr opens the sealed secrets; it must outlive
 * the cache. */
struct dp_subs *dp_subs_new(const char *pg_dsn, int64_t refresh_interval_ms,
                            const struct hl_keyring *kr);
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
/* Builds snap->patterns from snap->hooks, which must be sorted (tenant, then id). */
void dp_snapshot_index(struct dp_snapshot *snap);
void dp_matches_init(struct dp_matches *m);
void dp_matches_release(struct dp_matches *m);
/* Sets m to tenant's webhooks whose event patterns match type (hl_event_patterns_match),
 * in snap->hooks order. A tenant with few webhooks is scanned; a larger one is looked up
 * in snap->patterns under each pattern that can match type ("*", every "prefix.*" of it,
 * the type itself), so the cost follows the matches, not the tenant's size. */
void dp_snapshot_matching(const struct dp_snapshot *snap, const char *tenant, const char *type,
                          struct dp_matches *m);
/* The webhook (tenant, id), or NULL when it no longer exists. */
const struct dp_webhook *dp_snapshot_find(const struct dp_snapshot *snap, const char *tenant,
                                          const char *id);
bool dp_snapshot_has_tenant(const struct dp_snapshot *snap, const char *tenant);
/* Builds a webhook from the text form of its columns (the loader's SELECT, in order:
 * id tenant url events secret status method headers auth signature previous_secret
 * previous_secret_expires_ms retry_policy timeout_ms rate_limit_per_s max_concurrency
 * updated_ms signing_key previous_signing_key filter format; NULL for SQL NULL), opening the sealed
 * values with kr. False, with the reason in errbuf and w empty, when unusable; true with
 * w->secret_error set when only a secret does not open. Exposed for unit tests. */
#define DP_WEBHOOK_NCOLS 21
bool dp_webhook_from_columns(const char *const col[DP_WEBHOOK_NCOLS], const struct hl_keyring *kr,
                             struct dp_webhook *w, char *errbuf, size_t errlen);
void dp_webhook_release(struct dp_webhook *w);
/* The read-your-writes fence (docs/architecture.md). The loop calls dp_subs_request()
 * when a message needs a snapshot it does not have (its fence is newer than the
 * snapshot's version, or it names a tenant the snapshot does not know). The loader then
 * checks PostgreSQL at once, skipping the notification debounce, and reloads if anything
 * changed. The returned ticket is served once a check that began after the request has
 * finished: from then on the published snapshot holds every change committed before the
 * request. While PostgreSQL is unreachable tickets stay unserved.
 * @locality any thread */
uint64_t dp_subs_request(struct dp_subs *s);
bool dp_subs_served(struct dp_subs *s, uint64_t ticket);
/* fd (the loop's wake pipe) gets a byte whenever a check finishes or a snapshot is
 * published. Call before dp_subs_start(). */
void dp_subs_set_wake_fd(struct dp_subs *s, int fd);
/* Stops and joins the thread, then frees everything. */
void dp_subs_free(struct dp_subs *s);

#endif
