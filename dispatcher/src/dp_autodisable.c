/* Disabling a webhook (see dp_autodisable.h for the three steps and why versions, not the
 * order of arrival, decide). */
#include "dp_autodisable.h"

#include <string.h>

#include "dp_attempt_record.h"
#include "dp_produce.h"
#include "hl/buf.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/time.h"
#include "hl/banned.h"

bool dp_autodisable_blocks(struct dp_breaker *h, const struct dp_webhook *w)
{
    if (h->disabled_sent && (w->status != DP_WH_ACTIVE || w->updated_ms > h->disabled_version_ms))
        h->disabled_sent = false;
    return h->disabled_sent;
}

void dp_autodisable(struct dp_producer *prod, struct dp_breaker *h, const struct dp_webhook *w,
                    const char *tenant, const char *reason, struct dp_attempt_record *rec,
                    struct dp_msg *msg)
{
    h->disabled_sent = true;
    h->disabled_version_ms = w->updated_ms;
    rec->disable_reason = reason;
    rec->disable_version_ms = w->updated_ms;
    dp_emit_webhook_event(prod, "webhook.disabled", tenant, w->id, reason, msg);
}

void dp_emit_webhook_event(struct dp_producer *prod, const char *type, const char *tenant,
                           const char *webhook_id, const char *reason, struct dp_msg *msg)
{
    char id[HL_UUID_LEN], ts[HL_ISO8601_LEN];
    struct hl_buf b = HL_BUF_INIT;
    hl_uuid_v7(id);
    hl_iso8601_ms(hl_now_ms(), ts);
    hl_buf_addf(&b, "{\"id\":\"%s\",\"event\":\"%s\",\"tenant\":", id, type);
    hl_buf_add_json_str(&b, tenant, strlen(tenant));
    hl_buf_addf(&b, ",\"timestamp\":\"%s\",\"data\":{\"webhook_id\":", ts);
    hl_buf_add_json_str(&b, webhook_id, strlen(webhook_id));
    hl_buf_adds(&b, ",\"reason\":");
    hl_buf_add_json_str(&b, reason, strlen(reason));
    hl_buf_adds(&b, "}}");
    dp_produce(prod, "events", id, b.ptr, b.len, msg);
    hl_buf_release(&b);
    hl_log(HL_LOG_INFO, "deliver", "%s: webhook '%s' (%s)", type, webhook_id, reason);
}
