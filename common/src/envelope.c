/* Event envelope parsing and delivery body building (see hl/envelope.h).
 *
 * The delivery body differs between the webhooks of one event only by "webhook_id", so the
 * JSON around it is rendered once per event (head and tail) and each body is
 * head + webhook_id + tail: fan-out to many webhooks never re-serializes the payload. They
 * are rendered on the first body asked for, since the dispatcher's fan-out parses and
 * checks each event but only its deliveries need a body. */
#include "hl/envelope.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/json.h"
#include "hl/match.h"
#include "hl/mem.h"
#include "hl/banned.h"

int hl_event_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HL_EVENT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return 0;
    return 1;
}

static const char *opt_string(json_t *root, const char *key, hl_err *err, char *errbuf,
                              size_t errlen)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        snprintf(errbuf, errlen, "'%s' must be a string", key);
        *err = HL_EINVAL;
        return NULL;
    }
    return json_string_value(v);
}

static void add_dump(struct hl_buf *b, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        abort();
    hl_buf_adds(b, s);
    free(s);
}

static void add_field_str(struct hl_buf *b, const char *key, const char *val)
{
    hl_buf_add_json_key(b, key);
    hl_buf_add_json_str(b, val, strlen(val));
}

/* Renders the parts of the delivery body before and after the webhook id. */
static void render(struct hl_event *ev)
{
    json_t *root = ev->root;
    struct hl_buf *h = &ev->head, *t = &ev->tail;

    hl_buf_adds(h, "{\"id\":");
    hl_buf_add_json_str(h, ev->id, strlen(ev->id));
    add_field_str(h, "event", ev->type);
    add_field_str(h, "timestamp", ev->timestamp);
    add_field_str(h, "tenant", ev->tenant);
    hl_buf_adds(h, ",\"webhook_id\":");

    /* Given the envelope's text, actor_id, data and metadata are copied as written. */
    static const char *const keys[] = {"occurred_at", "request_id", "actor_id", "data",
                                       "metadata"};
    struct hl_json_span own[5];
    const struct hl_json_span *sp = ev->has_spans ? ev->spans : own;
    const char *x = ev->text;
    bool raw = x && (ev->has_spans || hl_json_members(x, ev->text_len, keys, 5, own)) &&
               sp[3].len;
    assert(raw || root); /* hl_event_read leaves root NULL only for such text */
    for (size_t i = 0; i < 2; i++) {
        if (!root) {
            /* hl_event_read checked they are strings without escapes, or null */
            if (sp[i].len && x[sp[i].off] == '"') {
                hl_buf_add_json_key(t, keys[i]);
                hl_buf_add(t, x + sp[i].off, sp[i].len);
            }
            continue;
        }
        json_t *v = json_object_get(root, keys[i]);
        if (v && json_is_string(v))
            add_field_str(t, keys[i], json_string_value(v));
    }
    if (raw) {
        if (sp[2].len && !(sp[2].len == 4 && memcmp(x + sp[2].off, "null", 4) == 0)) {
            hl_buf_adds(t, ",\"actor_id\":");
            hl_buf_add(t, x + sp[2].off, sp[2].len);
        }
        hl_buf_adds(t, ",\"data\":");
        hl_buf_add(t, x + sp[3].off, sp[3].len);
        hl_buf_adds(t, ",\"metadata\":");
        if (sp[4].len && x[sp[4].off] == '{')
            hl_buf_add(t, x + sp[4].off, sp[4].len);
        else
            hl_buf_adds(t, "{}");
        hl_buf_addch(t, '}');
        return;
    }
    json_t *actor = json_object_get(root, "actor_id");
    if (actor && !json_is_null(actor)) {
        hl_buf_adds(t, ",\"actor_id\":");
        add_dump(t, actor);
    }
    hl_buf_adds(t, ",\"data\":");
    add_dump(t, json_object_get(root, "data"));
    hl_buf_adds(t, ",\"metadata\":");
    json_t *meta = json_object_get(root, "metadata");
    if (meta && json_is_object(meta))
        add_dump(t, meta);
    else
        hl_buf_adds(t, "{}");
    hl_buf_addch(t, '}');
}

/* Deepest nesting hl_event_parse gives its own parser (which recurses) rather than jansson. */
#define FAST_PARSE_DEPTH 64

hl_err hl_event_parse(const void *data, size_t len, struct hl_event *ev, char *errbuf,
                      size_t errlen)
{
    json_error_t jerr;
    memset(ev, 0, sizeof(*ev));
    /* hl_json_parse builds jansson's tree in a fraction of its instructions (~64,000 ->
     * ~10,000 per event at fan-out), or gives up, and then jansson decides: also for input
     * nested deeper than its recursion is let go. */
    json_t *root = hl_json_parse(data, len, FAST_PARSE_DEPTH);
    if (!root)
        root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        char why[JSON_ERROR_TEXT_LENGTH];
        snprintf(errbuf, errlen, "not JSON: %s at offset %d",
                 hl_json_error_text(&jerr, why, sizeof(why)), jerr.position);
        return HL_EINVAL;
    }
    hl_err err = hl_event_from_json(root, ev, errbuf, errlen);
    json_decref(root);
    return err;
}

hl_err hl_event_from_json(json_t *root, struct hl_event *ev, char *errbuf, size_t errlen)
{
    hl_err err = HL_EINVAL;
    memset(ev, 0, sizeof(*ev));
    json_incref(root);
    if (!json_is_object(root)) {
        snprintf(errbuf, errlen, "event must be a JSON object");
        goto out;
    }
    static const char *const required[] = {"id", "event", "tenant", "timestamp"};
    const char *vals[4];
    for (int i = 0; i < 4; i++) {
        json_t *v = json_object_get(root, required[i]);
        if (!v || !json_is_string(v)) {
            snprintf(errbuf, errlen, "'%s' is required and must be a string", required[i]);
            goto out;
        }
        vals[i] = json_string_value(v);
    }
    if (!hl_event_id_valid(vals[0])) {
        snprintf(errbuf, errlen, "'id' must be 1..%d printable characters", HL_EVENT_ID_MAX);
        goto out;
    }
    if (!hl_event_type_valid(vals[1])) {
        snprintf(errbuf, errlen, "'event' is not a valid event type name");
        goto out;
    }
    size_t tlen = strlen(vals[2]);
    if (tlen == 0 || tlen > HL_TENANT_MAX) {
        snprintf(errbuf, errlen, "'tenant' must be 1..%d characters", HL_TENANT_MAX);
        goto out;
    }
    if (!json_object_get(root, "data")) {
        snprintf(errbuf, errlen, "'data' is required");
        goto out;
    }
    json_t *meta = json_object_get(root, "metadata");
    if (meta && !json_is_object(meta) && !json_is_null(meta)) {
        snprintf(errbuf, errlen, "'metadata' must be an object");
        goto out;
    }
    hl_err serr = HL_OK;
    opt_string(root, "occurred_at", &serr, errbuf, errlen);
    if (serr == HL_OK)
        opt_string(root, "request_id", &serr, errbuf, errlen);
    if (serr != HL_OK)
        goto out;

    ev->root = root;
    ev->id = vals[0];
    ev->type = vals[1];
    ev->tenant = vals[2];
    ev->timestamp = vals[3];
    root = NULL;
    err = HL_OK;
out:
    json_decref(root);
    return err;
}

/* hl_event_from_json's checks on the text: false when they fail or cannot be made on the
 * text alone (escaped strings, names), and the caller parses. */
static bool read_text(const char *x, size_t len, struct hl_event *ev)
{
    /* from occurred_at on, render()'s keys in its order: the spans are kept for it */
    static const char *const keys[] = {"id",          "event",      "tenant",   "timestamp",
                                       "occurred_at", "request_id", "actor_id", "data",
                                       "metadata"};
    enum { DATA = 7, METADATA = 8 };
    struct hl_json_span sp[9];
    const char *v[4];
    size_t n[4], total = 0;
    if (!hl_json_members(x, len, keys, 9, sp))
        return false;
    for (int i = 0; i < 4; i++) {
        if (!hl_json_plain_string(x, sp[i], &v[i], &n[i]))
            return false;
        total += n[i] + 1;
    }
    for (int i = 4; i < 6; i++)
        if (sp[i].len && !hl_json_span_is_null(x, sp[i]) &&
            !hl_json_plain_string(x, sp[i], &v[0], &n[0]))
            return false; /* (v[0] and n[0] are copied below; this only checks) */
    if (!sp[DATA].len ||
        (sp[METADATA].len && !hl_json_span_is_null(x, sp[METADATA]) &&
         x[sp[METADATA].off] != '{') ||
        n[2] == 0 || n[2] > HL_TENANT_MAX)
        return false;
    char *p = ev->strings = hl_xmalloc(total);
    const char **out[] = {&ev->id, &ev->type, &ev->tenant, &ev->timestamp};
    for (int i = 0; i < 4; i++) {
        hl_json_plain_string(x, sp[i], &v[i], &n[i]);
        memcpy(p, v[i], n[i]);
        p[n[i]] = '\0';
        *out[i] = p;
        p += n[i] + 1;
    }
    if (!hl_event_id_valid(ev->id) || !hl_event_type_valid(ev->type)) {
        free(ev->strings);
        memset(ev, 0, sizeof(*ev));
        return false;
    }
    ev->text = x;
    ev->text_len = len;
    memcpy(ev->spans, sp + 4, sizeof(ev->spans));
    ev->has_spans = true;
    return true;
}

hl_err hl_event_read(const char *text, size_t len, struct hl_event *ev, char *errbuf,
                     size_t errlen)
{
    json_error_t jerr;
    memset(ev, 0, sizeof(*ev));
    if (read_text(text, len, ev))
        return HL_OK;
    json_t *root = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        char why[JSON_ERROR_TEXT_LENGTH];
        snprintf(errbuf, errlen, "not JSON: %s at offset %d",
                 hl_json_error_text(&jerr, why, sizeof(why)), jerr.position);
        return HL_EINVAL;
    }
    hl_err err = hl_event_from_json(root, ev, errbuf, errlen);
    json_decref(root);
    if (err == HL_OK) {
        ev->text = text;
        ev->text_len = len;
    }
    return err;
}

void hl_event_release(struct hl_event *ev)
{
    free(ev->strings);
    json_decref(ev->root);
    hl_buf_release(&ev->head);
    hl_buf_release(&ev->tail);
    memset(ev, 0, sizeof(*ev));
}

void hl_envelope_body(struct hl_event *ev, const char *webhook_id, struct hl_buf *out)
{
    if (!ev->head.len)
        render(ev); /* not before: fan-out parses every event but renders no body */
    hl_buf_clear(out);
    hl_buf_grow(out, ev->head.len + ev->tail.len + 64);
    hl_buf_add(out, ev->head.ptr, ev->head.len);
    hl_buf_add_json_str(out, webhook_id, strlen(webhook_id));
    hl_buf_add(out, ev->tail.ptr, ev->tail.len);
}

void hl_envelope_write(struct hl_buf *out, const json_t *body, const char *id,
                       const char *tenant, const char *timestamp, const char *request_id)
{
    json_t *v;
    hl_buf_adds(out, "{\"id\":");
    hl_buf_add_json_str(out, id, strlen(id));
    hl_buf_adds(out, ",\"event\":");
    hl_json_write(out, json_object_get(body, "event"));
    hl_buf_adds(out, ",\"tenant\":");
    hl_buf_add_json_str(out, tenant, strlen(tenant));
    hl_buf_adds(out, ",\"timestamp\":");
    hl_buf_add_json_str(out, timestamp, strlen(timestamp));
    if ((v = json_object_get(body, "occurred_at"))) {
        hl_buf_adds(out, ",\"occurred_at\":");
        hl_json_write(out, v);
    }
    if (request_id) {
        hl_buf_adds(out, ",\"request_id\":");
        hl_buf_add_json_str(out, request_id, strlen(request_id));
    }
    if ((v = json_object_get(body, "actor_id"))) {
        hl_buf_adds(out, ",\"actor_id\":");
        hl_json_write(out, v);
    }
    hl_buf_adds(out, ",\"data\":");
    hl_json_write(out, json_object_get(body, "data"));
    hl_buf_adds(out, ",\"metadata\":");
    v = json_object_get(body, "metadata");
    if (v && json_is_object(v))
        hl_json_write(out, v);
    else
        hl_buf_add(out, "{}", 2);
    hl_buf_addch(out, '}');
}
