/* Matches an event against the subscription snapshot (see dp_fanout.h). The snapshot is
 * sorted by tenant, so only the event's own tenant's webhooks are looked at: tenant
 * isolation and cost both follow from the same binary search. */
#include "dp_fanout.h"

#include "dp_consumer.h"
#include "dp_deliver.h"
#include "dp_subs.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/banned.h"

size_t dp_fanout(struct dp_msg *msg, const struct dp_snapshot *snap, struct dp_deliver *dl)
{
    size_t count, n = 0;
    size_t first = dp_snapshot_tenant(snap, msg->ev.tenant, &count);
    for (size_t i = first; i < first + count; i++) {
        const struct dp_webhook *w = &snap->hooks[i];
        if (hl_event_patterns_match(w->events, w->nevents, msg->ev.type)) {
            dp_deliver_add(dl, msg, w);
            n++;
        }
    }
    hl_log(HL_LOG_DEBUG, "fanout", "event '%s' (%s, tenant '%s') at [%d] offset %lld: %zu webhooks",
           msg->ev.id, msg->ev.type, msg->ev.tenant, (int)msg->partition,
           (long long)msg->offset, n);
    return n;
}
