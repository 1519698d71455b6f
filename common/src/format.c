/* Delivery formats (see hl/format.h): the built-ins, the check of what a client gives,
 * compilation of what is stored, and rendering of headers and the extra signature.
 *
 * Built-ins are stored by name only, so a webhook in the "stacksos" format follows the
 * definition below, which reproduces the contract its seed system documents (the seeds
 * in docs/receiving.md). */
#include "hl/format.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hl/mem.h"
#include "hl/sign.h"
#include "hl/banned.h"

static const struct {
    const char *name;
    const char *json;
} builtins[] = {
    {"standard",
     "{\"description\": \"Hookline's own body (docs/receiving.md), signed with Standard Webhooks"
     " and the legacy X-Webhook-Signature header\"}"},
    {"stacksos",
     "{\"description\": \"StacksOS developer platform (seed 000)\","
     " \"body\": {\"id\": \"{{delivery_id}}\", \"event\": \"{{event}}\","
     "  \"tenantId\": \"{{tenant}}\", \"requestId\": \"{{request_id}}\","
     "  \"actorId\": \"{{actor_id}}\", \"occurredAt\": \"{{occurred_at}}\","
     "  \"payload\": \"{{data}}\"},"
     " \"headers\": {\"x-stacksos-event\": \"{{event}}\","
     "  \"x-stacksos-delivery-id\": \"{{delivery_id}}\"},"
     " \"signature\": {\"header\": \"x-stacksos-signature\", \"prefix\": \"sha256=\","
     "  \"encoding\": \"hex\", \"key\": \"secret\"}}"},
    {"systemprompt",
     "{\"description\": \"SystemPrompt OS webhooks module (seed 002)\","
     " \"body\": {\"webhook_id\": \"{{webhook_id}}\", \"event\": \"{{event}}\","
     "  \"timestamp\": \"{{timestamp}}\", \"data\": \"{{data}}\","
     "  \"metadata\": \"{{metadata}}\"},"
     " \"headers\": {\"X-Webhook-Event\": \"{{event}}\", \"X-Webhook-Id\": \"{{webhook_id}}\","
     "  \"X-Webhook-Timestamp\": \"{{timestamp}}\"},"
     " \"user_agent\": \"SystemPrompt-Webhook/1.0\","
     " \"signature\": {\"header\": \"X-Webhook-Signature\", \"prefix\": \"sha256=\","
     "  \"encoding\": \"hex\", \"key\": \"secret\"}}"},
    {"epic81",
     "{\"description\": \"Epic 8.1 webhook system (seed 003)\","
     " \"body\": {\"event\": \"{{event}}\", \"timestamp\": \"{{timestamp}}\","
     "  \"data\": \"{{data}}\", \"webhook_id\": \"{{webhook_id}}\"},"
     " \"signature\": {\"header\": \"X-Webhook-Signature\", \"prefix\": \"\","
     "  \"encoding\": \"hex\", \"key\": \"secret\"}}"},
    {"xavyo",
     "{\"description\": \"xavyo identity lifecycle webhooks (seed 004)\","
     " \"body\": {\"event_id\": \"{{event_id}}\", \"event_type\": \"{{event}}\","
     "  \"tenant_id\": \"{{tenant}}\", \"actor_id\": \"{{actor_id}}\","
     "  \"timestamp\": \"{{timestamp}}\", \"data\": \"{{data}}\"},"
     " \"headers\": {\"X-Webhook-ID\": \"{{delivery_id}}\","
     "  \"X-Webhook-Timestamp\": \"{{timestamp}}\"},"
     " \"signature\": {\"header\": \"X-Webhook-Signature\", \"prefix\": \"sha256=\","
     "  \"encoding\": \"hex\", \"key\": \"secret\"}}"},
};
#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

/* Set by the dispatcher or HTTP itself, or owned by another setting ("auth", "user_agent",
 * Standard Webhooks). */
static const char *const reserved[] = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "host", "content-length", "content-type",
    "authorization", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature",
    "expect",
};

size_t hl_format_builtin_count(void)
{
    return NBUILTINS;
}

const char *hl_format_builtin_name(size_t i)
{
    return i < NBUILTINS ? builtins[i].name : NULL;
}

json_t *hl_format_builtin(const char *name)
{
    for (size_t i = 0; i < NBUILTINS; i++) {
        if (strcmp(builtins[i].name, name) != 0)
            continue;
        json_t *o = json_loads(builtins[i].json, 0, NULL);
        if (!o)
            abort(); /* the table above is wrong */
        json_object_set_new(o, "name", json_string(name));
        return o;
    }
    return NULL;
}

static hl_err bad(struct hl_template_error *e, const char *pointer, const char *fmt,
                  const char *arg)
{
    snprintf(e->pointer, sizeof(e->pointer), "%s", pointer);
    snprintf(e->detail, sizeof(e->detail), fmt, arg);
    return HL_EINVAL;
}

static bool token(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr("!#$%&'*+.^_`|~-", s[i])))
            return false;
    return true;
}

static bool header_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return true;
    return false;
}

/* A header name a format may set: pointer is where it stands, for the error. */
static hl_err check_name(const char *name, const char *pointer, struct hl_template_error *e)
{
    if (!token(name))
        return bad(e, pointer, "'%s' is not a valid header name (1..64 token characters)", name);
    if (header_reserved(name))
        return bad(e, pointer, "'%s' is set by Hookline or by another setting", name);
    return HL_OK;
}

static bool printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static hl_err check_signature(const json_t *sig, struct hl_template_error *e)
{
    if (!json_is_object(sig))
        return bad(e, "/signature", "%s", "must be an object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)sig, key, v) {
        char ptr[96];
        snprintf(ptr, sizeof(ptr), "/signature/%s", key);
        if (strcmp(key, "header") == 0) {
            if (!json_is_string(v))
                return bad(e, ptr, "%s", "must be a string");
            hl_err err = check_name(json_string_value(v), ptr, e);
            if (err)
                return err;
        } else if (strcmp(key, "prefix") == 0) {
            if (!json_is_string(v) || (strcmp(json_string_value(v), "sha256=") != 0 &&
                                       strcmp(json_string_value(v), "") != 0))
                return bad(e, ptr, "%s", "must be \"sha256=\" or \"\"");
        } else if (strcmp(key, "encoding") == 0) {
            if (!json_is_string(v) || (strcmp(json_string_value(v), "hex") != 0 &&
                                       strcmp(json_string_value(v), "base64") != 0))
                return bad(e, ptr, "%s", "must be \"hex\" or \"base64\"");
        } else if (strcmp(key, "key") == 0) {
            if (!json_is_string(v) || (strcmp(json_string_value(v), "secret") != 0 &&
                                       strcmp(json_string_value(v), "whsec") != 0))
                return bad(e, ptr, "%s", "must be \"secret\" or \"whsec\"");
        } else {
            return bad(e, ptr, "unknown field '%s'", key);
        }
    }
    if (!json_object_get(sig, "header"))
        return bad(e, "/signature/header", "%s", "is required");
    return HL_OK;
}

/* The shape checks of a custom format object (templates are checked by compiling). */
static hl_err check_custom(const json_t *f, struct hl_template_error *e)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)f, key, v) {
        char ptr[96];
        snprintf(ptr, sizeof(ptr), "/%s", key);
        if (strcmp(key, "body") == 0 || strcmp(key, "secret") == 0) {
            continue;
        } else if (strcmp(key, "headers") == 0) {
            if (!json_is_object(v))
                return bad(e, ptr, "%s", "must be an object of header templates");
            if (json_object_size(v) > HL_FORMAT_MAX_HEADERS)
                return bad(e, ptr, "%s", "has more than 20 headers");
            const char *name;
            json_t *tv;
            json_object_foreach(v, name, tv) {
                char hp[128];
                snprintf(hp, sizeof(hp), "/headers/%s", name);
                hl_err err = check_name(name, hp, e);
                if (err)
                    return err;
                if (!json_is_string(tv) || json_string_length(tv) > 1024)
                    return bad(e, hp, "%s", "must be a string template of at most 1024 bytes");
            }
        } else if (strcmp(key, "user_agent") == 0) {
            if (!json_is_string(v) || !printable(json_string_value(v), 256))
                return bad(e, ptr, "%s", "must be 1..256 printable characters");
        } else if (strcmp(key, "signature") == 0) {
            hl_err err = check_signature(v, e);
            if (err)
                return err;
        } else {
            return bad(e, ptr, "unknown field '%s' (name, body, headers, user_agent, "
                               "signature, secret)", key);
        }
    }
    const char *sh = json_string_value(json_object_get(json_object_get(f, "signature"), "header"));
    if (sh && json_object_get(json_object_get(f, "headers"), sh))
        return bad(e, "/signature/header", "'%s' is also one of the format's headers", sh);
    if (sh) {
        const char *name;
        json_t *tv;
        json_object_foreach(json_object_get(f, "headers"), name, tv) {
            if (strcasecmp(name, sh) == 0)
                return bad(e, "/signature/header", "'%s' is also one of the format's headers",
                           sh);
        }
    }
    return HL_OK;
}

hl_err hl_format_check(const json_t *given, json_t **stored, struct hl_template_error *e)
{
    json_t *out = NULL;
    memset(e, 0, sizeof(*e));
    *stored = NULL;
    if (!given || json_is_null(given))
        return HL_OK;
    if (json_is_string(given)) {
        const char *name = json_string_value(given);
        json_t *b = hl_format_builtin(name);
        if (!b)
            return bad(e, "", "no built-in format '%s' (GET /api/v1/formats lists them)", name);
        json_decref(b);
        if (strcmp(name, "standard") != 0)
            *stored = json_pack("{s:s}", "name", name);
        return HL_OK;
    }
    if (!json_is_object(given))
        return bad(e, "", "%s", "must be a built-in format's name or a format object");
    json_t *secret = json_object_get(given, "secret");
    if (secret && (!json_is_string(secret) ||
                   json_string_length(secret) < HL_FORMAT_SECRET_MIN ||
                   json_string_length(secret) > HL_FORMAT_SECRET_MAX ||
                   strlen(json_string_value(secret)) != json_string_length(secret)))
        return bad(e, "/secret", "%s", "must be a string of 8..512 bytes");
    json_t *name = json_object_get(given, "name");
    if (name) {
        if (!json_is_string(name))
            return bad(e, "/name", "%s", "must be a string");
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)given, key, v) {
            if (strcmp(key, "name") && strcmp(key, "secret"))
                return bad(e, "/name", "a built-in format takes only 'secret' besides its name, "
                                       "not '%s'", key);
        }
        json_t *b = hl_format_builtin(json_string_value(name));
        if (!b)
            return bad(e, "/name", "no built-in format '%s' (GET /api/v1/formats lists them)",
                       json_string_value(name));
        bool signs = json_object_get(b, "signature") != NULL;
        json_decref(b);
        if (secret && !signs)
            return bad(e, "/secret", "the '%s' format has no signature that uses a secret",
                       json_string_value(name));
        if (strcmp(json_string_value(name), "standard") != 0)
            out = json_deep_copy(given);
    } else {
        hl_err err = check_custom(given, e);
        if (err)
            return err;
        out = json_deep_copy(given);
    }
    struct hl_format *f = NULL;
    if (out && hl_format_compile(out, &f, e) != HL_OK) {
        json_decref(out);
        return HL_EINVAL;
    }
    hl_format_free(f);
    *stored = out;
    return HL_OK;
}

/* Prefixes e->pointer with where the template sits in the format. */
static void locate(struct hl_template_error *e, const char *where)
{
    char p[sizeof(e->pointer)];
    size_t n = strlen(where);
    if (n + strlen(e->pointer) >= sizeof(p))
        return; /* cannot happen with the bounded names; keep the inner pointer */
    memcpy(p, where, n);
    memcpy(p + n, e->pointer, strlen(e->pointer) + 1);
    memcpy(e->pointer, p, sizeof(p));
}

hl_err hl_format_compile(const json_t *stored, struct hl_format **out,
                         struct hl_template_error *e)
{
    hl_err err = HL_EINVAL;
    json_t *def = NULL;
    memset(e, 0, sizeof(*e));
    *out = NULL;
    if (!stored || json_is_null(stored))
        return HL_OK;
    struct hl_format *f = hl_xcalloc(1, sizeof(*f));
    const char *name = json_string_value(json_object_get(stored, "name"));
    if (name) {
        if (!(def = hl_format_builtin(name))) {
            bad(e, "/name", "no built-in format '%s'", name);
            goto out;
        }
        f->name = hl_xstrdup(name);
    } else {
        def = json_incref((json_t *)stored);
    }
    json_t *body = json_object_get(def, "body");
    if (body && hl_template_compile_json(body, &f->body, e) != HL_OK) {
        locate(e, "/body");
        goto out;
    }
    json_t *headers = json_object_get(def, "headers");
    size_t nh = json_object_size(headers);
    f->header_names = hl_xcalloc(nh + 1, sizeof(char *));
    f->header_values = hl_xcalloc(nh + 1, sizeof(struct hl_template *));
    const char *hname;
    json_t *tv;
    json_object_foreach(headers, hname, tv) {
        if (!json_is_string(tv)) {
            bad(e, "/headers", "'%s' must be a string template", hname);
            goto out;
        }
        if (hl_template_compile_text(json_string_value(tv), &f->header_values[f->nheaders], e)) {
            char where[96];
            snprintf(where, sizeof(where), "/headers/%s", hname);
            locate(e, where);
            goto out;
        }
        f->header_names[f->nheaders++] = hl_xstrdup(hname);
    }
    const char *ua = json_string_value(json_object_get(def, "user_agent"));
    if (ua) {
        size_t n = strlen(ua) + 13;
        f->user_agent_line = hl_xmalloc(n);
        snprintf(f->user_agent_line, n, "User-Agent: %s", ua);
    }
    json_t *sig = json_object_get(def, "signature");
    if (sig) {
        const char *h = json_string_value(json_object_get(sig, "header"));
        const char *p = json_string_value(json_object_get(sig, "prefix"));
        const char *enc = json_string_value(json_object_get(sig, "encoding"));
        const char *key = json_string_value(json_object_get(sig, "key"));
        if (!h) {
            bad(e, "/signature/header", "%s", "is required");
            goto out;
        }
        f->sig_header = hl_xstrdup(h);
        f->sig_prefix = hl_xstrdup(p ? p : "sha256=");
        f->sig_encoding = enc && strcmp(enc, "base64") == 0 ? HL_FMT_BASE64 : HL_FMT_HEX;
        f->sig_key = key && strcmp(key, "whsec") == 0 ? HL_FMT_KEY_WHSEC : HL_FMT_KEY_SECRET;
    }
    *out = f;
    f = NULL;
    err = HL_OK;
out:
    json_decref(def);
    hl_format_free(f);
    return err;
}

void hl_format_free(struct hl_format *f)
{
    if (!f)
        return;
    free(f->name);
    hl_template_free(f->body);
    for (size_t i = 0; i < f->nheaders; i++) {
        free(f->header_names[i]);
        hl_template_free(f->header_values[i]);
    }
    free(f->header_names);
    free(f->header_values);
    free(f->user_agent_line);
    free(f->sig_header);
    free(f->sig_prefix);
    free(f);
}

void hl_format_render_headers(const struct hl_format *f, const struct hl_template_ctx *c,
                              struct hl_buf *lines)
{
    for (size_t i = 0; i < f->nheaders; i++) {
        hl_buf_adds(lines, f->header_names[i]);
        hl_buf_adds(lines, ": ");
        size_t at = lines->len;
        hl_template_render(f->header_values[i], c, lines);
        for (size_t k = at; k < lines->len; k++)
            if ((unsigned char)lines->ptr[k] < 0x20 || lines->ptr[k] == 0x7f)
                lines->ptr[k] = ' ';
        hl_buf_addch(lines, '\0');
    }
}

void hl_format_sign(const struct hl_format *f, const void *key, size_t keylen, const void *body,
                    size_t len, struct hl_buf *line)
{
    if (!f->sig_header)
        return;
    unsigned char mac[HL_HMAC_MAX];
    const void *parts[] = {body};
    size_t lens[] = {len};
    size_t n = hl_hmac(HL_HMAC_SHA256, key, keylen, parts, lens, 1, mac);
    hl_buf_addf(line, "%s: %s", f->sig_header, f->sig_prefix);
    if (f->sig_encoding == HL_FMT_BASE64) {
        char b64[4 * (HL_HMAC_MAX / 3 + 1) + 1];
        hl_base64_encode(mac, n, b64);
        hl_buf_adds(line, b64);
    } else {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
            hl_buf_addch(line, hex[mac[i] >> 4]);
            hl_buf_addch(line, hex[mac[i] & 15]);
        }
    }
}
