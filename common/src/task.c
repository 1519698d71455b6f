/* Delivery task encoding (see hl/task.h). */
#include "hl/task.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/json.h"
#include "hl/mem.h"
#include "hl/banned.h"

void hl_task_encode(const struct hl_task *t, struct hl_buf *out)
{
    hl_buf_addf(out, "{\"v\":1,\"delivery_id\":\"%s\",\"tenant\":", t->delivery_id);
    hl_buf_add_json_str(out, t->tenant, strlen(t->tenant));
    hl_buf_adds(out, ",\"webhook_id\":");
    hl_buf_add_json_str(out, t->webhook_id, strlen(t->webhook_id));
    hl_buf_addf(out, ",\"attempt\":%d,\"budget_base\":%d,\"due_ms\":%lld,\"created_ms\":%lld",
                t->attempt, t->budget_base, (long long)t->due_ms, (long long)t->created_ms);
    if (t->last_error) {
        hl_buf_adds(out, ",\"last_error\":");
        hl_buf_add_json_str(out, t->last_error, strlen(t->last_error));
    }
    hl_buf_adds(out, ",\"event\":");
    if (t->event_text) {
        hl_buf_add(out, t->event_text, t->event_len);
    } else {
        char *ev = json_dumps(t->event, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!ev)
            abort();
        hl_buf_adds(out, ev);
        free(ev);
    }
    hl_buf_addch(out, '}');
}

/* True for the ids hl_delivery_id makes: "msg_" + 32 lower-case hex digits. Anything else
 * would reach the webhook-id header and hl_task_encode's output unescaped. */
static bool delivery_id_valid(const json_t *id)
{
    const char *s = json_string_value(id);
    return s && hl_delivery_id_like(s, json_string_length(id));
}

/* What json_integer_value would read: an integer member's value, 0 for anything else.
 * False for an integer beyond int64, which jansson refuses to parse. */
static bool int_member(const char *text, struct hl_json_span sp, int64_t *v)
{
    char num[24];
    *v = 0;
    if (!sp.len)
        return true;
    if (sp.len >= sizeof(num))
        return text[sp.off] != '-' && (text[sp.off] < '0' || text[sp.off] > '9');
    memcpy(num, text + sp.off, sp.len);
    num[sp.len] = '\0';
    if (!(num[0] == '-' || (num[0] >= '0' && num[0] <= '9')) || strpbrk(num, ".eE"))
        return true;
    errno = 0;
    *v = strtoll(num, NULL, 10);
    return errno == 0;
}

/* The decode without a parse: the text is validated (hl_json_valid) and its members found
 * by a scan, and the event is kept as text only (t->event NULL). False, with t untouched,
 * for anything out of the ordinary (escaped names or strings, a field missing or of
 * another type): jansson then decodes it, and words any error. */
static bool decode_text(const char *data, size_t len, struct hl_task *t)
{
    static const char *const keys[] = {"delivery_id", "tenant",     "webhook_id",
                                       "attempt",     "budget_base", "due_ms",
                                       "created_ms",  "last_error", "event"};
    struct hl_json_span sp[9];
    const char *id, *tenant, *wh, *err = NULL;
    size_t idlen, tlen, wlen, elen = 0;
    if (!hl_json_valid(data, len) || !hl_json_members(data, len, keys, 9, sp) ||
        !hl_json_plain_string(data, sp[0], &id, &idlen) || !hl_delivery_id_like(id, idlen) ||
        !hl_json_plain_string(data, sp[1], &tenant, &tlen) ||
        !hl_json_plain_string(data, sp[2], &wh, &wlen) ||
        !sp[8].len || data[sp[8].off] != '{')
        return false;
    if (sp[7].len && data[sp[7].off] == '"' && !hl_json_plain_string(data, sp[7], &err, &elen))
        return false;
    int64_t n[4];
    for (int i = 0; i < 4; i++)
        if (!int_member(data, sp[3 + i], &n[i]))
            return false;
    memcpy(t->delivery_id, id, idlen);
    t->delivery_id[idlen] = '\0';
    t->tenant = hl_xstrndup(tenant, tlen);
    t->webhook_id = hl_xstrndup(wh, wlen);
    t->attempt = (int)n[0];
    t->budget_base = (int)n[1];
    t->due_ms = n[2];
    t->created_ms = n[3];
    t->last_error = err ? hl_xstrndup(err, elen) : NULL;
    t->event_text = hl_xstrndup(data + sp[8].off, sp[8].len);
    t->event_len = sp[8].len;
    return true;
}

hl_err hl_task_decode(const void *data, size_t len, struct hl_task *t, char *errbuf,
                      size_t errlen)
{
    json_error_t jerr;
    memset(t, 0, sizeof(*t));
    if (decode_text(data, len, t)) {
        if (t->attempt < 0)
            t->attempt = 0;
        if (t->budget_base < 0 || t->budget_base > t->attempt)
            t->budget_base = 0;
        return HL_OK;
    }
    json_t *root = json_loadb(data, len, JSON_ALLOW_NUL, &jerr);
    if (!json_is_object(root)) {
        snprintf(errbuf, errlen, "task is not a JSON object");
        json_decref(root);
        return HL_EINVAL;
    }
    json_t *id = json_object_get(root, "delivery_id"), *tenant = json_object_get(root, "tenant"),
           *wh = json_object_get(root, "webhook_id"), *ev = json_object_get(root, "event"),
           *err = json_object_get(root, "last_error");
    if (!delivery_id_valid(id) || !json_is_string(tenant) || !json_is_string(wh) ||
        !json_is_object(ev)) {
        snprintf(errbuf, errlen, "task needs delivery_id (msg_<32 hex>), tenant, webhook_id"
                                 " (strings) and event (object)");
        json_decref(root);
        return HL_EINVAL;
    }
    memcpy(t->delivery_id, json_string_value(id), HL_DELIVERY_ID_LEN);
    t->tenant = hl_xstrdup(json_string_value(tenant));
    t->webhook_id = hl_xstrdup(json_string_value(wh));
    t->attempt = (int)json_integer_value(json_object_get(root, "attempt"));
    t->budget_base = (int)json_integer_value(json_object_get(root, "budget_base"));
    t->due_ms = json_integer_value(json_object_get(root, "due_ms"));
    t->created_ms = json_integer_value(json_object_get(root, "created_ms"));
    if (t->attempt < 0)
        t->attempt = 0;
    if (t->budget_base < 0 || t->budget_base > t->attempt)
        t->budget_base = 0;
    t->last_error = json_is_string(err) ? hl_xstrdup(json_string_value(err)) : NULL;
    t->event = json_incref(ev);
    /* jansson accepted the text, so the scan may trust it */
    size_t off, elen;
    if (hl_json_member_span(data, len, "event", &off, &elen)) {
        t->event_text = hl_xstrndup((const char *)data + off, elen);
        t->event_len = elen;
    } else {
        t->event_text = json_dumps(ev, JSON_COMPACT);
        if (!t->event_text)
            abort();
        t->event_len = strlen(t->event_text);
    }
    json_decref(root);
    return HL_OK;
}

void hl_task_release(struct hl_task *t)
{
    free(t->tenant);
    free(t->webhook_id);
    free(t->last_error);
    free(t->event_text);
    json_decref(t->event);
    memset(t, 0, sizeof(*t));
}
