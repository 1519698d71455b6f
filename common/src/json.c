/* JSON text helpers (see hl/json.h). The depth check exists so that the gateway can refuse
 * a hostile, deeply nested body before jansson builds it and before the schema validator,
 * the matcher or json_dumps recurse through it. */
#include "hl/json.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"
#include "hl/banned.h"

bool hl_json_depth_ok(const char *text, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return false;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

void hl_json_write(struct hl_buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        bool first = true;
        hl_buf_addch(b, '{');
        json_object_foreach ((json_t *)v, key, val) {
            if (!first)
                hl_buf_addch(b, ',');
            first = false;
            hl_buf_add_json_str(b, key, strlen(key));
            hl_buf_addch(b, ':');
            hl_json_write(b, val);
        }
        hl_buf_addch(b, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        hl_buf_addch(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                hl_buf_addch(b, ',');
            hl_json_write(b, json_array_get(v, i));
        }
        hl_buf_addch(b, ']');
        break;
    }
    case JSON_STRING:
        hl_buf_add_json_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        hl_buf_add_i64(b, json_integer_value(v)); /* as JSON_INTEGER_FORMAT prints it */
        break;
    case JSON_REAL: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s)
            abort();
        hl_buf_adds(b, s);
        free(s);
        break;
    }
    case JSON_TRUE:
        hl_buf_add(b, "true", 4);
        break;
    case JSON_FALSE:
        hl_buf_add(b, "false", 5);
        break;
    case JSON_NULL:
        hl_buf_add(b, "null", 4);
        break;
    }
}

/* hl_json_parse: recursive descent over the bytes. Any doubt returns NULL (the caller
 * asks jansson), so the grammar accepted here is a subset of jansson's. */
#define PARSE_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH: deeper is its error */

struct parser {
    const unsigned char *p, *end;
    int depth, max_depth;
    struct hl_buf tmp; /* decoded strings with escapes */
};

static json_t *parse_value(struct parser *ps);

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static void add_utf8(struct hl_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    hl_buf_add(b, u, n);
}

/* Bytes that stand for themselves inside a string: ASCII from ' ' on, except '"' and '\\'
 * (0x80 and up are checked as UTF-8 sequences). */
static const bool plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* After the opening quote. Returns 0 with *s, *len set (pointing into the text when there
 * was no escape, else into ps->tmp), or -1. */
static int parse_string(struct parser *ps, const char **s, size_t *len)
{
    const unsigned char *start = ps->p;
    bool escaped = false;
    hl_buf_clear(&ps->tmp);
    for (;;) {
        const unsigned char *run = ps->p;
        while (ps->p < ps->end && plain[*ps->p])
            ps->p++;
        if (escaped)
            hl_buf_add(&ps->tmp, run, (size_t)(ps->p - run));
        if (ps->p >= ps->end)
            return -1;
        unsigned char c = *ps->p;
        if (c == '"') {
            if (escaped) {
                *s = ps->tmp.ptr;
                *len = ps->tmp.len;
            } else {
                *s = (const char *)start;
                *len = (size_t)(ps->p - start);
            }
            ps->p++;
            return 0;
        }
        if (c >= 0x80) {
            size_t n = hl_utf8_seq_len(ps->p, (size_t)(ps->end - ps->p));
            if (!n)
                return -1;
            if (escaped)
                hl_buf_add(&ps->tmp, ps->p, n);
            ps->p += n;
            continue;
        }
        if (c != '\\') /* a control character */
            return -1;
        if (!escaped) {
            escaped = true;
            hl_buf_add(&ps->tmp, start, (size_t)(ps->p - start));
        }
        if (ps->end - ps->p < 2)
            return -1;
        char e = (char)ps->p[1];
        ps->p += 2;
        switch (e) {
        case '"': hl_buf_addch(&ps->tmp, '"'); break;
        case '\\': hl_buf_addch(&ps->tmp, '\\'); break;
        case '/': hl_buf_addch(&ps->tmp, '/'); break;
        case 'b': hl_buf_addch(&ps->tmp, '\b'); break;
        case 'f': hl_buf_addch(&ps->tmp, '\f'); break;
        case 'n': hl_buf_addch(&ps->tmp, '\n'); break;
        case 'r': hl_buf_addch(&ps->tmp, '\r'); break;
        case 't': hl_buf_addch(&ps->tmp, '\t'); break;
        case 'u': {
            long cp = hl_hex4(ps->p, (size_t)(ps->end - ps->p));
            if (cp <= 0 || (cp >= 0xdc00 && cp <= 0xdfff)) /* \u0000: jansson's call */
                return -1;
            ps->p += 4;
            uint32_t full = (uint32_t)cp;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                long lo = ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u'
                              ? hl_hex4(ps->p + 2, 4)
                              : -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return -1;
                ps->p += 6;
                full = 0x10000 + (((uint32_t)cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            }
            add_utf8(&ps->tmp, full);
            break;
        }
        default:
            return -1;
        }
    }
}

static json_t *parse_number(struct parser *ps)
{
    const unsigned char *start = ps->p;
    bool real = false;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end)
        return NULL;
    if (*ps->p == '0') {
        ps->p++;
    } else if (*ps->p >= '1' && *ps->p <= '9') {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    } else {
        return NULL;
    }
    if (ps->p < ps->end && *ps->p == '.') {
        real = true;
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return NULL;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        real = true;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return NULL;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    char num[64];
    size_t n = (size_t)(ps->p - start);
    if (n >= sizeof(num))
        return NULL; /* long numbers: jansson's business */
    memcpy(num, start, n);
    num[n] = '\0';
    char *end;
    errno = 0;
    if (!real) {
        long long v = strtoll(num, &end, 10);
        if (errno || *end)
            return NULL;
        return json_integer((json_int_t)v);
    }
    double d = strtod(num, &end);
    if (errno || *end) /* overflow is jansson's error; underflow: let jansson say too */
        return NULL;
    return json_real(d);
}

static json_t *parse_object(struct parser *ps)
{
    json_t *obj = json_object();
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return obj;
    }
    for (;;) {
        const char *key;
        size_t klen;
        if (ps->p >= ps->end || *ps->p != '"')
            goto fail;
        ps->p++;
        if (parse_string(ps, &key, &klen) < 0)
            goto fail;
        /* The key may live in ps->tmp, which the value's strings reuse: copy it first. */
        char kbuf[128];
        char *k = klen < sizeof(kbuf) ? kbuf : malloc(klen + 1);
        if (!k)
            abort();
        memcpy(k, key, klen);
        k[klen] = '\0';
        bool dup = json_object_getn(obj, k, klen) != NULL;
        json_t *v = NULL;
        skip_ws(ps);
        if (!dup && ps->p < ps->end && *ps->p == ':') {
            ps->p++;
            v = parse_value(ps);
        }
        if (v && json_object_setn_new_nocheck(obj, k, klen, v) != 0)
            v = NULL; /* reference stolen either way */
        if (k != kbuf)
            free(k);
        if (!v)
            goto fail;
        skip_ws(ps);
        if (ps->p >= ps->end)
            goto fail;
        if (*ps->p == '}') {
            ps->p++;
            return obj;
        }
        if (*ps->p != ',')
            goto fail;
        ps->p++;
        skip_ws(ps);
    }
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(struct parser *ps)
{
    json_t *arr = json_array();
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return arr;
    }
    for (;;) {
        json_t *v = parse_value(ps);
        if (!v || json_array_append_new(arr, v) != 0)
            goto fail;
        skip_ws(ps);
        if (ps->p >= ps->end)
            goto fail;
        if (*ps->p == ']') {
            ps->p++;
            return arr;
        }
        if (*ps->p != ',')
            goto fail;
        ps->p++;
    }
fail:
    json_decref(arr);
    return NULL;
}

static bool literal(struct parser *ps, const char *word, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static json_t *parse_value(struct parser *ps)
{
    json_t *v;
    skip_ws(ps);
    if (ps->p >= ps->end)
        return NULL;
    switch (*ps->p) {
    case '{':
    case '[':
        if (++ps->depth > ps->max_depth)
            return NULL;
        v = *ps->p++ == '{' ? parse_object(ps) : parse_array(ps);
        ps->depth--;
        return v;
    case '"': {
        const char *s;
        size_t len;
        ps->p++;
        if (parse_string(ps, &s, &len) < 0)
            return NULL;
        return json_stringn_nocheck(s, len);
    }
    case 't':
        return literal(ps, "true", 4) ? json_true() : NULL;
    case 'f':
        return literal(ps, "false", 5) ? json_false() : NULL;
    case 'n':
        return literal(ps, "null", 4) ? json_null() : NULL;
    default:
        return parse_number(ps);
    }
}

json_t *hl_json_parse(const char *text, size_t len, int max_depth)
{
    struct parser ps = {.p = (const unsigned char *)text,
                        .end = (const unsigned char *)text + len,
                        .max_depth = max_depth < PARSE_MAX_DEPTH ? max_depth : PARSE_MAX_DEPTH,
                        .tmp = HL_BUF_INIT};
    skip_ws(&ps);
    json_t *root = NULL;
    if (ps.p < ps.end && (*ps.p == '{' || *ps.p == '['))
        root = parse_value(&ps);
    skip_ws(&ps);
    if (root && ps.p != ps.end) { /* trailing text: jansson's "end of file expected" */
        json_decref(root);
        root = NULL;
    }
    hl_buf_release(&ps.tmp);
    return root;
}

const char *hl_json_error_text(const json_error_t *e, char *buf, size_t len)
{
    const char *why;
    switch (json_error_code(e)) {
    case json_error_invalid_utf8:
        why = "invalid UTF-8";
        break;
    case json_error_premature_end_of_input:
        why = "unexpected end of input";
        break;
    case json_error_end_of_input_expected:
        why = "unexpected text after the value";
        break;
    case json_error_stack_overflow:
        why = "nested too deeply";
        break;
    case json_error_null_byte_in_key:
        why = "a member name containing \\u0000 is not accepted";
        break;
    case json_error_duplicate_key:
        why = "duplicate member name";
        break;
    case json_error_numeric_overflow:
        why = "number out of range";
        break;
    case json_error_invalid_syntax: {
        /* jansson's syntax messages are plain parser words ("string or '}' expected");
         * the quoted token after them is cut off. */
        size_t n = strlen(e->text);
        const char *near = strstr(e->text, " near ");
        if (near)
            n = (size_t)(near - e->text);
        snprintf(buf, len, "%.*s", (int)n, e->text);
        return buf;
    }
    default:
        why = "not valid JSON";
        break;
    }
    snprintf(buf, len, "%s", why);
    return buf;
}

size_t hl_json_find_nul_escape(const char *text, size_t len)
{
    /* A backslash appears in JSON text only inside strings and always starts an escape. */
    const char *p = text, *end = text + len;
    while ((p = memchr(p, '\\', (size_t)(end - p))) && end - p >= 2) {
        if (p[1] == 'u' && end - p >= 6 && memcmp(p + 2, "0000", 4) == 0)
            return (size_t)(p - text);
        p += 2; /* the escaped character is not a backslash to look at */
    }
    return len;
}
