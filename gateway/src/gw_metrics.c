/* The gateway's metrics (see gw_metrics.h). Route templates come from the path: a segment
 * that is one of the API's own words stays, anything else (an id, a name) becomes {id},
 * and a path of unknown shape is "other", so the label's values are bounded whatever
 * clients send. Each worker thread caches the series of the routes it served, so a
 * request costs a template, a short cache scan and three atomic adds. */
#include "gw_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "gw_config.h"
#include "gw_producer.h"
#include "gw_req.h"
#include "hl/buf.h"
#include "hl/metrics.h"
#include "hl/mgstop.h"
#include "hl/time.h"
#include "hl/banned.h"

#define TEMPLATE_MAX 128
#define MAX_SEGMENTS 6
#define CACHE_SIZE 32

/* Every literal path segment of the API; anything else in a path is an identifier. */
#define W(s) {s, sizeof(s) - 1}
static const struct {
    const char *s;
    size_t n;
} words[] = {
    W("api"),     W("v1"),         W("admin"),        W("developer"), W("webhooks"),
    W("events"),  W("batch"),      W("tenants"),      W("api-keys"),  W("event-types"),
    W("deliveries"), W("extensions"), W("sources"),   W("incoming"),  W("openapi.json"),
    W("available"), W("retry"),    W("attempts"),     W("pause"),     W("resume"),
    W("rotate-secret"), W("test"), W("replay"),       W("stats"),     W("verification"),
    W("secret"),  W("data"),       W("healthz"),      W("readyz"),    W("metrics"),
};
#undef W

/* Events by outcome and reason, created at start: counting one is an atomic add. */
enum { EV_NEW, EV_DUPLICATE, EV_INVALID, EV_CONFLICT, EV_TOO_LARGE, EV_UNPROCESSABLE,
       EV_UNAVAILABLE, EV_OTHER, EV_N };
static const char *const event_labels[EV_N] = {
    "outcome=\"accepted\",reason=\"new\"",
    "outcome=\"accepted\",reason=\"duplicate\"",
    "outcome=\"refused\",reason=\"invalid-request\"",
    "outcome=\"refused\",reason=\"conflict\"",
    "outcome=\"refused\",reason=\"payload-too-large\"",
    "outcome=\"refused\",reason=\"unprocessable\"",
    "outcome=\"refused\",reason=\"unavailable\"",
    "outcome=\"refused\",reason=\"other\"",
};
static struct hl_counter *events[EV_N];

struct route_series {
    const char *method; /* one of method_label()'s static strings */
    char tmpl[TEMPLATE_MAX];
    struct hl_counter *by_class[6]; /* 1xx..5xx, [0]: other */
    struct hl_histogram *duration;
};

static _Thread_local struct {
    struct route_series cache[CACHE_SIZE];
    size_t n, next;
    const char *problem; /* slug of the answer's problem type, or NULL */
    int64_t began_us;
    size_t events; /* events counted by gw_metrics_event in this request */
} t;

static struct hl_gauge *in_flight;
static struct hl_histogram *acked;

static bool is_word(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (words[i].n == len && memcmp(words[i].s, s, len) == 0)
            return true;
    return false;
}

/* The route template of uri into out; "other" for paths outside the API. */
static void route_template(const char *uri, char out[TEMPLATE_MAX])
{
    size_t n = 0;
    int segments = 0;
    const char *p = uri;
    if (*p != '/')
        goto other;
    while (*p == '/') {
        const char *s = p + 1, *e = s;
        while (*e && *e != '/')
            e++;
        size_t len = (size_t)(e - s);
        if (len == 0 && *e == '\0' && segments > 0)
            break; /* trailing slash */
        if (++segments > MAX_SEGMENTS || (segments == 1 && !is_word(s, len)))
            goto other;
        const char *piece = is_word(s, len) ? s : "{id}";
        size_t plen = piece == s ? len : 4;
        if (n + 1 + plen >= TEMPLATE_MAX)
            goto other;
        out[n++] = '/';
        memcpy(out + n, piece, plen);
        n += plen;
        p = e;
    }
    out[n] = '\0';
    return;
other:
    memcpy(out, "other", 6);
}

static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "OTHER";
}

static struct route_series *series_for(const char *method, const char *tmpl)
{
    for (size_t i = 0; i < t.n; i++)
        if (t.cache[i].method == method && strcmp(t.cache[i].tmpl, tmpl) == 0)
            return &t.cache[i];
    /* Not cached on this thread: find or create the series (registry mutex). */
    struct route_series *rs;
    if (t.n < CACHE_SIZE) {
        rs = &t.cache[t.n++];
    } else {
        rs = &t.cache[t.next];
        t.next = (t.next + 1) % CACHE_SIZE;
    }
    rs->method = method;
    snprintf(rs->tmpl, sizeof(rs->tmpl), "%s", tmpl);
    memset(rs->by_class, 0, sizeof(rs->by_class)); /* on first use: no idle series */
    char labels[TEMPLATE_MAX + 64];
    snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"", method, tmpl);
    rs->duration = hl_metrics_histogram("hookline_gateway_request_duration_seconds", labels,
                                        hl_metrics_latency_buckets, hl_metrics_latency_nbuckets);
    return rs;
}

static struct hl_counter *class_counter(struct route_series *rs, const char *method,
                                        const char *tmpl, int status)
{
    int c = status >= 100 && status < 600 ? status / 100 : 0;
    if (!rs->by_class[c]) {
        static const char *const classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
        char labels[TEMPLATE_MAX + 64];
        snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\",code=\"%s\"", method, tmpl,
                 classes[c]);
        rs->by_class[c] = hl_metrics_counter("hookline_gateway_requests_total", labels);
    }
    return rs->by_class[c];
}

static void count_labeled(const char *name, const char *label, const char *v1,
                          const char *label2, const char *v2)
{
    char labels[160];
    if (label2)
        snprintf(labels, sizeof(labels), "%s=\"%s\",%s=\"%s\"", label, v1, label2, v2);
    else
        snprintf(labels, sizeof(labels), "%s=\"%s\"", label, v1);
    hl_counter_inc(hl_metrics_counter(name, labels));
}

int64_t gw_metrics_begin(void)
{
    t.problem = NULL;
    t.events = 0;
    t.began_us = hl_mono_us();
    if (in_flight)
        hl_gauge_add(in_flight, 1);
    return t.began_us;
}

void gw_metrics_end(struct gw_req *r, int status, int64_t began_us)
{
    if (!in_flight)
        return;
    hl_gauge_add(in_flight, -1);
    char tmpl[TEMPLATE_MAX];
    route_template(r->info->local_uri ? r->info->local_uri : "", tmpl);
    const char *method = method_label(r->info->request_method);
    struct route_series *rs = series_for(method, tmpl);
    hl_counter_inc(class_counter(rs, method, tmpl, status));
    hl_histogram_observe(rs->duration, (double)(hl_mono_us() - began_us) / 1e6);

    /* Events refused as a whole (auth, rate limit, body) never reached the pipeline. */
    bool ingest = strcmp(method, "POST") == 0 &&
                  (strcmp(tmpl, "/api/v1/events") == 0 || strcmp(tmpl, "/api/v1/events/batch") == 0);
    if (ingest && t.events == 0 && status >= 400)
        count_labeled("hookline_gateway_events_total", "outcome", "refused", "reason",
                      t.problem ? t.problem : "other");
    if (strcmp(method, "POST") == 0 && strcmp(tmpl, "/api/v1/incoming/{id}") == 0)
        count_labeled("hookline_gateway_incoming_requests_total", "result",
                      status == 202 ? "accepted" : t.problem ? t.problem : "other", NULL, NULL);
}

void gw_metrics_problem(const char *slug)
{
    t.problem = slug;
}

void gw_metrics_event(int status, bool duplicate)
{
    if (!in_flight)
        return;
    t.events++;
    int k;
    switch (status) {
    case 202: k = duplicate ? EV_DUPLICATE : EV_NEW; break;
    case 400: k = EV_INVALID; break;
    case 409: k = EV_CONFLICT; break;
    case 413: k = EV_TOO_LARGE; break;
    case 422: k = EV_UNPROCESSABLE; break;
    case 503: k = EV_UNAVAILABLE; break;
    default: k = EV_OTHER; break;
    }
    hl_counter_inc(events[k]);
}

void gw_metrics_acked(void)
{
    if (acked && t.began_us)
        hl_histogram_observe(acked, (double)(hl_mono_us() - t.began_us) / 1e6);
}

static struct mg_context *metrics_mg; /* the metrics_port listener, when set */

int gw_metrics_send(struct mg_connection *conn, const char *method)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_grow(&b, 32768);
    hl_metrics_render(&b);
    char clen[32];
    snprintf(clen, sizeof(clen), "%zu", b.len);
    mg_response_header_start(conn, 200);
    mg_response_header_add(conn, "Content-Type", HL_METRICS_CONTENT_TYPE, -1);
    mg_response_header_add(conn, "Content-Length", clen, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_send(conn);
    if (strcmp(method, "HEAD") != 0)
        mg_write(conn, b.ptr, b.len);
    hl_buf_release(&b);
    return 200;
}


/* The metrics_port listener: /metrics and nothing else. */
static int handle_metrics_port(struct mg_connection *conn, void *cbdata)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    static const char nf[] = "{\"type\":\"https://hookline.dev/problems/not-found\","
                             "\"title\":\"Not found\",\"status\":404,"
                             "\"detail\":\"this listener serves GET /metrics only\"}";
    if (!ri->local_uri || strcmp(ri->local_uri, "/metrics") != 0 ||
        (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0)) {
        char clen[16];
        snprintf(clen, sizeof(clen), "%zu", sizeof(nf) - 1);
        mg_response_header_start(conn, 404);
        mg_response_header_add(conn, "Content-Type", "application/problem+json", -1);
        mg_response_header_add(conn, "Content-Length", clen, -1);
        mg_response_header_send(conn);
        mg_write(conn, nf, sizeof(nf) - 1);
        return 404;
    }
    return gw_metrics_send(conn, ri->request_method);
}

bool gw_metrics_listen(const struct gw_config *cfg, char *errbuf, size_t errlen)
{
    if (!cfg->metrics_port)
        return true;
    char port[300];
    snprintf(port, sizeof(port), "%s:%lld", cfg->http_host, (long long)cfg->metrics_port);
    const char *options[] = {"listening_ports", port, "num_threads", "1", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    struct mg_init_data init = {.callbacks = &cb, .configuration_options = options};
    char err[256] = "";
    struct mg_error_data ed = {.text = err, .text_buffer_size = sizeof(err)};
    metrics_mg = mg_start2(&init, &ed);
    if (!metrics_mg) {
        snprintf(errbuf, errlen, "cannot listen on '%s' (metrics_port): %s", port, err);
        return false;
    }
    mg_set_request_handler(metrics_mg, "/", handle_metrics_port, NULL);
    return true;
}

void gw_metrics_stop(void)
{
    if (metrics_mg)
        hl_mg_stop(metrics_mg);
    metrics_mg = NULL;
}

static void collect(struct hl_buf *out, void *arg)
{
    struct gw_ctx *ctx = arg;
    hl_metrics_write_header(out, "hookline_gateway_producer_queue_messages", HL_METRIC_GAUGE,
                            "Messages in the Kafka producer's queue, not yet acknowledged");
    if (ctx->producer)
        hl_metrics_write_sample(out, "hookline_gateway_producer_queue_messages", NULL,
                                (double)gw_producer_queue_len(ctx->producer));
    hl_metrics_write_header(out, "hookline_gateway_produced_messages_total", HL_METRIC_COUNTER,
                            "Messages produced, by producer: prompt (sent at once) or busy "
                            "(lingering to share requests while the gateway is busy)");
    if (ctx->producer) {
        uint64_t prompt, busy;
        gw_producer_counts(ctx->producer, &prompt, &busy);
        hl_metrics_write_sample(out, "hookline_gateway_produced_messages_total",
                                "producer=\"prompt\"", (double)prompt);
        hl_metrics_write_sample(out, "hookline_gateway_produced_messages_total",
                                "producer=\"busy\"", (double)busy);
    }
}

void gw_metrics_init(struct gw_ctx *ctx)
{
    hl_metrics_process_init("gateway");
    hl_metrics_family("hookline_gateway_requests_total", HL_METRIC_COUNTER,
                      "HTTP requests by method, route template and status class");
    hl_metrics_family("hookline_gateway_request_duration_seconds", HL_METRIC_HISTOGRAM,
                      "HTTP request duration by method and route template, body reading "
                      "included");
    hl_metrics_family("hookline_gateway_requests_in_flight", HL_METRIC_GAUGE,
                      "HTTP requests being handled");
    in_flight = hl_metrics_gauge("hookline_gateway_requests_in_flight", NULL);
    hl_metrics_family("hookline_gateway_events_total", HL_METRIC_COUNTER,
                      "Events (single or in batches) by outcome (accepted, refused) and "
                      "reason (new, duplicate, or the refusal's problem type)");
    for (int i = 0; i < EV_N; i++)
        events[i] = hl_metrics_counter("hookline_gateway_events_total", event_labels[i]);
    hl_metrics_family("hookline_gateway_produce_ack_seconds", HL_METRIC_HISTOGRAM,
                      "Time from the request's arrival to Kafka's acknowledgement of what it "
                      "produced (acks=all)");
    acked = hl_metrics_histogram("hookline_gateway_produce_ack_seconds", NULL,
                                 hl_metrics_latency_buckets, hl_metrics_latency_nbuckets);
    hl_metrics_family("hookline_gateway_incoming_requests_total", HL_METRIC_COUNTER,
                      "Incoming-webhook requests by result: accepted, or the problem type "
                      "they were refused with (verification-failed, not-found, ...)");
    hl_metrics_collector(collect, ctx);
}
