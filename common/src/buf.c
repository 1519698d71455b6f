/* Growable NUL-terminated byte buffer. */
#include "hl/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hl/mem.h"
#include "hl/banned.h"

void hl_buf_init(struct hl_buf *b)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void hl_buf_release(struct hl_buf *b)
{
    free(b->ptr);
    hl_buf_init(b);
}

void hl_buf_wipe(struct hl_buf *b)
{
    if (b->ptr)
        OPENSSL_cleanse(b->ptr, b->cap);
    hl_buf_release(b);
}

void hl_buf_clear(struct hl_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

void hl_buf_grow(struct hl_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->ptr = hl_xrealloc(b->ptr, cap);
    b->cap = cap;
}

void hl_buf_add(struct hl_buf *b, const void *data, size_t len)
{
    hl_buf_grow(b, len);
    memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}

void hl_buf_adds(struct hl_buf *b, const char *s)
{
    hl_buf_add(b, s, strlen(s));
}

void hl_buf_addch(struct hl_buf *b, char c)
{
    hl_buf_add(b, &c, 1);
}

void hl_buf_vaddf(struct hl_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    hl_buf_grow(b, 64);
    int n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        hl_buf_grow(b, (size_t)n);
        vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void hl_buf_addf(struct hl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hl_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

/* The digits of v, ending at end (exclusive); returns where they start. */
static char *u64_digits(unsigned long long v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* |v| in unsigned arithmetic: LLONG_MIN has no positive counterpart. */
static unsigned long long magnitude(long long v)
{
    return v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
}

size_t hl_i64_str(long long v, char out[HL_INT_STR_MAX])
{
    char tmp[HL_INT_STR_MAX];
    char *p = u64_digits(magnitude(v), tmp + sizeof(tmp));
    if (v < 0)
        *--p = '-';
    size_t n = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

void hl_buf_add_u64(struct hl_buf *b, unsigned long long v)
{
    char tmp[HL_INT_STR_MAX];
    char *p = u64_digits(v, tmp + sizeof(tmp));
    hl_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void hl_buf_add_i64(struct hl_buf *b, long long v)
{
    char tmp[HL_INT_STR_MAX];
    hl_buf_add(b, tmp, hl_i64_str(v, tmp));
}

void hl_buf_add_json_key(struct hl_buf *b, const char *key)
{
    size_t n = strlen(key);
    hl_buf_grow(b, n + 4);
    char *p = b->ptr + b->len;
    p[0] = ',';
    p[1] = '"';
    memcpy(p + 2, key, n);
    p[n + 2] = '"';
    p[n + 3] = ':';
    p[n + 4] = '\0';
    b->len += n + 4;
}

/* Bytes a JSON string literal cannot hold as they are: controls, '"' and '\\'. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1,
};

void hl_buf_add_json_str(struct hl_buf *b, const char *s, size_t len)
{
    /* The escapes are jansson's (json_dumps without flags), so text written here and text
     * written by jansson agree byte for byte. */
    static const char hex[] = "0123456789ABCDEF";
    hl_buf_grow(b, len + 2);
    b->ptr[b->len++] = '"';
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!needs_escape[c])
            continue;
        hl_buf_add(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': hl_buf_add(b, "\\\"", 2); break;
        case '\\': hl_buf_add(b, "\\\\", 2); break;
        case '\b': hl_buf_add(b, "\\b", 2); break;
        case '\f': hl_buf_add(b, "\\f", 2); break;
        case '\n': hl_buf_add(b, "\\n", 2); break;
        case '\r': hl_buf_add(b, "\\r", 2); break;
        case '\t': hl_buf_add(b, "\\t", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            hl_buf_add(b, esc, 6);
        }
        }
    }
    /* The last run and the closing quote: one growth check for both. */
    size_t n = len - run;
    hl_buf_grow(b, n + 1);
    memcpy(b->ptr + b->len, s + run, n);
    b->len += n;
    b->ptr[b->len++] = '"';
    b->ptr[b->len] = '\0';
}

char *hl_buf_detach(struct hl_buf *b, size_t *len)
{
    if (!b->ptr)
        hl_buf_grow(b, 0), b->ptr[0] = '\0';
    char *p = b->ptr;
    if (len)
        *len = b->len;
    hl_buf_init(b);
    return p;
}

const char *hl_buf_str(const struct hl_buf *b)
{
    return b->ptr ? b->ptr : "";
}

int hl_hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
