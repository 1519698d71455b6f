/* Delivery formats: what a webhook's requests look like when it is not today's standard
 * body. A format is a body template, header templates, a User-Agent and an optional extra
 * signature header (hl/template.h for the placeholders); Standard Webhooks signing is
 * independent of it and stays on. The gateway compiles a format to validate it when a
 * webhook is saved, the dispatcher compiles it once per snapshot load and renders it per
 * delivery.
 *
 * A format is given as the name of a built-in ("standard", "stacksos", "systemprompt",
 * "epic81", "xavyo") or as an object:
 *   {"name": "<built-in>", "secret"?}                        a built-in
 *   {"body"?, "headers"?, "user_agent"?, "signature"?, "secret"?}   a custom format
 * body: a JSON template (absent: the standard body); headers: {"Name": "text template"};
 * signature: {"header", "prefix": "sha256=" | "", "encoding": "hex" | "base64",
 *             "key": "secret" | "whsec"}, an HMAC-SHA256 of the raw body;
 * secret: a plain shared secret (8..512 bytes) that key "secret" uses; without one, key
 * "secret" uses the webhook's "whsec_..." secret as text (what a receiver that HMACs with
 * secret.encode() holds). Key "whsec" uses the decoded bytes of the webhook's secret. */
#ifndef HL_FORMAT_H
#define HL_FORMAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl/buf.h"
#include "hl/err.h"
#include "hl/template.h"

#define HL_FORMAT_MAX_HEADERS 20
#define HL_FORMAT_SECRET_MIN 8
#define HL_FORMAT_SECRET_MAX 512

typedef enum { HL_FMT_HEX, HL_FMT_BASE64 } hl_fmt_encoding;
typedef enum { HL_FMT_KEY_SECRET, HL_FMT_KEY_WHSEC } hl_fmt_key;

struct hl_format {
    char *name;               /* the built-in's name, NULL for a custom format */
    struct hl_template *body; /* NULL: the standard body */
    size_t nheaders;
    char **header_names;
    struct hl_template **header_values;
    char *user_agent_line; /* "User-Agent: ..."; NULL: Hookline's */
    char *sig_header;      /* NULL: no extra signature header */
    char *sig_prefix;
    hl_fmt_encoding sig_encoding;
    hl_fmt_key sig_key;
};

/* The built-in formats, in listing order; "standard" is first. */
size_t hl_format_builtin_count(void);
const char *hl_format_builtin_name(size_t i);
/* A built-in's definition as a new JSON object ({"name", "description", "body"?, "headers"?,
 * "user_agent"?, "signature"?}), or NULL when there is no such built-in. */
json_t *hl_format_builtin(const char *name);

/* Checks a format as an API client gives it (a string or an object, see above) and, unless
 * it is the standard format (*stored NULL), writes the form to store into *stored (a new
 * reference: {"name"} for a built-in, the custom object otherwise; "secret" kept as given,
 * in plain text: the caller seals it). On failure e names the problem with a pointer
 * relative to the format. */
hl_err hl_format_check(const json_t *given, json_t **stored, struct hl_template_error *e);

/* Compiles a stored format (NULL or JSON null: the standard format, *out NULL). */
hl_err hl_format_compile(const json_t *stored, struct hl_format **out,
                         struct hl_template_error *e);
void hl_format_free(struct hl_format *f);

/* Appends "Name: value\0" for each header of f (values with control characters replaced
 * by spaces, so no value can split the request). */
void hl_format_render_headers(const struct hl_format *f, const struct hl_template_ctx *c,
                              struct hl_buf *lines);
/* Appends the signature header line "<header>: <prefix><digest>" of body, keyed with key;
 * nothing when f has no signature header. */
void hl_format_sign(const struct hl_format *f, const void *key, size_t keylen, const void *body,
                    size_t len, struct hl_buf *line);

#endif
