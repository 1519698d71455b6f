/* Delivery formats in the dispatcher (see dp_format.h). */
#include "dp_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_signature.h"
#include "hl/format.h"
#include "hl/json.h"
#include "hl/mem.h"
#include "hl/banned.h"

void dp_format_render(const struct dp_webhook *w, struct hl_event *ev, const char *delivery_id,
                      struct hl_buf *body, struct hl_buf *lines)
{
    json_t *env = ev->root ? json_incref(ev->root) : NULL;
    if (!env && ev->text) {
        env = hl_json_parse(ev->text, ev->text_len, HL_JSON_MAX_DEPTH);
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

void dp_format_headers(const struct dp_webhook *w, const struct hl_buf *lines, const char *body,
                       size_t body_len, struct dp_headers *headers)
{
    for (size_t at = 0; at < lines->len; at += strlen(lines->ptr + at) + 1)
        dp_header_line(headers, lines->ptr + at);
    if (w->format->sig_header) {
        struct hl_buf line = HL_BUF_INIT;
        hl_format_sign(w->format, w->format_key.ptr, w->format_key.len, body, body_len, &line);
        dp_header_line(headers, line.ptr);
        hl_buf_wipe(&line);
        hl_buf_release(&line);
    }
}
