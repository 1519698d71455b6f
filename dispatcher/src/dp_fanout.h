/* Fan-out: which webhooks an event goes to. Each match becomes a delivery task on
 * <prefix>.deliveries keyed by the webhook id, so an event for 10,000 webhooks costs
 * 10,000 small produces, and the event's message finishes once Kafka has them all: a slow
 * endpoint never holds an events partition. Paused and disabled webhooks get tasks too;
 * the delivery stage records them as skipped so they can be replayed. */
#ifndef DP_FANOUT_H
#define DP_FANOUT_H

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

/* Parses msg as an event and validates it against the envelope schema (poison messages,
 * invalid envelopes with the validator's errors, and unknown tenants go to the dead-letter
 * topic) and produces one task per matching webhook; returns how many.
 * @locality loop thread */
size_t dp_fanout(struct dp_msg *msg, const struct dp_snapshot *snap, struct dp_producer *prod);

#endif
