/* Parsed webhook URLs (see dp_urlcache.h). */
#include "dp_urlcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl/hash.h"
#include "hl/mem.h"
#include "hl/banned.h"

/* The flags libcurl parses CURLOPT_URL with (lib/url.c, parseurlandfillconn). */
#define PARSE_FLAGS (CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME)

struct slot {
    char *url; /* NULL: empty */
    CURLU *parsed; /* NULL when libcurl refused url */
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

void dp_urlcache_free(struct dp_urlcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i <= c->mask; i++) {
        free(c->slots[i].url);
        curl_url_cleanup(c->slots[i].parsed);
    }
    free(c->slots);
    free(c);
}

CURLU *dp_urlcache_get(struct dp_urlcache *c, const char *url)
{
    struct slot *s = &c->slots[hl_hash_str(HL_HASH_INIT, url) & c->mask];
    if (!s->url || strcmp(s->url, url) != 0) {
        free(s->url);
        curl_url_cleanup(s->parsed);
        s->url = hl_xstrdup(url);
        s->parsed = curl_url();
        if (!s->parsed)
            abort();
        if (curl_url_set(s->parsed, CURLUPART_URL, url, PARSE_FLAGS) != CURLUE_OK) {
            curl_url_cleanup(s->parsed);
            s->parsed = NULL;
        }
    }
    if (!s->parsed)
        return NULL;
    CURLU *copy = curl_url_dup(s->parsed);
    if (!copy)
        abort();
    return copy;
}
