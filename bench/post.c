/* bench-post: posts single events to the gateway's public API over N keep-alive
 * connections, the way a user's services load it: bench/run scenarios 8 (pipeline: a fixed
 * count) and 9 (live: a fixed duration).
 *
 *   bench-post --url=http://127.0.0.1:PORT --key=<tenant key> --count=50000
 *              [--connections=64] [--types=100] [--duration_s=20]
 *
 * Closed loop: each connection posts its next event as soon as the previous one is
 * answered, until --count events were posted (exactly that many, never more) or
 * --duration_s passed. Event n has type <event_type>.<n mod types> when types > 1 (one
 * webhook per type spreads them), else <event_type>. Prints one JSON line: events posted,
 * answered 2xx, other answers, transport errors, the wall-clock start (so a receiver's
 * last arrival gives first-POST-to-last-receipt), and the latency percentiles of the POSTs.
 * wrk cannot stop at an exact count, which is why this exists. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl/config.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

struct post_cfg {
    char *url;
    char *key;
    char *event_type;
    int64_t count;
    int64_t connections;
    int64_t types;
    int64_t duration_s;
    int64_t payload_bytes;
};

#define O(f) offsetof(struct post_cfg, f)
static const struct hl_cfg_opt opts[] = {
    {"url", HL_CFG_STR, O(url), "http://127.0.0.1:8080", 0, 0, "the gateway's base URL"},
    {"key", HL_CFG_STR, O(key), "", 0, 0, "a tenant API key that may post events"},
    {"event_type", HL_CFG_STR, O(event_type), "bench.ping", 0, 0, "event type (or its stem)"},
    {"count", HL_CFG_INT, O(count), "50000", 0, 1000000000,
     "events to post; 0: no limit (then --duration_s ends the run)"},
    {"connections", HL_CFG_INT, O(connections), "64", 1, 4096, "keep-alive connections"},
    {"types", HL_CFG_INT, O(types), "1", 1, 1000000,
     "with N > 1, event n has type <event_type>.<n mod N>"},
    {"duration_s", HL_CFG_INT, O(duration_s), "0", 0, 86400,
     "stop posting after this many seconds; 0: only --count ends the run"},
    {"payload_bytes", HL_CFG_INT, O(payload_bytes), "200", 0, 1000000, "padding in data"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* One connection's request in flight. */
struct slot {
    CURL *easy;
    char *body;
    int64_t started_us;
};

struct run {
    const struct post_cfg *cfg;
    CURLM *multi;
    struct curl_slist *headers;
    char *pad;
    int64_t posted, ok, non2xx, errors;
    int64_t deadline_us;
    uint32_t *lat_us; /* one latency per answered POST */
    size_t nlat, caplat;
};

static size_t discard(char *p, size_t size, size_t n, void *unused)
{
    (void)p;
    (void)unused;
    return size * n;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool more_to_post(const struct run *r)
{
    if (r->cfg->count > 0 && r->posted >= r->cfg->count)
        return false;
    return r->deadline_us == 0 || hl_mono_us() < r->deadline_us;
}

/* Starts the next POST on s; false when nothing is left to post. */
static bool post_next(struct run *r, struct slot *s)
{
    char type[256];
    const struct post_cfg *c = r->cfg;

    if (!more_to_post(r))
        return false;
    if (c->types > 1)
        snprintf(type, sizeof(type), "%s.%" PRId64, c->event_type, r->posted % c->types);
    else
        snprintf(type, sizeof(type), "%s", c->event_type);
    snprintf(s->body, (size_t)c->payload_bytes + 512,
             "{\"event\":\"%s\",\"data\":{\"seq\":%" PRId64 ",\"pad\":\"%s\"}}", type,
             r->posted, r->pad);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    s->started_us = hl_mono_us();
    r->posted++;
    curl_multi_add_handle(r->multi, s->easy);
    return true;
}

static void record(struct run *r, struct slot *s, CURLcode res)
{
    long status = 0;

    if (res != CURLE_OK) {
        r->errors++;
        return;
    }
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        r->ok++;
    else
        r->non2xx++;
    if (r->nlat == r->caplat) {
        r->caplat = r->caplat ? r->caplat * 2 : 65536;
        r->lat_us = hl_xrealloc(r->lat_us, r->caplat * sizeof(*r->lat_us));
    }
    r->lat_us[r->nlat++] = (uint32_t)(hl_mono_us() - s->started_us);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t pct(const struct run *r, double p)
{
    if (r->nlat == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(r->nlat - 1) + 0.5);
    return r->lat_us[i];
}

int main(int argc, char **argv)
{
    struct post_cfg cfg;
    struct run r;
    struct slot *slots = NULL;
    char err[512], url[1024], auth[1024];
    int rc = 1, running;

    hl_log_set_service("bench-post");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: bench-post [--option=value ...]\n\noptions:\n");
            hl_cfg_usage(stdout, opts, NOPTS);
            return 0;
        }
    memset(&cfg, 0, sizeof(cfg));
    memset(&r, 0, sizeof(r));
    if (hl_cfg_load(opts, NOPTS, &cfg, argc - 1, argv + 1, err, sizeof(err))) {
        fprintf(stderr, "bench-post: %s\n", err);
        return 1;
    }
    if (cfg.count == 0 && cfg.duration_s == 0) {
        fprintf(stderr, "bench-post: give --count, --duration_s or both\n");
        goto out;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r.cfg = &cfg;
    r.pad = hl_xmalloc((size_t)cfg.payload_bytes + 1);
    memset(r.pad, 'x', (size_t)cfg.payload_bytes);
    r.pad[cfg.payload_bytes] = '\0';
    snprintf(url, sizeof(url), "%s/api/v1/events", cfg.url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg.key);
    r.headers = curl_slist_append(r.headers, auth);
    r.headers = curl_slist_append(r.headers, "Content-Type: application/json");
    r.multi = curl_multi_init();
    curl_multi_setopt(r.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg.connections);
    curl_multi_setopt(r.multi, CURLMOPT_MAXCONNECTS, (long)cfg.connections);
    slots = hl_xcalloc((size_t)cfg.connections, sizeof(*slots));
    for (int64_t i = 0; i < cfg.connections; i++) {
        CURL *e = curl_easy_init();
        slots[i].easy = e;
        slots[i].body = hl_xmalloc((size_t)cfg.payload_bytes + 512);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r.headers);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &slots[i]);
    }

    int64_t start_wall = wall_us(), start = hl_mono_us();
    if (cfg.duration_s > 0)
        r.deadline_us = start + cfg.duration_s * 1000000;
    for (int64_t i = 0; i < cfg.connections; i++)
        post_next(&r, &slots[i]);
    for (;;) {
        CURLMsg *m;
        int left;
        curl_multi_perform(r.multi, &running);
        while ((m = curl_multi_info_read(r.multi, &left))) {
            struct slot *s;
            if (m->msg != CURLMSG_DONE)
                continue;
            CURLcode res = m->data.result;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_multi_remove_handle(r.multi, m->easy_handle);
            record(&r, s, res);
            if (post_next(&r, s))
                running++;
        }
        if (running == 0)
            break;
        curl_multi_poll(r.multi, NULL, 0, 100, NULL);
    }
    double secs = (double)(hl_mono_us() - start) / 1e6;

    qsort(r.lat_us, r.nlat, sizeof(*r.lat_us), cmp_u32);
    printf("{\"posted\":%" PRId64 ",\"accepted\":%" PRId64 ",\"non2xx\":%" PRId64
           ",\"errors\":%" PRId64 ",\"seconds\":%.3f,\"start_us\":%" PRId64
           ",\"posts_per_s\":%.1f,\"latency_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,"
           "\"p999\":%u,\"max\":%u}}\n",
           r.posted, r.ok, r.non2xx, r.errors, secs, start_wall,
           secs > 0 ? (double)r.posted / secs : 0.0, pct(&r, 50), pct(&r, 90), pct(&r, 99),
           pct(&r, 99.9), pct(&r, 100));
    rc = 0;
out:
    for (int64_t i = 0; slots && i < cfg.connections; i++) {
        curl_easy_cleanup(slots[i].easy);
        free(slots[i].body);
    }
    free(slots);
    if (r.multi)
        curl_multi_cleanup(r.multi);
    curl_slist_free_all(r.headers);
    free(r.pad);
    free(r.lat_us);
    hl_cfg_release(opts, NOPTS, &cfg);
    return rc;
}
