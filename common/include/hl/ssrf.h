/* SSRF protection: which network addresses a delivery may connect to.
 *
 * A webhook URL is chosen by a tenant, so without a check it could make the dispatcher
 * talk to the operator's own network: loopback services, RFC 1918 hosts, the cloud
 * metadata endpoint at 169.254.169.254. The decision is made twice:
 *  - at creation, on the URL's host when it is a literal address or `localhost`
 *    (hl_ssrf_host_blocked, via hl_url_validate), so an obviously bad URL is refused with
 *    a 422 instead of failing every delivery;
 *  - at delivery, on the address libcurl is about to connect to (the dispatcher's
 *    CURLOPT_OPENSOCKETFUNCTION calls hl_ssrf_blocked), after DNS, so neither a name that
 *    resolves to a private address nor DNS rebinding gets through.
 *
 * Blocked: 0.0.0.0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0.0/24,
 * 192.168/16, 198.18/15, 224/4, 240/4 (with 255.255.255.255); ::, ::1, fe80::/10,
 * fec0::/10, fc00::/7, ff00::/8; and IPv6 addresses that embed an IPv4 address
 * (::ffff:0:0/96 mapped, ::ffff:0:0:0/96 translated, ::/96 compatible, 64:ff9b::/96 NAT64,
 * 2002::/16 6to4) when the embedded address is blocked. An allow-list of CIDRs (the common
 * option ssrf_allowlist) overrides all of this: the dev stack and the tests allow loopback.
 * An IPv4-mapped address is covered by the allow-list when its IPv4 address is (it is the
 * same destination); the other embeddings are not. */
#ifndef HL_SSRF_H
#define HL_SSRF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "hl/err.h"

#define HL_SSRF_ALLOW_MAX 64

struct hl_cidr {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char net[16];  /* network address, host bits cleared; 4 bytes for AF_INET */
    unsigned prefix;        /* 0..32 or 0..128 */
};

struct hl_ssrf_allowlist {
    size_t n;
    struct hl_cidr cidr[HL_SSRF_ALLOW_MAX];
};

/* The process's allow-list, parsed from the common option ssrf_allowlist by
 * hl_common_cfg_apply() before any thread starts, read-only afterwards. Empty by default:
 * everything in the blocked ranges is refused. */
extern struct hl_ssrf_allowlist hl_ssrf_allow;

/* Parses "127.0.0.0/8,::1/128" (comma-separated; spaces around entries are ignored; an
 * entry without /N is a single address; NULL or "" is the empty list). Refuses host bits
 * set beyond the prefix ("10.0.0.1/8"), since that is usually a typo for a narrower range.
 * Returns HL_OK, or HL_EINVAL naming the bad entry in errbuf (out is then empty). */
hl_err hl_ssrf_allowlist_parse(const char *list, struct hl_ssrf_allowlist *out, char *errbuf,
                               size_t errlen);

/* Whether some entry of allow contains sa (AF_INET or AF_INET6; false for anything else). */
bool hl_ssrf_allowlist_covers(const struct hl_ssrf_allowlist *allow, const struct sockaddr *sa);

/* Whether a connection to sa must be refused. When it must, errbuf says why, naming the
 * address and its range ("169.254.169.254 is link-local (169.254.0.0/16)"). Families other
 * than AF_INET and AF_INET6 are refused. allow may be NULL (empty).
 * @locality any thread: reads only its arguments. */
bool hl_ssrf_blocked(const struct sockaddr *sa, const struct hl_ssrf_allowlist *allow,
                     char *errbuf, size_t errlen);

/* Reads a URL's host as written into the addresses it denotes without DNS: dotted IPv4 in
 * all the spellings resolvers accept (decimal 2130706433, octal 0177.0.0.1, hex 0x7f.1,
 * short forms 127.1, a trailing dot), IPv6 with or without brackets (a %zone is ignored),
 * and `localhost` / `*.localhost` (RFC 6761: always loopback, so 127.0.0.1 and ::1).
 * Writes up to 2 addresses into out and returns how many; 0 for a name only DNS can
 * answer. */
size_t hl_ssrf_host_addrs(const char *host, struct sockaddr_storage out[2]);

/* hl_ssrf_blocked for every address hl_ssrf_host_addrs finds in host; false for a name
 * that needs DNS (it is checked when connecting). */
bool hl_ssrf_host_blocked(const char *host, const struct hl_ssrf_allowlist *allow,
                          char *errbuf, size_t errlen);

#endif
