/* Disabling a webhook, carried out. Whether an attempt disables its webhook is decided in
 * one place, dp_retry_decide (dp_retry.h: 410 Gone at once, or auto_disable_after_ms of
 * failures without a success); this module does the rest, in three steps:
 *
 * 1. here, at once: the webhook's later deliveries on this dispatcher are skipped as
 *    disabled (dp_autodisable_blocks), and webhook.disabled goes to <prefix>.events;
 * 2. the attempt record that disabled it carries disable_reason and disable_version_ms,
 *    the webhook's version (updated_at, epoch ms) in the snapshot the decision was taken
 *    from (dp_attempt_record.h);
 * 3. the attempt-log writer runs DP_AUTODISABLE_SQL in the transaction that writes the
 *    record: the row is disabled only if it is still active AND has not changed since that
 *    version. A record may arrive late (the writer catches up after a PostgreSQL outage,
 *    or another dispatcher's writer replays it after a crash); a resume, or any other
 *    change, committed after the decision has a newer updated_at and wins: a stale disable
 *    never undoes it, whatever the order of arrival.
 *
 * The local state follows the same versions: "disabled here" ends as soon as the snapshot
 * shows the webhook not active or changed since the version the decision saw (the
 * disable itself, a resume, an edit). If a change made before the decision had not yet
 * reached this dispatcher's snapshot, the row refuses the disable, the next snapshot
 * shows the newer version, deliveries resume, and the next failure decides again on the
 * fresh version (the failure clock keeps running).
 *
 * @locality loop thread */
#ifndef DP_AUTODISABLE_H
#define DP_AUTODISABLE_H

#include <stdbool.h>

#include "dp_breaker.h"
#include "dp_subs.h"

struct dp_attempt_record;
struct dp_msg;
struct dp_producer;

/* The attempt-log writer's statement, run after RECORDSET (dp_attemptlog.c) over the
 * batch's records r. Records without disable_version_ms (written before it existed)
 * disable as they always did. */
#define DP_AUTODISABLE_SQL                                                                         \
    "UPDATE webhooks w SET status = 'disabled', disabled_reason = r.disable_reason,"              \
    " updated_at = now() FROM r WHERE w.id = r.webhook_id AND r.disable_reason IS NOT NULL"       \
    " AND w.status = 'active' AND (r.disable_version_ms IS NULL OR"                               \
    " (extract(epoch FROM w.updated_at) * 1000)::bigint <= r.disable_version_ms)"

/* True while deliveries to w (as the snapshot shows it, active) are to be skipped because
 * this dispatcher disabled it; ends it once the snapshot shows a newer version. */
bool dp_autodisable_blocks(struct dp_breaker *h, const struct dp_webhook *w);
/* Carries out a disable decided for webhook w of tenant (reason from dp_retry_decide):
 * marks it disabled here, fills rec's disable fields (the caller emits rec afterwards) and
 * emits webhook.disabled, on behalf of msg. */
void dp_autodisable(struct dp_producer *prod, struct dp_breaker *h, const struct dp_webhook *w,
                    const char *tenant, const char *reason, struct dp_attempt_record *rec,
                    struct dp_msg *msg);
/* Produces a system event (webhook.disabled / webhook.recovered) to <prefix>.events. */
void dp_emit_webhook_event(struct dp_producer *prod, const char *type, const char *tenant,
                           const char *webhook_id, const char *reason, struct dp_msg *msg);

#endif
