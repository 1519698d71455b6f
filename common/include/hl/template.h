/* Delivery templates: JSON (a body) or text (a header value) with placeholders for the
 * event envelope's fields, compiled once when a webhook is saved or loaded and rendered per
 * delivery without interpreting the template again.
 *
 * Placeholders, written {{name}} (spaces inside the braces are allowed):
 *   event, event_id, delivery_id, webhook_id, tenant, request_id, actor_id
 *   timestamp, occurred_at             ISO-8601 text as the envelope carries it
 *                                      (occurred_at falls back to timestamp)
 *   timestamp:unix, occurred_at:unix   the same instant as an integer of Unix seconds
 *   data, metadata                     the whole value (metadata is {} when absent)
 *   data/<pointer>, metadata/<pointer> an RFC 6901 JSON pointer into it ({{data/user/id}})
 *
 * In a JSON template a string that is exactly one placeholder becomes that value with its
 * JSON type ("{{data}}" an object, "{{actor_id}}" a number or null, "{{timestamp:unix}}" an
 * integer); a missing value becomes null. A string with text around its placeholders stays
 * a string: each value is written as text (strings as they are, other values as compact
 * JSON, missing ones as nothing) and the result is escaped as one JSON string. Values are
 * never spliced into the JSON as raw text, so no event can change the body's structure.
 * Object keys are literal. "{{" always opens a placeholder; there is no escape for it.
 *
 * @locality compile on any thread; a compiled template is immutable, render it from any
 * number of threads at once. */
#ifndef HL_TEMPLATE_H
#define HL_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "hl/buf.h"
#include "hl/err.h"

#define HL_TEMPLATE_MAX_DEPTH 16
#define HL_TEMPLATE_MAX_NODES 2000

struct hl_template;

/* Where a template failed to compile: a JSON pointer into the template passed in (""
 * for the template itself), and why. */
struct hl_template_error {
    char pointer[256];
    char detail[256];
};

/* What placeholders read. envelope is the event as on the events topic (an object with
 * id, event, tenant, timestamp, data, ...); the ids are the delivery's and the webhook's. */
struct hl_template_ctx {
    json_t *envelope;
    const char *delivery_id;
    const char *webhook_id;
};

/* Compiles a JSON template (any JSON value). On failure *out is NULL and e says where. */
hl_err hl_template_compile_json(const json_t *tpl, struct hl_template **out,
                                struct hl_template_error *e);
/* Compiles a text template (a header value). */
hl_err hl_template_compile_text(const char *tpl, struct hl_template **out,
                                struct hl_template_error *e);
void hl_template_free(struct hl_template *t);

/* Appends the rendering: compact JSON for a JSON template, text for a text one. */
void hl_template_render(const struct hl_template *t, const struct hl_template_ctx *c,
                        struct hl_buf *out);

#endif
