/* The "format" checkers of the JSON Schema validator (see hl/jsonschema.h).
 *
 * Hookline asserts formats rather than treating them as annotations, so each checker is a
 * strict hand-written parser of its RFC grammar: no regex, no locale (only ASCII digits
 * count as digits, which the C library's isdigit does not promise), no allocation. The
 * strings may contain NUL bytes, hence the explicit lengths. */
#include "hl/jsonschema.h"

#include <stdint.h>
#include <string.h>

#include "hl/banned.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Reads exactly n digits at s[*i] into *v. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *v)
{
    int x = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || !is_digit(s[*i]))
            return false;
        x = x * 10 + (s[(*i)++] - '0');
    }
    *v = x;
    return true;
}

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* full-date = date-fullyear "-" date-month "-" date-mday (RFC 3339 section 5.6) */
static bool parse_date(const char *s, size_t len, size_t *i)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (!digits(s, len, i, 4, &y) || *i >= len || s[(*i)++] != '-' ||
        !digits(s, len, i, 2, &m) || *i >= len || s[(*i)++] != '-' ||
        !digits(s, len, i, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1)
        return false;
    int max = mdays[m - 1] + (m == 2 && leap_year(y));
    return d <= max;
}

/* full-time = partial-time time-offset. A leap second (:60) is only valid when the time,
 * converted to UTC, is 23:59. */
static bool parse_time(const char *s, size_t len, size_t *i)
{
    int h, mi, sec, oh = 0, om = 0, sign = 0;
    if (!digits(s, len, i, 2, &h) || *i >= len || s[(*i)++] != ':' ||
        !digits(s, len, i, 2, &mi) || *i >= len || s[(*i)++] != ':' ||
        !digits(s, len, i, 2, &sec))
        return false;
    if (h > 23 || mi > 59 || sec > 60)
        return false;
    if (*i < len && s[*i] == '.') {
        (*i)++;
        size_t start = *i;
        while (*i < len && is_digit(s[*i]))
            (*i)++;
        if (*i == start)
            return false;
    }
    if (*i >= len)
        return false;
    char c = s[(*i)++];
    if (c == 'Z' || c == 'z') {
        sign = 0;
    } else if (c == '+' || c == '-') {
        sign = c == '+' ? 1 : -1;
        if (!digits(s, len, i, 2, &oh) || *i >= len || s[(*i)++] != ':' ||
            !digits(s, len, i, 2, &om))
            return false;
        if (oh > 23 || om > 59)
            return false;
    } else {
        return false;
    }
    if (sec == 60) {
        int utc = ((h * 60 + mi) - sign * (oh * 60 + om)) % 1440;
        if (utc < 0)
            utc += 1440;
        if (utc != 23 * 60 + 59)
            return false;
    }
    return true;
}

static bool fmt_date_time(const char *s, size_t len)
{
    size_t i = 0;
    if (!parse_date(s, len, &i) || i >= len || (s[i] != 'T' && s[i] != 't'))
        return false;
    i++;
    return parse_time(s, len, &i) && i == len;
}

static bool fmt_date(const char *s, size_t len)
{
    size_t i = 0;
    return parse_date(s, len, &i) && i == len;
}

static bool fmt_time(const char *s, size_t len)
{
    size_t i = 0;
    return parse_time(s, len, &i) && i == len;
}

/* dotted-quad, each part 0..255 without leading zeros (which some parsers read as octal) */
static bool fmt_ipv4(const char *s, size_t len)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        int v = 0;
        while (i < len && is_digit(s[i]) && i - start < 3)
            v = v * 10 + (s[i++] - '0');
        size_t n = i - start;
        if (n == 0 || v > 255 || (n > 1 && s[start] == '0'))
            return false;
    }
    return i == len;
}

/* RFC 4291 text form: up to 8 groups of 1-4 hex digits, one "::", optionally ending in a
 * dotted quad worth two groups. No zone ids, no prefix lengths. */
static bool fmt_ipv6(const char *s, size_t len)
{
    int groups = 0;
    bool compressed = false;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = true;
        i = 2;
        if (i == len)
            return true;
    } else if (len >= 1 && s[0] == ':') {
        return false;
    }
    while (i < len) {
        size_t start = i;
        while (i < len && is_hex(s[i]) && i - start < 5)
            i++;
        if (i < len && s[i] == '.') {
            /* embedded IPv4 must be last and only digits before the first dot */
            if (!fmt_ipv4(s + start, len - start))
                return false;
            groups += 2;
            i = len;
            break;
        }
        size_t n = i - start;
        if (n == 0 || n > 4)
            return false;
        groups++;
        if (i == len)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < len && s[i] == ':') {
            if (compressed)
                return false;
            compressed = true;
            i++;
            if (i == len)
                break;
        } else if (i == len) {
            return false; /* trailing single colon */
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, each at
 * most 63 octets, 253 in all (a trailing dot allowed). */
static bool fmt_hostname(const char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!(is_alpha(c) || is_digit(c) || c == '-'))
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && s[len - 1] != '-';
}

static bool atext(char c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* RFC 5321 mailbox: dot-atom or quoted local part, then a host name or an address
 * literal ([1.2.3.4] or [IPv6:...]). */
static bool fmt_email(const char *s, size_t len)
{
    size_t i = 0;
    if (len > 0 && s[0] == '"') {
        for (i = 1; i < len && s[i] != '"'; i++) {
            if (s[i] == '\\' && i + 1 < len)
                i++;
            else if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
                return false;
        }
        if (i >= len)
            return false;
        i++;
    } else {
        bool prev_dot = true; /* no leading dot */
        for (; i < len && s[i] != '@'; i++) {
            if (s[i] == '.') {
                if (prev_dot)
                    return false;
                prev_dot = true;
            } else if (atext(s[i])) {
                prev_dot = false;
            } else {
                return false;
            }
        }
        if (i == 0 || prev_dot)
            return false;
    }
    if (i >= len || s[i] != '@')
        return false;
    const char *d = s + i + 1;
    size_t dl = len - i - 1;
    if (dl >= 2 && d[0] == '[' && d[dl - 1] == ']') {
        if (dl > 7 && memcmp(d + 1, "IPv6:", 5) == 0)
            return fmt_ipv6(d + 6, dl - 7);
        return fmt_ipv4(d + 1, dl - 2);
    }
    return fmt_hostname(d, dl);
}

/* 8-4-4-4-12 hex digits, any case, any version */
static bool fmt_uuid(const char *s, size_t len)
{
    if (len != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

static bool unreserved_or_sub(char c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("-._~!$&'()*+,;=", c));
}

/* Checks s[i..end) holds only the allowed characters (unreserved, sub-delims, percent
 * escapes, and those in `extra`). */
static bool uri_chars(const char *s, size_t i, size_t end, const char *extra)
{
    for (; i < end; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= end || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return false;
            i += 2;
        } else if (!unreserved_or_sub(c) && !(c != 0 && strchr(extra, c))) {
            return false;
        }
    }
    return true;
}

/* RFC 3986 absolute URI (a scheme is required; fragment allowed) */
static bool fmt_uri(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0 || !is_alpha(s[0]))
        return false;
    while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' ||
                       s[i] == '.'))
        i++;
    if (i >= len || s[i] != ':')
        return false;
    i++;
    size_t frag = len, query = len;
    for (size_t k = i; k < len; k++)
        if (s[k] == '#') {
            frag = k;
            break;
        }
    for (size_t k = i; k < frag; k++)
        if (s[k] == '?') {
            query = k;
            break;
        }
    size_t path = i;
    if (frag - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        size_t a = i + 2, e = a;
        while (e < query && e < frag && s[e] != '/')
            e++;
        path = e;
        /* authority = [ userinfo "@" ] host [ ":" port ] */
        size_t at = a;
        for (size_t k = a; k < e; k++)
            if (s[k] == '@')
                at = k + 1;
        if (at > a && !uri_chars(s, a, at - 1, ":"))
            return false;
        size_t h = at, he;
        if (h < e && s[h] == '[') {
            he = h;
            while (he < e && s[he] != ']')
                he++;
            if (he >= e)
                return false;
            if (!fmt_ipv6(s + h + 1, he - h - 1))
                return false;
            he++;
        } else {
            he = h;
            while (he < e && s[he] != ':')
                he++;
            if (!uri_chars(s, h, he, ""))
                return false;
        }
        if (he < e) {
            if (s[he] != ':')
                return false;
            for (size_t k = he + 1; k < e; k++)
                if (!is_digit(s[k]))
                    return false;
        }
    }
    if (!uri_chars(s, path, query < frag ? query : frag, ":@/"))
        return false;
    if (query < frag && !uri_chars(s, query + 1, frag, ":@/?"))
        return false;
    if (frag < len && !uri_chars(s, frag + 1, len, ":@/?"))
        return false;
    return true;
}

hl_schema_format_fn hl_schema_format_find(const char *name)
{
    static const struct {
        const char *name;
        hl_schema_format_fn fn;
    } formats[] = {
        {"date-time", fmt_date_time}, {"date", fmt_date}, {"time", fmt_time},
        {"email", fmt_email},         {"uri", fmt_uri},   {"uuid", fmt_uuid},
        {"ipv4", fmt_ipv4},           {"ipv6", fmt_ipv6}, {"hostname", fmt_hostname},
    };
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(formats[i].name, name) == 0)
            return formats[i].fn;
    return NULL;
}
