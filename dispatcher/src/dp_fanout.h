/* Fan-out: which webhooks an event goes to. Each match becomes a delivery task on
 * <prefix>.deliveries keyed by the webhook id, so an event for 10,000 webhooks costs
 * 10,000 small produces, and the event's message finishes once Kafka has them all: a slow
 * endpoint never holds an events partition. Paused and disabled webhooks get tasks too;
 * the delivery stage records them as skipped so they can be replayed. */
#ifndef DP_FANOUT_H
#define DP_FANOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "hl/err.h"

struct dp_msg;
struct dp_snapshot;
struct dp_producer;

/* Compiles the envelope schema (schemas/event.schema.json) that every events message is
 * validated against; once, before the loop starts. HL_EIO / HL_EINVAL with errbuf set when
 * it cannot be read or compiled. */
hl_err dp_fanout_init(const char *event_schema_path, char *errbuf, size_t errlen);
void dp_fanout_release(void);

/* dp_fanout()'s answer for an event whose tenant the snapshot does not know while fresh
 * is false: nothing was produced and msg is as it came. The caller holds it until the
 * loader has checked PostgreSQL (dp_subs_request) and calls again with fresh set; only a
 * snapshot that new may call the event poison. */
#define DP_FANOUT_STALE ((size_t)-1)

/* Parses msg as an event and validates it against the envelope schema (poison messages,
 * invalid envelopes with the validator's errors, and unknown tenants go to the dead-letter
 * topic) and produces one task per matching webhook; returns how many, or
 * DP_FANOUT_STALE (above). fresh: snap was checked against PostgreSQL after msg was
 * taken. The tasks carry max(msg->fence, snap->version) as their fence.
 * @locality loop thread */
size_t dp_fanout(struct dp_msg *msg, const struct dp_snapshot *snap, struct dp_producer *prod,
                 bool fresh);

#endif
