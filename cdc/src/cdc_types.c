/* Text form of PostgreSQL values to JSON text (see cdc_types.h). */
#include "cdc_types.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "hl/mem.h"
#include "hl/banned.h"

/* Digits a double carries exactly through decimal -> binary -> decimal (DBL_DIG). */
#define EXACT_DIGITS 15
/* Array nesting PostgreSQL allows (MAXDIM). */
#define MAX_DIMS 6

static const struct {
    uint32_t array, elem;
} arrays[] = {
    {1000, CDC_OID_BOOL},      {1001, CDC_OID_BYTEA},         {1005, CDC_OID_INT2},
    {1007, CDC_OID_INT4},      {1016, CDC_OID_INT8},          {1028, CDC_OID_OID},
    {1009, CDC_OID_TEXT},      {1015, 1043 /* varchar */},    {1014, 1042 /* bpchar */},
    {1021, CDC_OID_FLOAT4},    {1022, CDC_OID_FLOAT8},        {1231, CDC_OID_NUMERIC},
    {1115, CDC_OID_TIMESTAMP}, {1185, CDC_OID_TIMESTAMPTZ},   {199, CDC_OID_JSON},
    {3807, CDC_OID_JSONB},     {2951, 2950 /* uuid */},       {1182, 1082 /* date */},
};

uint32_t cdc_array_elem(uint32_t oid)
{
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
        if (arrays[i].array == oid)
            return arrays[i].elem;
    return 0;
}

/* Valid UTF-8 without NUL (which no PostgreSQL text holds, and which jansson and so the
 * dispatchers refuse by default). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c == 0) {
            return false;
        } else if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* overlong forms, surrogates, beyond Unicode */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += n + 1;
    }
    return true;
}

void cdc_json_string(struct hl_buf *out, const char *s, size_t len)
{
    if (utf8_valid((const unsigned char *)s, len))
        hl_buf_add_json_str(out, s, len);
    else
        hl_buf_adds(out, "\"(not UTF-8)\"");
}

/* A JSON number (RFC 8259 grammar); *digits gets its count of significant digits. */
static bool json_number(const char *s, size_t len, int *digits)
{
    size_t i = 0;
    int sig = 0;
    bool lead = true;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return false;
    if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
        return false;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        if (!(lead && s[i] == '0'))
            lead = false, sig++;
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return false;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (!(lead && s[i] == '0'))
                lead = false, sig++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return false;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (digits)
        *digits = sig;
    return i == len;
}

static void number(struct hl_buf *out, const char *s, size_t len, bool exact_only)
{
    int digits;
    if (json_number(s, len, &digits) && (!exact_only || digits <= EXACT_DIGITS))
        hl_buf_add(out, s, len);
    else
        cdc_json_string(out, s, len); /* NaN, Infinity, or more digits than a double keeps */
}

static void bytea(struct hl_buf *out, const char *s, size_t len)
{
    /* bytea_output 'hex': "\x" then two hex digits per byte. */
    if (len < 2 || s[0] != '\\' || s[1] != 'x' || (len - 2) % 2) {
        cdc_json_string(out, s, len);
        return;
    }
    size_t n = (len - 2) / 2;
    unsigned char *raw = hl_xmalloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        int hi = hl_hex_digit((unsigned char)s[2 + 2 * i]);
        int lo = hl_hex_digit((unsigned char)s[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            free(raw);
            cdc_json_string(out, s, len);
            return;
        }
        raw[i] = (unsigned char)(hi << 4 | lo);
    }
    char *b64 = hl_xmalloc(4 * ((n + 2) / 3) + 1);
    int m = EVP_EncodeBlock((unsigned char *)b64, raw, (int)n);
    hl_buf_add_json_str(out, b64, (size_t)m);
    free(raw);
    free(b64);
}

/* "2026-12-05 12:00:00.123+00" -> "2026-12-05T12:00:00.123Z"; "+05" -> "+05:00"; without
 * a zone (timestamp) only the 'T'. Anything else (infinity, BC) stays as written. */
static void timestamp(struct hl_buf *out, const char *s, size_t len, bool tz)
{
    if (len < 19 || len > 64 || s[10] != ' ' || s[0] < '0' || s[0] > '9' || s[len - 1] == 'C') {
        cdc_json_string(out, s, len);
        return;
    }
    char t[72];
    memcpy(t, s, len);
    t[len] = '\0';
    t[10] = 'T';
    if (tz && len > 3 && strcmp(t + len - 3, "+00") == 0) {
        memcpy(t + len - 3, "Z", 2);
    } else if (tz && len > 3 && (t[len - 3] == '+' || t[len - 3] == '-')) {
        memcpy(t + len, ":00", 4);
    }
    cdc_json_string(out, t, strlen(t));
}

static void scalar(struct hl_buf *out, uint32_t oid, const char *s, size_t len)
{
    switch (oid) {
    case CDC_OID_BOOL:
        if (len == 1 && (s[0] == 't' || s[0] == 'f'))
            hl_buf_adds(out, s[0] == 't' ? "true" : "false");
        else
            cdc_json_string(out, s, len);
        return;
    case CDC_OID_INT2:
    case CDC_OID_INT4:
    case CDC_OID_INT8:
    case CDC_OID_OID:
    case CDC_OID_FLOAT4:
    case CDC_OID_FLOAT8:
        number(out, s, len, false);
        return;
    case CDC_OID_NUMERIC:
        number(out, s, len, true);
        return;
    case CDC_OID_JSON:
    case CDC_OID_JSONB: {
        /* PostgreSQL checked it; checked again so a bad byte cannot break the envelope. */
        json_t *j = json_loadb(s, len, JSON_DECODE_ANY, NULL);
        if (j && utf8_valid((const unsigned char *)s, len))
            hl_buf_add(out, s, len);
        else
            cdc_json_string(out, s, len);
        json_decref(j);
        return;
    }
    case CDC_OID_BYTEA:
        bytea(out, s, len);
        return;
    case CDC_OID_TIMESTAMP:
    case CDC_OID_TIMESTAMPTZ:
        timestamp(out, s, len, oid == CDC_OID_TIMESTAMPTZ);
        return;
    default:
        cdc_json_string(out, s, len);
    }
}

/* Array literal: "{1,2,{3,4}}", elements quoted with "..." and backslash escapes, NULL
 * unquoted. Writes the JSON array; false on a malformed literal (out then holds garbage
 * past its former length, which the caller cuts). */
static bool array(struct hl_buf *out, uint32_t elem, const char **pp, const char *end,
                  int depth)
{
    const char *p = *pp;
    if (p >= end || *p != '{' || depth > MAX_DIMS)
        return false;
    p++;
    hl_buf_addch(out, '[');
    struct hl_buf item = HL_BUF_INIT;
    bool ok = false;
    if (p < end && *p == '}') {
        p++;
        ok = true;
        goto out;
    }
    for (bool first = true;; first = false) {
        if (!first)
            hl_buf_addch(out, ',');
        if (p >= end)
            goto out;
        if (*p == '{') {
            if (!array(out, elem, &p, end, depth + 1))
                goto out;
        } else {
            bool quoted = *p == '"';
            hl_buf_clear(&item);
            if (quoted) {
                for (p++; p < end && *p != '"'; p++) {
                    if (*p == '\\' && p + 1 < end)
                        p++;
                    hl_buf_addch(&item, *p);
                }
                if (p >= end)
                    goto out;
                p++;
            } else {
                while (p < end && *p != ',' && *p != '}')
                    hl_buf_addch(&item, *p++);
            }
            if (!quoted && item.len == 4 && memcmp(item.ptr, "NULL", 4) == 0)
                hl_buf_adds(out, "null");
            else
                scalar(out, elem, item.ptr ? item.ptr : "", item.len);
        }
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            ok = true;
        }
        goto out;
    }
out:
    hl_buf_release(&item);
    if (ok)
        hl_buf_addch(out, ']');
    *pp = p;
    return ok;
}

void cdc_value_write(struct hl_buf *out, uint32_t oid, const char *text, size_t len)
{
    uint32_t elem = cdc_array_elem(oid);
    if (!elem) {
        scalar(out, oid, text, len);
        return;
    }
    size_t mark = out->len;
    const char *p = text, *end = text + len;
    /* A literal with explicit bounds ("[0:1]={1,2}") starts after the '='. */
    if (len && *p == '[') {
        const char *eq = memchr(p, '=', len);
        p = eq ? eq + 1 : p;
    }
    if (!array(out, elem, &p, end, 1) || p != end) {
        out->len = mark;
        if (out->ptr)
            out->ptr[mark] = '\0';
        cdc_json_string(out, text, len);
    }
}
