/* Parsed webhook URLs (see dp_urlcache.h). */
#include "dp_urlcache.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hl/buf.h"
#include "hl/hash.h"
#include "hl/mem.h"
#include "hl/banned.h"

/* The flags libcurl parses CURLOPT_URL with (lib/url.c, parseurlandfillconn). */
#define PARSE_FLAGS (CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)

struct slot {
    char *url; /* NULL: empty */
    CURLU *parsed; /* NULL when libcurl refused url */
    struct dp_url_parts parts; /* when parsed */
};

struct dp_urlcache {
    struct slot *slots;
    size_t mask;
};

struct dp_urlcache *dp_urlcache_new(size_t slots)
{
    size_t n = 1;
    while (n < slots)
        n <<= 1;
    struct dp_urlcache *c = hl_xcalloc(1, sizeof(*c));
    c->slots = hl_xcalloc(n, sizeof(*c->slots));
    c->mask = n - 1;
    return c;
}

static void parts_release(struct dp_url_parts *p)
{
    free(p->key);
    free(p->host_port);
    free(p->target);
    memset(p, 0, sizeof(*p));
}

/* Fills p from u; false when u lacks a part a request needs. */
static bool parts_of(CURLU *u, struct dp_url_parts *p)
{
    char *scheme = NULL, *host = NULL, *port = NULL, *given = NULL, *path = NULL,
         *query = NULL;
    bool ok = false;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_PORT, &given, 0) != CURLUE_OK)
        given = NULL;
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
        query = NULL;
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_addf(&b, "%s://%s:%s", scheme, host, port);
    for (size_t i = 0; i < b.len; i++)
        b.ptr[i] = (char)tolower((unsigned char)b.ptr[i]);
    p->key = hl_buf_detach(&b, NULL);
    /* a default port written out is left out of Host, as libcurl does */
    const char *dflt = strcasecmp(scheme, "https") == 0 ? "443" : "80";
    bool own = given && strcmp(given, dflt) != 0;
    hl_buf_addf(&b, "%s%s%s", host, own ? ":" : "", own ? given : "");
    p->host_port = hl_buf_detach(&b, NULL);
    hl_buf_addf(&b, "%s%s%s", *path ? path : "/", query ? "?" : "", query ? query : "");
    p->target = hl_buf_detach(&b, NULL);
    ok = true;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(given);
    curl_free(path);
    curl_free(query);
    return ok;
}

void dp_urlcache_free(struct dp_urlcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i <= c->mask; i++) {
        free(c->slots[i].url);
        curl_url_cleanup(c->slots[i].parsed);
        parts_release(&c->slots[i].parts);
    }
    free(c->slots);
    free(c);
}

/* url's slot, parsed. */
static struct slot *lookup(struct dp_urlcache *c, const char *url)
{
    struct slot *s = &c->slots[hl_hash_str(HL_HASH_INIT, url) & c->mask];
    if (!s->url || strcmp(s->url, url) != 0) {
        free(s->url);
        curl_url_cleanup(s->parsed);
        parts_release(&s->parts);
        s->url = hl_xstrdup(url);
        s->parsed = curl_url();
        if (!s->parsed)
            abort();
        if (curl_url_set(s->parsed, CURLUPART_URL, url, PARSE_FLAGS) != CURLUE_OK ||
            !parts_of(s->parsed, &s->parts)) {
            curl_url_cleanup(s->parsed);
            s->parsed = NULL;
            parts_release(&s->parts);
        }
    }
    return s;
}

const struct dp_url_parts *dp_urlcache_parts(struct dp_urlcache *c, const char *url)
{
    struct slot *s = lookup(c, url);
    return s->parsed ? &s->parts : NULL;
}

CURLU *dp_urlcache_get(struct dp_urlcache *c, const char *url)
{
    struct slot *s = lookup(c, url);
    if (!s->parsed)
        return NULL;
    CURLU *copy = curl_url_dup(s->parsed);
    if (!copy)
        abort();
    return copy;
}
