/* Matches an event against the subscription snapshot (see dp_fanout.h). The snapshot is
 * sorted by tenant, so only the event's own tenant's webhooks are looked at: tenant
 * isolation and cost both follow from the same binary search. */
#include "dp_fanout.h"

#include <stdio.h>
#include <string.h>

#include "dp_consumer.h"
#include "dp_deadletter.h"
#include "dp_produce.h"
#include "dp_subs.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/task.h"
#include "hl/time.h"
#include "hl/banned.h"

size_t dp_fanout(struct dp_msg *msg, const struct dp_snapshot *snap, struct dp_producer *prod)
{
    char err[512];
    size_t count, n = 0;

    if (!msg->payload) {
        dp_dead_letter(prod, msg, "empty message");
        return 0;
    }
    if (hl_event_parse(msg->payload, msg->len, &msg->ev, err, sizeof(err))) {
        dp_dead_letter(prod, msg, err);
        return 0;
    }
    if (!dp_snapshot_has_tenant(snap, msg->ev.tenant)) {
        snprintf(err, sizeof(err), "unknown tenant '%s'", msg->ev.tenant);
        dp_dead_letter(prod, msg, err);
        return 0;
    }
    struct hl_buf b = HL_BUF_INIT;
    int64_t now = hl_now_ms();
    size_t first = dp_snapshot_tenant(snap, msg->ev.tenant, &count);
    for (size_t i = first; i < first + count; i++) {
        const struct dp_webhook *w = &snap->hooks[i];
        if (!hl_event_patterns_match(w->events, w->nevents, msg->ev.type))
            continue;
        struct hl_task t = {.tenant = (char *)msg->ev.tenant,
                            .webhook_id = w->id,
                            .due_ms = now,
                            .created_ms = now,
                            .event = msg->ev.root};
        hl_delivery_id(msg->ev.tenant, msg->ev.id, w->id, t.delivery_id);
        hl_buf_clear(&b);
        hl_task_encode(&t, &b);
        dp_produce(prod, "deliveries", w->id, b.ptr, b.len, msg);
        n++;
    }
    hl_buf_release(&b);
    hl_log(HL_LOG_DEBUG, "fanout", "event '%s' (%s, tenant '%s') at [%d] offset %lld: %zu webhooks",
           msg->ev.id, msg->ev.type, msg->ev.tenant, (int)msg->partition,
           (long long)msg->offset, n);
    return n;
}
