/* Fan-out: which webhooks an event goes to, and where their deliveries start.
 *
 * An event that matches at most inline_fanout_max webhooks (most events: one or a few
 * subscribers) has its deliveries started right here, by this dispatcher, for every
 * matching webhook that spreads (dp_deliver_spreads: no rate limit or concurrency limit of
 * its own). That saves the Kafka round trip of a task (produce, acknowledgement, fetch,
 * decode: about a millisecond and a third of the instructions of a delivery), and it
 * spreads a busy webhook over every dispatcher that holds events partitions instead of
 * the one that holds its task key. The events message then finishes when its deliveries
 * are done or handed to a retry tier, as a task's message does. Retries, deferrals and
 * breaker waits still go through the retry tiers keyed by webhook.
 *
 * Every other match becomes a delivery task on <prefix>.deliveries keyed by the webhook
 * id: an event for 10,000 webhooks costs 10,000 small produces, its message finishes once
 * Kafka has them all, and the deliveries spread over every dispatcher's deliveries
 * partitions; a webhook with its own limits keeps them exact on its key's owner.
 *
 * Paused and disabled webhooks get deliveries too; the delivery stage records them as
 * skipped so they can be replayed. */
#ifndef DP_FANOUT_H
#define DP_FANOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "hl/err.h"

struct dp_msg;
struct dp_snapshot;
struct dp_producer;
struct dp_deliver;

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

/* The largest inline_fanout_max (dp_config). */
#define DP_INLINE_FANOUT_MAX 256

/* Parses msg as an event and validates it against the envelope schema (poison messages,
 * invalid envelopes with the validator's errors, and unknown tenants go to the dead-letter
 * topic), then starts a delivery (dl, when at most inline_max webhooks match) or produces
 * a task per matching webhook; returns how many, or DP_FANOUT_STALE (above). fresh: snap
 * was checked against PostgreSQL after msg was taken. The tasks carry
 * max(msg->fence, snap->version) as their fence. dl NULL or inline_max 0: tasks only.
 * @locality loop thread */
size_t dp_fanout(struct dp_msg *msg, struct dp_snapshot *snap, struct dp_producer *prod,
                 struct dp_deliver *dl, size_t inline_max, bool fresh);

#endif
