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

/* Where the members' values go as they are written (spans NULL: nowhere). */
struct spans_out {
    struct dp_record_spans *spans;
    size_t base; /* where the record begins in the buffer */
};

static void note(const struct spans_out *o, enum dp_attemptlog_column c, size_t from,
                 const struct hl_buf *b)
{
    if (o->spans)
        o->spans->sp[c] = (struct hl_json_span){from - o->base, b->len - from};
}

static void add_str(struct hl_buf *b, const char *key, const char *v, const struct spans_out *o,
                    enum dp_attemptlog_column c)
{
    /* not hl_buf_addf: vsnprintf per field was a third of a record's cost */
    hl_buf_add_json_key(b, key);
    size_t from = b->len;
    if (v)
        hl_buf_add_json_str(b, v, strlen(v));
    else
        hl_buf_adds(b, "null");
    note(o, c, from, b);
}

static void add_int(struct hl_buf *b, const char *key, long long v, const struct spans_out *o,
                    enum dp_attemptlog_column c)
{
    hl_buf_add_json_key(b, key);
    size_t from = b->len;
    hl_buf_add_i64(b, v);
    note(o, c, from, b);
}

void dp_attempt_record_encode(const struct hl_task *t, const char *event_id,
                              const char *event_type, const struct dp_attempt_record *r,
                              struct hl_buf *b, struct dp_record_spans *spans)
{
    const struct spans_out o = {spans, b->len};
    if (spans)
        memset(spans, 0, sizeof(*spans)); /* absent members: disable_* */
    hl_buf_grow(b, t->event_len + r->excerpt_len + 512);
    hl_buf_adds(b, "{\"delivery_id\":");
    size_t from = b->len;
    hl_buf_addch(b, '"');
    hl_buf_adds(b, t->delivery_id); /* hl_task_decode checked: msg_ + hex */
    hl_buf_addch(b, '"');
    note(&o, DP_AL_DELIVERY_ID, from, b);
    add_str(b, "tenant", t->tenant, &o, DP_AL_TENANT);
    add_str(b, "webhook_id", t->webhook_id, &o, DP_AL_WEBHOOK_ID);
    add_str(b, "event_id", event_id, &o, DP_AL_EVENT_ID);
    add_str(b, "event_type", event_type, &o, DP_AL_EVENT_TYPE);
    add_str(b, "status", r->status, &o, DP_AL_STATUS);
    add_int(b, "attempt_no", r->attempt_no, &o, DP_AL_ATTEMPT_NO);
    add_int(b, "started_ms", r->started_ms, &o, DP_AL_STARTED_MS);
    add_int(b, "finished_ms", r->finished_ms, &o, DP_AL_FINISHED_MS);
    add_int(b, "http_status", r->http_status, &o, DP_AL_HTTP_STATUS);
    add_int(b, "next_attempt_ms", r->next_attempt_ms, &o, DP_AL_NEXT_ATTEMPT_MS);
    hl_buf_adds(b, ",\"response_excerpt\":");
    from = b->len;
    if (r->excerpt)
        hl_buf_add_json_str(b, r->excerpt, r->excerpt_len);
    else
        hl_buf_adds(b, "null");
    note(&o, DP_AL_RESPONSE_EXCERPT, from, b);
    add_str(b, "error_class", r->error_class, &o, DP_AL_ERROR_CLASS);
    add_str(b, "error", r->error, &o, DP_AL_ERROR);
    if (r->disable_reason) {
        add_str(b, "disable_reason", r->disable_reason, &o, DP_AL_DISABLE_REASON);
        add_int(b, "disable_version_ms", r->disable_version_ms, &o, DP_AL_DISABLE_VERSION_MS);
    }
    hl_buf_adds(b, ",\"event\":");
    from = b->len;
    if (t->event_text) {
        hl_buf_add(b, t->event_text, t->event_len); /* as the task carried it */
    } else {
        char *ev = json_dumps(t->event, JSON_COMPACT | JSON_ENCODE_ANY);
        hl_buf_adds(b, ev ? ev : "null");
        free(ev);
    }
    note(&o, DP_AL_EVENT, from, b);
    hl_buf_addch(b, '}');
}

void dp_attempt_record_emit(struct dp_producer *prod, const struct hl_task *t,
                            const char *event_id, const char *event_type,
                            const struct dp_attempt_record *r, struct dp_msg *msg)
{
    struct hl_buf b = HL_BUF_INIT;
    struct dp_record_spans spans;
    dp_attempt_record_encode(t, event_id, event_type, r, &b, &spans);
    dp_metrics_outcome(r->status, r->error_class, r->disable_reason != NULL);
    dp_produce_record(prod, t->delivery_id, b.ptr, b.len, &spans, msg);
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
