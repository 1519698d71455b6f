/* Text form of PostgreSQL values to JSON (see cdc_types.h). */
#include "cdc_types.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hl/buf.h"
#include "hl/mem.h"
#include "hl/banned.h"

/* Digits a double carries exactly through decimal -> binary -> decimal (DBL_DIG). */
#define EXACT_DIGITS 15

static const struct {
    uint32_t array, elem;
} arrays[] = {
    {1000, CDC_OID_BOOL},    {1001, CDC_OID_BYTEA},       {1005, CDC_OID_INT2},
    {1007, CDC_OID_INT4},    {1016, CDC_OID_INT8},        {1028, CDC_OID_OID},
    {1009, CDC_OID_TEXT},    {1015, 1043 /* varchar */},  {1014, 1042 /* bpchar */},
    {1021, CDC_OID_FLOAT4},  {1022, CDC_OID_FLOAT8},      {1231, CDC_OID_NUMERIC},
    {1115, CDC_OID_TIMESTAMP}, {1185, CDC_OID_TIMESTAMPTZ}, {199, CDC_OID_JSON},
    {3807, CDC_OID_JSONB},   {2951, 2950 /* uuid */},     {1182, 1082 /* date */},
};

uint32_t cdc_array_elem(uint32_t oid)
{
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
        if (arrays[i].array == oid)
            return arrays[i].elem;
    return 0;
}

static json_t *as_string(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    /* Text from PostgreSQL is the database's encoding; a non-UTF-8 database could send
     * bytes jansson refuses. Never drop the column: say what it was. */
    return j ? j : json_string("(not UTF-8)");
}

static json_t *integer(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return json_string(s);
    return json_integer(v);
}

static json_t *floating(const char *s)
{
    char *end;
    if (!isdigit((unsigned char)s[0]) && s[0] != '-' && s[0] != '.')
        return json_string(s); /* NaN, Infinity */
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return json_string(s);
    return json_real(v);
}

/* numeric: exact as a number only when a double round-trips it. */
static json_t *numeric(const char *s)
{
    const char *p = s;
    int digits = 0, lead = 1;
    bool frac = false;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return json_string(s); /* NaN, Infinity */
    for (; *p; p++) {
        if (*p == '.') {
            if (frac)
                return json_string(s);
            frac = true;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            return json_string(s);
        if (*p != '0')
            lead = 0;
        if (!lead)
            digits++;
    }
    if (digits > EXACT_DIGITS)
        return json_string(s);
    if (!frac)
        return integer(s);
    return floating(s);
}

static json_t *base64_bytea(const char *s, size_t len)
{
    /* bytea_output 'hex' (the default): "\x" then two hex digits per byte. */
    if (len < 2 || s[0] != '\\' || s[1] != 'x' || (len - 2) % 2)
        return as_string(s, len);
    size_t n = (len - 2) / 2;
    unsigned char *raw = hl_xmalloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        int hi = hl_hex_digit((unsigned char)s[2 + 2 * i]);
        int lo = hl_hex_digit((unsigned char)s[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            free(raw);
            return as_string(s, len);
        }
        raw[i] = (unsigned char)(hi << 4 | lo);
    }
    char *b64 = hl_xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, raw, (int)n);
    json_t *j = json_string(b64);
    free(raw);
    free(b64);
    return j;
}

/* "2026-12-05 12:00:00.123+00" -> "2026-12-05T12:00:00.123Z"; without a zone (timestamp)
 * only the 'T'. Anything else (infinity, BC dates) stays as PostgreSQL wrote it. */
static json_t *timestamp(const char *s, size_t len, bool tz)
{
    struct hl_buf b = HL_BUF_INIT;
    if (len < 19 || s[10] != ' ' || !isdigit((unsigned char)s[0]))
        return as_string(s, len);
    hl_buf_add(&b, s, len);
    b.ptr[10] = 'T';
    if (tz && b.len > 3 && strcmp(b.ptr + b.len - 3, "+00") == 0) {
        b.len -= 3;
        b.ptr[b.len] = '\0';
        hl_buf_addch(&b, 'Z');
    } else if (tz && b.len > 3 && (b.ptr[b.len - 3] == '+' || b.ptr[b.len - 3] == '-')) {
        hl_buf_adds(&b, ":00"); /* "+05" -> "+05:00" (ISO 8601 extended) */
    }
    json_t *j = json_string(b.ptr);
    hl_buf_release(&b);
    return j;
}

static json_t *scalar(uint32_t oid, const char *s, size_t len);

/* Array literal parser: "{1,2,{3,4}}", elements quoted with "..." and backslash escapes,
 * NULL unquoted. *pp walks s; returns NULL on a malformed literal. */
static json_t *array_parse(uint32_t elem, const char **pp, const char *end)
{
    const char *p = *pp;
    if (p >= end || *p != '{')
        return NULL;
    p++;
    json_t *arr = json_array();
    struct hl_buf item = HL_BUF_INIT;
    if (p < end && *p == '}') {
        *pp = p + 1;
        return arr;
    }
    for (;;) {
        if (p >= end)
            goto bad;
        if (*p == '{') {
            json_t *sub = array_parse(elem, &p, end);
            if (!sub)
                goto bad;
            json_array_append_new(arr, sub);
        } else {
            bool quoted = *p == '"';
            hl_buf_clear(&item);
            hl_buf_adds(&item, "");
            if (quoted) {
                p++;
                while (p < end && *p != '"') {
                    if (*p == '\\' && p + 1 < end)
                        p++;
                    hl_buf_addch(&item, *p++);
                }
                if (p >= end)
                    goto bad;
                p++;
            } else {
                while (p < end && *p != ',' && *p != '}')
                    hl_buf_addch(&item, *p++);
            }
            if (!quoted && strcmp(hl_buf_str(&item), "NULL") == 0)
                json_array_append_new(arr, json_null());
            else
                json_array_append_new(arr, scalar(elem, hl_buf_str(&item), item.len));
        }
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        goto bad;
    }
    hl_buf_release(&item);
    *pp = p;
    return arr;
bad:
    hl_buf_release(&item);
    json_decref(arr);
    return NULL;
}

static json_t *scalar(uint32_t oid, const char *s, size_t len)
{
    /* s is NUL-terminated at len here. */
    switch (oid) {
    case CDC_OID_BOOL:
        return len == 1 && (s[0] == 't' || s[0] == 'f') ? json_boolean(s[0] == 't')
                                                         : as_string(s, len);
    case CDC_OID_INT2:
    case CDC_OID_INT4:
    case CDC_OID_INT8:
    case CDC_OID_OID:
        return integer(s);
    case CDC_OID_FLOAT4:
    case CDC_OID_FLOAT8:
        return floating(s);
    case CDC_OID_NUMERIC:
        return numeric(s);
    case CDC_OID_JSON:
    case CDC_OID_JSONB: {
        json_t *j = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        return j ? j : as_string(s, len);
    }
    case CDC_OID_BYTEA:
        return base64_bytea(s, len);
    case CDC_OID_TIMESTAMP:
        return timestamp(s, len, false);
    case CDC_OID_TIMESTAMPTZ:
        return timestamp(s, len, true);
    default:
        return as_string(s, len);
    }
}

json_t *cdc_value_json(uint32_t oid, const char *text, size_t len)
{
    char *s = hl_xstrndup(text, len);
    json_t *j;
    uint32_t elem = cdc_array_elem(oid);
    if (elem) {
        const char *p = s;
        /* A literal with explicit bounds ("[0:1]={1,2}") starts after the '='. */
        if (*p == '[') {
            const char *eq = strchr(p, '=');
            p = eq ? eq + 1 : p;
        }
        j = array_parse(elem, &p, s + len);
        if (!j || p != s + len) {
            json_decref(j);
            j = as_string(s, len);
        }
    } else {
        j = scalar(oid, s, strlen(s) == len ? len : strlen(s));
    }
    free(s);
    return j;
}
