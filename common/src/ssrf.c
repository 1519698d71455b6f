/* SSRF address classifier and CIDR allow-list (see hl/ssrf.h).
 *
 * Everything works on raw network-order bytes: an IPv4 address is 4 bytes, an IPv6 one 16,
 * and a range is (bytes, prefix length). IPv6 forms that carry an IPv4 address are
 * unwrapped and the inner address judged by the IPv4 table, so ::ffff:10.0.0.1 is as
 * private as 10.0.0.1. */
#include "hl/ssrf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hl/banned.h"

struct hl_ssrf_allowlist hl_ssrf_allow;

struct range {
    unsigned char net[16];
    unsigned prefix;
    const char *what;
};

/* First match wins: 255.255.255.255 before the 240/4 it lies in. */
static const struct range v4_blocked[] = {
    {{255, 255, 255, 255}, 32, "the broadcast address"},
    {{0}, 8, "a \"this network\" address"},
    {{10}, 8, "a private address"},
    {{100, 64}, 10, "a shared (CGNAT) address"},
    {{127}, 8, "a loopback address"},
    {{169, 254}, 16, "a link-local address"},
    {{172, 16}, 12, "a private address"},
    {{192, 0, 0}, 24, "an IETF protocol assignment address"},
    {{192, 168}, 16, "a private address"},
    {{198, 18}, 15, "a benchmarking address"},
    {{224}, 4, "a multicast address"},
    {{240}, 4, "a reserved address"},
};

static const struct range v6_blocked[] = {
    {{0}, 128, "the unspecified address"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "a loopback address"},
    {{0xfe, 0x80}, 10, "a link-local address"},
    {{0xfe, 0xc0}, 10, "a site-local address"},
    {{0xfc}, 7, "a unique-local address"},
    {{0xff}, 8, "a multicast address"},
};

/* IPv6 ranges that embed an IPv4 address at byte `at`. ::/96 last: :: and ::1 are judged
 * by v6_blocked first. */
struct embedding {
    unsigned char net[16];
    unsigned prefix;
    unsigned at;
    const char *what;
};

static const struct embedding v6_embeddings[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 12, "IPv4-mapped"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 12, "IPv4-translated"},
    {{0x00, 0x64, 0xff, 0x9b}, 96, 12, "NAT64"},
    {{0x20, 0x02}, 16, 2, "6to4"},
    {{0}, 96, 12, "IPv4-compatible"},
};

#define IS_MAPPED(e) ((e) == &v6_embeddings[0])

static bool in_prefix(const unsigned char *a, const unsigned char *net, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, net, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

static bool covers(const struct hl_ssrf_allowlist *allow, int family, const unsigned char *a)
{
    if (!allow)
        return false;
    for (size_t i = 0; i < allow->n; i++)
        if (allow->cidr[i].family == family &&
            in_prefix(a, allow->cidr[i].net, allow->cidr[i].prefix))
            return true;
    return false;
}

/* Whether a lies in a range of table; why then gets "a loopback address (127.0.0.0/8)". */
static bool range_match(const struct range *table, size_t n, int family,
                        const unsigned char *a, char *why, size_t whylen)
{
    char net[INET6_ADDRSTRLEN];
    for (size_t i = 0; i < n; i++) {
        if (!in_prefix(a, table[i].net, table[i].prefix))
            continue;
        inet_ntop(family, table[i].net, net, sizeof(net));
        snprintf(why, whylen, "%s (%s/%u)", table[i].what, net, table[i].prefix);
        return true;
    }
    return false;
}

/* Whether a (4 or 16 bytes) is blocked; why gets the reason without the subject. */
static bool judge(int family, const unsigned char *a, const struct hl_ssrf_allowlist *allow,
                  char *why, size_t whylen)
{
    if (covers(allow, family, a))
        return false;
    if (family == AF_INET)
        return range_match(v4_blocked, sizeof(v4_blocked) / sizeof(v4_blocked[0]), AF_INET, a,
                           why, whylen);
    if (range_match(v6_blocked, sizeof(v6_blocked) / sizeof(v6_blocked[0]), AF_INET6, a, why,
                    whylen))
        return true;
    for (size_t i = 0; i < sizeof(v6_embeddings) / sizeof(v6_embeddings[0]); i++) {
        const struct embedding *e = &v6_embeddings[i];
        if (!in_prefix(a, e->net, e->prefix))
            continue;
        const unsigned char *v4 = a + e->at;
        char inner[128], text[INET_ADDRSTRLEN];
        /* A mapped address is the IPv4 destination itself; the others pass through a
         * translator, which the allow-list must name on its own. */
        if (IS_MAPPED(e) ? !judge(AF_INET, v4, allow, inner, sizeof(inner))
                         : !range_match(v4_blocked, sizeof(v4_blocked) / sizeof(v4_blocked[0]),
                                        AF_INET, v4, inner, sizeof(inner)))
            return false;
        inet_ntop(AF_INET, v4, text, sizeof(text));
        snprintf(why, whylen, "%s %s, %s", e->what, text, inner);
        return true;
    }
    return false;
}

/* The address bytes of sa, or NULL for another family. */
static const unsigned char *addr_bytes(const struct sockaddr *sa, int *family)
{
    *family = sa->sa_family;
    if (sa->sa_family == AF_INET)
        return (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    if (sa->sa_family == AF_INET6)
        return (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)sa)
            ->sin6_addr;
    return NULL;
}

bool hl_ssrf_allowlist_covers(const struct hl_ssrf_allowlist *allow, const struct sockaddr *sa)
{
    int family;
    const unsigned char *a = addr_bytes(sa, &family);
    return a && covers(allow, family, a);
}

bool hl_ssrf_blocked(const struct sockaddr *sa, const struct hl_ssrf_allowlist *allow,
                     char *errbuf, size_t errlen)
{
    int family;
    const unsigned char *a = addr_bytes(sa, &family);
    char why[256], text[INET6_ADDRSTRLEN];
    if (!a) {
        snprintf(errbuf, errlen, "address family %d is not allowed", family);
        return true;
    }
    if (!judge(family, a, allow, why, sizeof(why)))
        return false;
    inet_ntop(family, a, text, sizeof(text));
    snprintf(errbuf, errlen, "%s is %s", text, why);
    return true;
}

/* --- the allow-list ------------------------------------------------------------------- */

static hl_err parse_cidr(const char *s, size_t len, struct hl_cidr *c, char *errbuf,
                         size_t errlen)
{
    char text[INET6_ADDRSTRLEN + 8];
    if (len == 0 || len >= sizeof(text)) {
        if (len)
            snprintf(errbuf, errlen, "ssrf_allowlist: overlong entry '%.*s'",
                     (int)(len > 64 ? 64 : len), s);
        else
            snprintf(errbuf, errlen, "ssrf_allowlist: empty entry (a stray comma?)");
        return HL_EINVAL;
    }
    memcpy(text, s, len);
    text[len] = '\0';
    char *slash = strchr(text, '/');
    if (slash)
        *slash = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, text, c->net) == 1) {
        c->family = AF_INET;
        c->prefix = 32;
    } else if (inet_pton(AF_INET6, text, c->net) == 1) {
        c->family = AF_INET6;
        c->prefix = 128;
    } else {
        snprintf(errbuf, errlen,
                 "ssrf_allowlist: '%.*s' is not an IP address or CIDR (want e.g. "
                 "127.0.0.0/8 or ::1/128)",
                 (int)len, s);
        return HL_EINVAL;
    }
    if (slash) {
        const char *p = slash + 1;
        unsigned v = 0;
        size_t digits = 0;
        for (; isdigit((unsigned char)*p) && digits < 4; p++, digits++)
            v = v * 10 + (unsigned)(*p - '0');
        if (digits == 0 || *p || v > c->prefix) {
            snprintf(errbuf, errlen, "ssrf_allowlist: '%.*s': prefix length must be 0..%u",
                     (int)len, s, c->prefix);
            return HL_EINVAL;
        }
        c->prefix = v;
    }
    unsigned char masked[16];
    unsigned nbytes = c->family == AF_INET ? 4 : 16;
    bool host_bits = false;
    memcpy(masked, c->net, sizeof(masked));
    for (unsigned bit = c->prefix; bit < nbytes * 8; bit++) {
        host_bits |= (masked[bit / 8] & (0x80 >> (bit % 8))) != 0;
        masked[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
    }
    if (host_bits) {
        char net[INET6_ADDRSTRLEN];
        inet_ntop(c->family, masked, net, sizeof(net));
        snprintf(errbuf, errlen,
                 "ssrf_allowlist: '%.*s' has host bits set (did you mean %s/%u?)", (int)len, s,
                 net, c->prefix);
        return HL_EINVAL;
    }
    return HL_OK;
}

hl_err hl_ssrf_allowlist_parse(const char *list, struct hl_ssrf_allowlist *out, char *errbuf,
                               size_t errlen)
{
    out->n = 0;
    const char *p = list ? list : "";
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return HL_OK;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (out->n == HL_SSRF_ALLOW_MAX) {
            snprintf(errbuf, errlen, "ssrf_allowlist: more than %d entries", HL_SSRF_ALLOW_MAX);
            out->n = 0;
            return HL_EINVAL;
        }
        if (parse_cidr(b, (size_t)(e - b), &out->cidr[out->n], errbuf, errlen) != HL_OK) {
            out->n = 0;
            return HL_EINVAL;
        }
        out->n++;
        if (!*end)
            return HL_OK;
        p = end + 1;
    }
}

/* --- hosts as written in URLs ---------------------------------------------------------- */

/* One part of a numeric IPv4 host: 0x-prefixed hex (digits optional, as resolvers and the
 * WHATWG URL standard read "0x"), 0-prefixed octal, or decimal. Values beyond 32 bits
 * saturate at 2^32, which no position accepts. */
static bool ipv4_part(const char *s, size_t len, uint64_t *out)
{
    unsigned base = 10;
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        len -= 2;
    } else if (len >= 2 && s[0] == '0') {
        base = 8;
        s++;
        len--;
    } else if (len == 0) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        int c = tolower((unsigned char)s[i]);
        unsigned d = isdigit(c)                ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? 10u + (unsigned)(c - 'a')
                                            : 99u;
        if (d >= base)
            return false;
        v = v * base + d;
        if (v > UINT32_MAX)
            v = (uint64_t)UINT32_MAX + 1;
    }
    *out = v;
    return true;
}

/* inet_aton's grammar (1 to 4 parts, the last filling the remaining bytes), which is what
 * getaddrinfo and browsers accept; one trailing dot allowed. */
static bool parse_ipv4(const char *host, unsigned char out[4])
{
    size_t len = strlen(host);
    if (len && host[len - 1] == '.')
        len--;
    uint64_t parts[4];
    size_t n = 0;
    const char *p = host, *end = host + len;
    while (p < end || n == 0) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *stop = dot ? dot : end;
        if (n == 4 || !ipv4_part(p, (size_t)(stop - p), &parts[n]))
            return false;
        n++;
        if (!dot)
            break;
        p = dot + 1;
        if (p == end)
            return false; /* "1.2.." */
    }
    uint64_t v = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (parts[i] > 255)
            return false;
        v |= parts[i] << (8 * (3 - i));
    }
    uint64_t last_max = (n == 1 ? UINT64_C(1) << 32 : UINT64_C(1) << (8 * (5 - n))) - 1;
    if (parts[n - 1] > last_max)
        return false;
    v |= parts[n - 1];
    for (int i = 0; i < 4; i++)
        out[i] = (unsigned char)(v >> (8 * (3 - i)));
    return true;
}

static bool is_localhost(const char *host)
{
    size_t len = strlen(host);
    if (len && host[len - 1] == '.')
        len--;
    static const char lh[] = "localhost";
    size_t k = sizeof(lh) - 1;
    if (len < k || strncasecmp(host + len - k, lh, k) != 0)
        return false;
    return len == k || host[len - k - 1] == '.';
}

static void set_v4(struct sockaddr_storage *ss, const unsigned char a[4])
{
    struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
    memset(ss, 0, sizeof(*ss));
    sin->sin_family = AF_INET;
    memcpy(&sin->sin_addr, a, 4);
}

static void set_v6(struct sockaddr_storage *ss, const unsigned char a[16])
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;
    memset(ss, 0, sizeof(*ss));
    sin6->sin6_family = AF_INET6;
    memcpy(&sin6->sin6_addr, a, 16);
}

size_t hl_ssrf_host_addrs(const char *host, struct sockaddr_storage out[2])
{
    unsigned char a[16];
    char text[INET6_ADDRSTRLEN + 64];
    size_t len = strlen(host);

    if (is_localhost(host)) {
        static const unsigned char lo4[4] = {127, 0, 0, 1};
        static const unsigned char lo6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        set_v4(&out[0], lo4);
        set_v6(&out[1], lo6);
        return 2;
    }
    if (parse_ipv4(host, a)) {
        set_v4(&out[0], a);
        return 1;
    }
    if (len && host[0] == '[') {
        if (len < 2 || host[len - 1] != ']')
            return 0;
        host++;
        len -= 2;
    } else if (!memchr(host, ':', len)) {
        return 0;
    }
    if (len >= sizeof(text))
        return 0;
    memcpy(text, host, len);
    text[len] = '\0';
    char *zone = strchr(text, '%');
    if (zone)
        *zone = '\0';
    if (inet_pton(AF_INET6, text, a) != 1)
        return 0;
    set_v6(&out[0], a);
    return 1;
}

bool hl_ssrf_host_blocked(const char *host, const struct hl_ssrf_allowlist *allow,
                          char *errbuf, size_t errlen)
{
    struct sockaddr_storage addrs[2];
    size_t n = hl_ssrf_host_addrs(host, addrs);
    for (size_t i = 0; i < n; i++) {
        char why[320];
        if (!hl_ssrf_blocked((const struct sockaddr *)&addrs[i], allow, why, sizeof(why)))
            continue;
        snprintf(errbuf, errlen, "host '%s' is not allowed: %s", host, why);
        return true;
    }
    return false;
}
