/* Delivery formats in the dispatcher (see dp_format.h). */
#include "dp_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/format.h"
#include "hl/json.h"
#include "hl/mem.h"
#include "hl/banned.h"

/* Opens sealed field `field` of webhook id into out; on failure records why in
 * w->secret_error (the field and the reason, never the value). */
static bool open_sealed(const struct hl_keyring *kr, const char *field, const char *id,
                        const char *sealed, struct hl_buf *out, struct dp_webhook *w)
{
    char aad[HL_AAD_MAX], why[128];
    hl_aad_webhook(aad, field, id);
    if (hl_keyring_open(kr, aad, sealed, out, why, sizeof(why)) == HL_OK)
        return true;
    if (!w->secret_error) {
        char msg[320];
        snprintf(msg, sizeof(msg), "cannot open %s: %s", field, why);
        w->secret_error = hl_xstrdup(msg);
    }
    return false;
}

bool dp_format_load(const struct hl_keyring *kr, const char *id, const char *sealed_secret,
                    const char *format_text, struct dp_webhook *w, char *errbuf, size_t errlen)
{
    if (!format_text)
        return true;
    json_t *stored = json_loads(format_text, 0, NULL);
    struct hl_template_error e;
    if (!stored || hl_format_compile(stored, &w->format, &e) != HL_OK) {
        snprintf(errbuf, errlen, "format does not compile: %s: %s", e.pointer, e.detail);
        json_decref(stored);
        return false;
    }
    const char *secret = json_string_value(json_object_get(stored, "secret"));
    if (w->format && w->format->sig_header) {
        if (w->format->sig_key == HL_FMT_KEY_WHSEC)
            hl_buf_add(&w->format_key, w->secret.key, w->secret.len);
        else if (secret)
            open_sealed(kr, "format.secret", id, secret, &w->format_key, w);
        else
            open_sealed(kr, "secret", id, sealed_secret ? sealed_secret : "", &w->format_key, w);
    }
    json_decref(stored);
    return true;
}

void dp_format_release(struct dp_webhook *w)
{
    hl_format_free(w->format);
    w->format = NULL;
    hl_buf_wipe(&w->format_key);
    hl_buf_release(&w->format_key);
}

void dp_format_render(const struct dp_webhook *w, struct hl_event *ev, const char *delivery_id,
                      struct hl_buf *body, struct hl_buf *lines)
{
    json_t *env = ev->root ? json_incref(ev->root) : NULL;
    if (!env && ev->text) {
        if (hl_json_depth_ok(ev->text, ev->text_len, HL_JSON_MAX_DEPTH))
            env = hl_json_parse(ev->text, ev->text_len);
        if (!env)
            env = json_loadb(ev->text, ev->text_len, JSON_ALLOW_NUL, NULL);
    }
    hl_buf_clear(lines);
    if (!w->format->body || !env) {
        hl_envelope_body(ev, w->id, body); /* env is NULL only if the text was never valid */
    } else {
        hl_buf_clear(body);
        struct hl_template_ctx c = {.envelope = env, .delivery_id = delivery_id,
                                    .webhook_id = w->id};
        hl_template_render(w->format->body, &c, body);
    }
    if (env) {
        struct hl_template_ctx c = {.envelope = env, .delivery_id = delivery_id,
                                    .webhook_id = w->id};
        hl_format_render_headers(w->format, &c, lines);
    }
    json_decref(env);
}

static void add_line(struct curl_slist **headers, const char *line)
{
    struct curl_slist *l = curl_slist_append(*headers, line);
    if (!l)
        abort();
    *headers = l;
}

void dp_format_headers(const struct dp_webhook *w, const struct hl_buf *lines, const char *body,
                       size_t body_len, struct curl_slist **headers)
{
    for (size_t at = 0; at < lines->len; at += strlen(lines->ptr + at) + 1)
        add_line(headers, lines->ptr + at);
    if (w->format->sig_header) {
        struct hl_buf line = HL_BUF_INIT;
        hl_format_sign(w->format, w->format_key.ptr, w->format_key.len, body, body_len, &line);
        add_line(headers, line.ptr);
        hl_buf_wipe(&line);
        hl_buf_release(&line);
    }
}
