/* Attempt records (see dp_attempt_record.h). Built by hand rather than through jansson:
 * the event's text is copied as the task carried it, and a record is written per attempt
 * on the hot path. */
#include "dp_attempt_record.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dp_metrics.h"
#include "dp_produce.h"
#include "hl/task.h"
#include "hl/banned.h"

static void add_str(struct hl_buf *b, const char *key, const char *v)
{
    /* not hl_buf_addf: vsnprintf per field was a third of a record's cost */
    hl_buf_add_json_key(b, key);
    if (v)
        hl_buf_add_json_str(b, v, strlen(v));
    else
        hl_buf_adds(b, "null");
}

static void add_int(struct hl_buf *b, const char *key, long long v)
{
    hl_buf_add_json_key(b, key);
    hl_buf_add_i64(b, v);
}

void dp_attempt_record_encode(const struct hl_task *t, const char *event_id,
                              const char *event_type, const struct dp_attempt_record *r,
                              struct hl_buf *b)
{
    hl_buf_grow(b, t->event_len + r->excerpt_len + 512);
    hl_buf_adds(b, "{\"delivery_id\":\"");
    hl_buf_adds(b, t->delivery_id); /* hl_task_decode checked: msg_ + hex */
    hl_buf_addch(b, '"');
    add_str(b, "tenant", t->tenant);
    add_str(b, "webhook_id", t->webhook_id);
    add_str(b, "event_id", event_id);
    add_str(b, "event_type", event_type);
    add_str(b, "status", r->status);
    add_int(b, "attempt_no", r->attempt_no);
    add_int(b, "started_ms", r->started_ms);
    add_int(b, "finished_ms", r->finished_ms);
    add_int(b, "http_status", r->http_status);
    add_int(b, "next_attempt_ms", r->next_attempt_ms);
    hl_buf_adds(b, ",\"response_excerpt\":");
    if (r->excerpt)
        hl_buf_add_json_str(b, r->excerpt, r->excerpt_len);
    else
        hl_buf_adds(b, "null");
    add_str(b, "error_class", r->error_class);
    add_str(b, "error", r->error);
    if (r->disable_reason) {
        add_str(b, "disable_reason", r->disable_reason);
        add_int(b, "disable_version_ms", r->disable_version_ms);
    }
    hl_buf_adds(b, ",\"event\":");
    if (t->event_text) {
        hl_buf_add(b, t->event_text, t->event_len); /* as the task carried it */
    } else {
        char *ev = json_dumps(t->event, JSON_COMPACT | JSON_ENCODE_ANY);
        hl_buf_adds(b, ev ? ev : "null");
        free(ev);
    }
    hl_buf_addch(b, '}');
}

void dp_attempt_record_emit(struct dp_producer *prod, const struct hl_task *t,
                            const char *event_id, const char *event_type,
                            const struct dp_attempt_record *r, struct dp_msg *msg)
{
    struct hl_buf b = HL_BUF_INIT;
    dp_attempt_record_encode(t, event_id, event_type, r, &b);
    dp_metrics_outcome(r->status, r->error_class, r->disable_reason != NULL);
    dp_produce(prod, "attempts", t->delivery_id, b.ptr, b.len, msg);
    hl_buf_release(&b);
}

void dp_attempt_record_sanitize_excerpt(struct hl_buf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->ptr[i] == '\0')
            b->ptr[i] = ' ';
    json_t *ok = b->len ? json_stringn(b->ptr, b->len) : NULL;
    if (!ok)
        for (size_t i = 0; i < b->len; i++)
            if ((unsigned char)b->ptr[i] >= 0x80)
                b->ptr[i] = '?';
    json_decref(ok);
}
