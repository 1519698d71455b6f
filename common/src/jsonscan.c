/* Scanning JSON text without parsing it (see hl/json.h): finding a member's value span and
 * validating text that is passed on unparsed. They let the dispatcher carry an event's text
 * from one Kafka record into the next (task, attempt record) instead of serializing the
 * parsed event again. */
#include "hl/json.h"

#include <stdint.h>
#include <string.h>

#include "hl/buf.h"
#include "json_text.h"
#include "hl/banned.h"

static size_t skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* Bytes of 8-byte words, for the scans below: a word is read with memcpy (no alignment
 * needed) and tested for a byte value in a few operations instead of one test a byte. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static uint64_t word_at(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* High bit set in each byte of w equal to b (and possibly in a byte above one that is:
 * fine for "is there any"). */
static uint64_t bytes_equal(uint64_t w, unsigned char b)
{
    uint64_t x = w ^ (ONES * b);
    return (x - ONES) & ~x & HIGHS;
}

/* From i, the index of the first byte that is a quote or a backslash (or len): the
 * stretch inside a string that needs no look. */
static size_t to_quote_or_backslash(const unsigned char *t, size_t len, size_t i)
{
    while (i + 8 <= len) {
        uint64_t w = word_at(t + i);
        if (bytes_equal(w, '"') | bytes_equal(w, '\\'))
            break;
        i += 8;
    }
    while (i < len && t[i] != '"' && t[i] != '\\')
        i++;
    return i;
}

/* From i, the index of the first byte that is not printable ASCII other than a quote or
 * a backslash (or len): the stretch of a string that is valid as it is. */
static size_t to_special(const unsigned char *t, size_t len, size_t i)
{
    while (i + 8 <= len) {
        uint64_t w = word_at(t + i);
        uint64_t control = (w - ONES * 0x20) & ~w & HIGHS; /* a byte below 0x20 */
        if ((w & HIGHS) | control | bytes_equal(w, '"') | bytes_equal(w, '\\'))
            break;
        i += 8;
    }
    while (i < len && t[i] >= 0x20 && t[i] < 0x80 && t[i] != '"' && t[i] != '\\')
        i++;
    return i;
}

/* i is at a string's opening quote: returns the index after its closing one, and sets
 * *escaped when the string holds a backslash. */
static size_t skip_string(const char *text, size_t len, size_t i, bool *escaped)
{
    const unsigned char *t = (const unsigned char *)text;
    i++;
    while ((i = to_quote_or_backslash(t, len, i)) < len) {
        if (t[i] == '"')
            return i + 1;
        *escaped = true;
        i += 2; /* the backslash and the byte it escapes */
    }
    return len;
}

/* i is at a value's first byte: returns the index after its last. */
static size_t skip_value(const char *t, size_t len, size_t i)
{
    bool esc = false;
    if (i >= len)
        return len;
    if (t[i] == '"')
        return skip_string(t, len, i, &esc);
    if (t[i] == '{' || t[i] == '[') {
        int depth = 0;
        while (i < len) {
            char c = t[i];
            if (c == '"') {
                i = skip_string(t, len, i, &esc);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return len;
    }
    while (i < len && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\t' &&
           t[i] != '\n' && t[i] != '\r')
        i++;
    return i;
}

/* Which of the nkeys keys is the name of nlen bytes at name; nkeys when none. */
static size_t key_index(const char *const *keys, size_t nkeys, const char *name, size_t nlen)
{
    for (size_t k = 0; k < nkeys; k++)
        if (keys[k][0] == name[0] && strncmp(keys[k], name, nlen) == 0 && keys[k][nlen] == '\0')
            return k;
    return nkeys;
}

bool hl_json_members(const char *text, size_t len, const char *const *keys, size_t nkeys,
                     struct hl_json_span *spans)
{
    size_t i = skip_ws(text, len, 0);
    for (size_t k = 0; k < nkeys; k++)
        spans[k] = (struct hl_json_span){0, 0};
    if (i >= len || text[i] != '{')
        return false;
    i = skip_ws(text, len, i + 1);
    while (i < len && text[i] == '"') {
        bool escaped = false;
        size_t name = i + 1, end = skip_string(text, len, i, &escaped);
        if (escaped)
            return false;
        i = skip_ws(text, len, end);
        if (i >= len || text[i] != ':')
            return false;
        i = skip_ws(text, len, i + 1);
        size_t v = i, nlen = end - 1 - name;
        i = skip_value(text, len, i);
        size_t k = key_index(keys, nkeys, text + name, nlen);
        if (k < nkeys)
            spans[k] = (struct hl_json_span){v, i - v};
        i = skip_ws(text, len, i);
        if (i < len && text[i] == ',')
            i = skip_ws(text, len, i + 1);
    }
    return true;
}

bool hl_json_member_span(const char *text, size_t len, const char *key, size_t *off,
                         size_t *vlen)
{
    struct hl_json_span sp;
    if (!hl_json_members(text, len, &key, 1, &sp) || !sp.len)
        return false;
    *off = sp.off;
    *vlen = sp.len;
    return true;
}

size_t hl_utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    size_t n;
    if (c < 0x80)
        return 1;
    if (c < 0xc2)
        return 0;
    n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
    if (!n || n > avail)
        return 0;
    for (size_t k = 1; k < n; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

long hl_hex4(const unsigned char *p, size_t avail)
{
    long v = 0;
    if (avail < 4)
        return -1;
    for (size_t k = 0; k < 4; k++) {
        int d = hl_hex_digit(p[k]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* t[i] is a string's opening quote: the index after its closing one, 0 when the string is
 * not valid. */
static size_t valid_string(const unsigned char *t, size_t len, size_t i)
{
    for (i++; (i = to_special(t, len, i)) < len;) {
        unsigned c = t[i];
        if (c == '"')
            return i + 1;
        if (c < 0x20)
            return 0;
        if (c != '\\') {
            size_t n = hl_utf8_seq_len(t + i, len - i);
            if (!n)
                return 0;
            i += n;
            continue;
        }
        if (i + 1 >= len)
            return 0;
        c = t[i + 1];
        if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
            c == 't') {
            i += 2;
            continue;
        }
        if (c != 'u')
            return 0;
        long u = i + 2 <= len ? hl_hex4(t + i + 2, len - i - 2) : -1;
        i += 6;
        if (u <= 0 || (u >= 0xdc00 && u <= 0xdfff)) /* \u0000, as jansson; a lone low half */
            return 0;
        if (u >= 0xd800 && u <= 0xdbff) {
            if (i + 1 >= len || t[i] != '\\' || t[i + 1] != 'u')
                return 0;
            long lo = i + 2 <= len ? hl_hex4(t + i + 2, len - i - 2) : -1;
            if (lo < 0xdc00 || lo > 0xdfff)
                return 0;
            i += 6;
        }
    }
    return 0;
}

static size_t digits(const unsigned char *t, size_t len, size_t i)
{
    while (i < len && t[i] >= '0' && t[i] <= '9')
        i++;
    return i;
}

/* t[i] starts a number: the index after it, 0 when it is not a valid one. */
static size_t valid_number(const unsigned char *t, size_t len, size_t i)
{
    size_t d;
    if (t[i] == '-')
        i++;
    if (i >= len || t[i] < '0' || t[i] > '9')
        return 0;
    i = t[i] == '0' ? i + 1 : digits(t, len, i);
    if (i < len && t[i] == '.') {
        d = i + 1;
        if ((i = digits(t, len, d)) == d)
            return 0;
    }
    if (i < len && (t[i] == 'e' || t[i] == 'E')) {
        d = i + 1;
        if (d < len && (t[d] == '+' || t[d] == '-'))
            d++;
        if ((i = digits(t, len, d)) == d)
            return 0;
    }
    return i;
}

/* Where a top-level member's value ends (depth back at 1, inside the top-level object):
 * its span goes to the key of that name, the last of duplicate names winning. */
struct member_watch {
    const char *const *keys;
    size_t nkeys;
    struct hl_json_span *spans;
    size_t name, nlen, value; /* the current top-level member */
};

static void member_done(struct member_watch *m, const char *text, size_t end)
{
    size_t k = key_index(m->keys, m->nkeys, text + m->name, m->nlen);
    if (k < m->nkeys)
        m->spans[k] = (struct hl_json_span){m->value, end - m->value};
}

/* hl_json_valid, and with m, hl_json_members in the same pass: m is then given each
 * top-level member of an object, and the text is refused unless its top level is one
 * whose names have no backslash escape. */
static bool validate(const char *text, size_t len, struct member_watch *m)
{
    const unsigned char *t = (const unsigned char *)text;
    char open[HL_JSON_MAX_DEPTH]; /* the brackets around the current value */
    int depth = 0;
    enum { VALUE, AFTER, NAME } want = VALUE;
    size_t i = skip_ws(text, len, 0);
    if (m && (i >= len || t[i] != '{'))
        return false;
    for (;;) {
        if (want == NAME) {
            size_t name = i + 1;
            if (i >= len || t[i] != '"' || !(i = valid_string(t, len, i)))
                return false;
            if (m && depth == 1) {
                m->name = name;
                m->nlen = i - 1 - name;
                if (memchr(text + name, '\\', m->nlen))
                    return false;
            }
            i = skip_ws(text, len, i);
            if (i >= len || t[i] != ':')
                return false;
            i = skip_ws(text, len, i + 1);
            if (m && depth == 1)
                m->value = i;
            want = VALUE;
        } else if (want == AFTER) {
            i = skip_ws(text, len, i);
            if (depth == 0)
                return i == len;
            char close = open[depth - 1] == '{' ? '}' : ']';
            if (i < len && t[i] == ',') {
                i = skip_ws(text, len, i + 1);
                want = open[depth - 1] == '{' ? NAME : VALUE;
            } else if (i < len && t[i] == (unsigned char)close) {
                depth--;
                i++;
                if (m && depth == 1)
                    member_done(m, text, i);
            } else {
                return false;
            }
        } else {
            if (i >= len)
                return false;
            unsigned c = t[i];
            want = AFTER;
            if (c == '{' || c == '[') {
                if (depth == HL_JSON_MAX_DEPTH)
                    return false;
                open[depth++] = (char)c;
                i = skip_ws(text, len, i + 1);
                if (i < len && t[i] == (c == '{' ? '}' : ']')) {
                    depth--;
                    i++;
                } else {
                    want = c == '{' ? NAME : VALUE;
                    continue;
                }
            } else if (c == '"') {
                if (!(i = valid_string(t, len, i)))
                    return false;
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                if (!(i = valid_number(t, len, i)))
                    return false;
            } else if (i + 4 <= len && (memcmp(t + i, "true", 4) == 0 || memcmp(t + i, "null", 4) == 0)) {
                i += 4;
            } else if (i + 5 <= len && memcmp(t + i, "false", 5) == 0) {
                i += 5;
            } else {
                return false;
            }
            if (m && depth == 1)
                member_done(m, text, i);
        }
    }
}

bool hl_json_valid(const char *text, size_t len)
{
    return validate(text, len, NULL);
}

bool hl_json_valid_members(const char *text, size_t len, const char *const *keys, size_t nkeys,
                           struct hl_json_span *spans)
{
    for (size_t k = 0; k < nkeys; k++)
        spans[k] = (struct hl_json_span){0, 0};
    struct member_watch m = {.keys = keys, .nkeys = nkeys, .spans = spans};
    return validate(text, len, &m);
}

bool hl_json_plain_string(const char *text, struct hl_json_span sp, const char **s, size_t *n)
{
    if (sp.len < 2 || text[sp.off] != '"' || memchr(text + sp.off + 1, '\\', sp.len - 2))
        return false;
    *s = text + sp.off + 1;
    *n = sp.len - 2;
    return true;
}

bool hl_json_span_is_null(const char *text, struct hl_json_span sp)
{
    return sp.len == 4 && memcmp(text + sp.off, "null", 4) == 0;
}
