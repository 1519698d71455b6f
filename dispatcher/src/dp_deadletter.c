/* Dead-lettering to <prefix>.dlq (see dp_deadletter.h). */
#include "dp_deadletter.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dp_consumer.h"
#include "dp_produce.h"
#include "hl/buf.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/sign.h"
#include "hl/task.h"
#include "hl/time.h"
#include "hl/banned.h"

void dp_dead_letter(struct dp_producer *prod, struct dp_msg *msg, const char *reason)
{
    dp_dead_letter_errors(prod, msg, reason, NULL);
}

void dp_dead_letter_errors(struct dp_producer *prod, struct dp_msg *msg, const char *reason,
                           const json_t *errors)
{
    static const char *const topics[] = {"events", "tasks"};
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_adds(&b, "{\"kind\":\"poison\",\"reason\":");
    hl_buf_add_json_str(&b, reason, strlen(reason));
    hl_buf_addf(&b, ",\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld,\"dead_at_ms\":%lld",
                topics[msg->kind], (int)msg->partition, (long long)msg->offset,
                (long long)hl_now_ms());
    if (errors) {
        char *s = json_dumps(errors, JSON_COMPACT);
        hl_buf_adds(&b, ",\"errors\":");
        hl_buf_adds(&b, s);
        free(s);
    }
    json_t *text = msg->payload ? json_stringn(msg->payload, msg->len) : NULL;
    if (text) {
        hl_buf_adds(&b, ",\"payload\":");
        hl_buf_add_json_str(&b, msg->payload, msg->len);
    } else if (msg->payload) {
        char *b64 = hl_xmalloc(4 * (msg->len / 3 + 1) + 1);
        hl_base64_encode((const unsigned char *)msg->payload, msg->len, b64);
        hl_buf_addf(&b, ",\"payload_base64\":\"%s\"", b64);
        free(b64);
    }
    json_decref(text);
    hl_buf_addch(&b, '}');
    hl_log(HL_LOG_WARN, "deadletter", "poison message at %s [%d] offset %lld: %s",
           topics[msg->kind], (int)msg->partition, (long long)msg->offset, reason);
    dp_produce(prod, "dlq", NULL, b.ptr, b.len, msg);
    hl_buf_release(&b);
}

void dp_dead_letter_delivery(struct dp_producer *prod, const struct hl_task *t,
                             const char *reason, struct dp_msg *msg)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_task_encode(t, &b);
    b.len--; /* reopen the object */
    hl_buf_adds(&b, ",\"kind\":\"delivery\",\"reason\":");
    hl_buf_add_json_str(&b, reason, strlen(reason));
    hl_buf_addf(&b, ",\"dead_at_ms\":%lld}", (long long)hl_now_ms());
    hl_log(HL_LOG_WARN, "deadletter",
           "delivery '%s' to webhook '%s' dead-lettered after %d attempts: %s (%s)",
           t->delivery_id, t->webhook_id, t->attempt, reason,
           t->last_error ? t->last_error : "");
    dp_produce(prod, "dlq", t->delivery_id, b.ptr, b.len, msg);
    hl_buf_release(&b);
}
