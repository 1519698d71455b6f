/* Webhook URLs parsed once for libcurl, not at every attempt.
 *
 * Given a URL as text (CURLOPT_URL), libcurl parses it again for each transfer: about
 * 13,000 instructions per attempt on a typical webhook URL, 5 % of a delivery
 * (docs/performance.md). Given a parsed URL handle (CURLOPT_CURLU) it only copies it.
 * This cache keeps the parsed handles of the URLs attempts went to lately: a fixed number
 * of slots, each URL in the slot its hash picks, a newcomer replacing what was there, so
 * memory stays bounded however many webhooks there are.
 *
 * An attempt gets its own copy: a slot may be replaced while an attempt that has not
 * started yet refers to the handle, and libcurl reads it only when the transfer starts.
 * URLs are parsed with the flags libcurl uses for CURLOPT_URL. One thread only. */
#ifndef DP_URLCACHE_H
#define DP_URLCACHE_H

#include <stddef.h>

#include <curl/curl.h>

struct dp_urlcache;

/* slots: rounded up to a power of two */
struct dp_urlcache *dp_urlcache_new(size_t slots);
void dp_urlcache_free(struct dp_urlcache *c);

/* A parsed copy of url for one attempt, to set as CURLOPT_CURLU and to release with
 * curl_url_cleanup after the easy handle is removed from its multi handle. NULL when
 * libcurl does not take url apart: set CURLOPT_URL instead, and libcurl reports why
 * as it always did. */
CURLU *dp_urlcache_get(struct dp_urlcache *c, const char *url);

/* What an HTTP/1.1 request and the connection pool need of a URL (dp_conn.h). */
struct dp_url_parts {
    char *key;       /* "scheme://host:port", lower case, the port always given: which
                        connections may carry a request to this URL */
    char *host_port; /* the Host header's value: the host, with ":port" when the URL names
                        a port other than the scheme's default */
    char *target;    /* the path, with "?query" when there is one */
};

/* url's parts, valid until the next call on c; NULL when libcurl does not take url apart. */
const struct dp_url_parts *dp_urlcache_parts(struct dp_urlcache *c, const char *url);

#endif
