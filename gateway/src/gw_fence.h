/* The gateway's side of the read-your-writes fence (docs/architecture.md, "Subscriptions
 * and the fence"; schemas/migrations/0011_subscription_version.sql).
 *
 * Every change to tenants or webhooks advances the subscription version and NOTIFYs
 * 'hl_webhooks_changed' with it. The gateway keeps the highest version it has seen and
 * stamps it into every message it produces (Kafka header hookline-subs-version), so a
 * dispatcher never fans an event out with a snapshot older than a change this gateway
 * had committed, or had heard of, when it accepted the event.
 *
 * It learns versions two ways: each pooled database connection LISTENs on the channel, and
 * PostgreSQL hands a session its own notification before the answer to the COMMIT (or to
 * the autocommitted statement) that raised it, so the version of a change made through
 * this gateway is known before its route answers; and the change listener thread hears
 * the changes of every other gateway and of the dispatchers.
 *
 * @locality any thread: the version is one atomic. */
#ifndef GW_FENCE_H
#define GW_FENCE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/err.h"

/* The Kafka header the version travels in (dispatcher: DP_FENCE_HEADER). */
#define GW_FENCE_HEADER "hookline-subs-version"
#define GW_FENCE_CHANNEL "hl_webhooks_changed"

/* Raises the version to v if v is higher. */
void gw_fence_note(int64_t v);
/* The highest version seen; 0 before any. */
int64_t gw_fence_version(void);
/* gw_fence_version() in decimal into out (at least 21 bytes, not NUL-terminated); returns
 * the length. Digits by hand: this runs once per ingest request. */
int gw_fence_format(char *out);
/* Notes the payload of a GW_FENCE_CHANNEL notification (a decimal version). */
void gw_fence_note_payload(const char *payload);
/* The change listener's callback for GW_FENCE_CHANNEL (gw_listen.h): notes a
 * notification's payload, or on (re)connect makes conn listen and notes the current
 * version. @locality the change listener thread */
void gw_fence_changed(void *unused, PGconn *conn, const char *payload);
/* Makes a new pooled connection listen, and notes the current version. */
hl_err gw_fence_listen(PGconn *conn, char *errbuf, size_t errlen);
/* Notes the notifications a connection has received (never blocks; drops any others). */
void gw_fence_drain(PGconn *conn);
/* The pool tells the fence which connections the calling thread holds, and every answer
 * first notes what they received (gw_fence_drain_held), so that a change's version is
 * known before the client hears that the change is made.
 * @locality the civetweb worker thread that holds conn */
void gw_fence_hold(PGconn *conn);
void gw_fence_unhold(PGconn *conn);
void gw_fence_drain_held(void);

#endif
