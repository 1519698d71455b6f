/* bench-receiver: the webhook endpoint of the benchmarks (bench/run).
 *
 * An epoll HTTP/1.1 server with keep-alive and pipelining, one event loop per thread on a
 * shared listening socket (EPOLLEXCLUSIVE), so that on a 2-core box it costs far less than
 * the dispatcher it measures. Per request it records:
 *   - the arrival time (CLOCK_REALTIME, when the whole request is in);
 *   - the event's accept time, the envelope's "timestamp" (the gateway stamps it with ms
 *     resolution; the webhook-timestamp header is whole seconds, too coarse), giving the
 *     accept -> receipt latency; and, when the body carries "sent_us":<epoch us> (the
 *     fixed-rate driver puts it in data), a send -> receipt latency at us resolution;
 *   - arrivals per wall-clock second, responses per status, signature verdicts.
 * Latencies go into a 100 us histogram up to 60 s (longer ones count in the last bucket).
 *
 * Routes: "--routes=/ok=200,/fail500=500,/hang=200:40000" maps a path prefix (longest wins)
 * to a status and an optional delay in ms before answering; other paths get default_status.
 * With --secret every delivery's Standard Webhooks signature is verified (hl_verify_v1)
 * and counted valid or invalid; the answer does not depend on it.
 *
 * Control: GET /_stats answers the figures as JSON; POST /_reset zeroes them (each thread
 * within 50 ms). On SIGTERM/SIGINT the figures go to --out (stdout when empty). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hl/buf.h"
#include "hl/config.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/sign.h"
#include "hl/signals.h"
#include "hl/time.h"
#include "hl/banned.h"

#define HIST_STEP_US 100
#define HIST_BUCKETS 600001 /* 0 .. 60 s in 100 us steps, the last one open-ended */
#define MAX_SECONDS 7200    /* per-second arrival counts kept for two hours */
#define MAX_ROUTES 16
#define HEAD_MAX (64 * 1024)
#define BODY_MAX (16 * 1024 * 1024)
#define LOOP_WAIT_MS 50

struct bench_cfg {
    char *host;
    int64_t port;
    int64_t threads;
    char *secret;
    char *routes;
    int64_t default_status;
    char *out;
    char *log_level;
    char *slow_log;
    int64_t slow_ms;
};

static const struct hl_cfg_opt opts[] = {
    {"host", HL_CFG_STR, offsetof(struct bench_cfg, host), "127.0.0.1", 0, 0,
     "address to listen on (benchmarks stay on loopback)"},
    {"port", HL_CFG_INT, offsetof(struct bench_cfg, port), "0", 0, 65535,
     "TCP port; 0 picks a free one (printed on stdout as 'port=N')"},
    {"threads", HL_CFG_INT, offsetof(struct bench_cfg, threads), "1", 1, 64,
     "event-loop threads"},
    {"secret", HL_CFG_STR, offsetof(struct bench_cfg, secret), NULL, 0, 0,
     "whsec_ secret: verify every Standard Webhooks signature and count the verdicts"},
    {"routes", HL_CFG_STR, offsetof(struct bench_cfg, routes), "/ok=200,/fail500=500,/hang=200:60000",
     0, 0, "path prefix=status[:delay_ms], comma-separated; the longest matching prefix wins"},
    {"default_status", HL_CFG_INT, offsetof(struct bench_cfg, default_status), "200", 200, 599,
     "status for paths no route matches"},
    {"out", HL_CFG_STR, offsetof(struct bench_cfg, out), "", 0, 0,
     "file the figures are written to on SIGTERM/SIGINT (stdout when empty)"},
    {"log_level", HL_CFG_STR, offsetof(struct bench_cfg, log_level), "info", 0, 0,
     "minimum level logged: debug, info, warn or error"},
    {"slow_log", HL_CFG_STR, offsetof(struct bench_cfg, slow_log), "", 0, 0,
     "file that gets one line per request slower than slow_ms from send to receipt: "
     "'<receipt epoch us> <sent epoch us> <latency us> <webhook-id>' (for tail analysis)"},
    {"slow_ms", HL_CFG_INT, offsetof(struct bench_cfg, slow_ms), "10", 0, 600000,
     "threshold of slow_log"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

struct route {
    char prefix[128];
    size_t len;
    int status;
    int delay_ms;
};

/* Counters a thread owns: only it writes them (relaxed load + store, no lock prefix), any
 * thread may read them for /_stats. */
typedef _Atomic uint64_t counter;

struct stats {
    counter requests, bytes;
    counter by_route[MAX_ROUTES + 1]; /* the last one: no route matched */
    counter status_2xx, status_other;
    counter sig_valid, sig_invalid;
    counter no_timestamp;
    counter first_us, last_us; /* arrivals */
    counter acc_n, acc_sum_us, acc_max_us;
    counter sent_n, sent_sum_us, sent_max_us;
    counter *acc_hist;  /* accept -> receipt */
    counter *sent_hist; /* send -> receipt */
    counter *per_second;
};

struct conn {
    int fd;
    char *rbuf;
    size_t rlen, rcap;
    char *wbuf; /* unsent response bytes */
    size_t wlen, woff;
    int64_t due_us; /* > 0: a delayed answer is pending until then */
    int pending_status;
    bool closing; /* answered a "Connection: close" request: close once wbuf is sent */
    struct conn *snext, *sprev; /* in the thread's sleeping list */
};

struct worker {
    pthread_t tid;
    int ep;
    struct stats st;
    unsigned reset_seen;
    struct conn *sleeping;
};

static struct {
    int lfd;
    struct route routes[MAX_ROUTES];
    size_t nroutes;
    int default_status;
    struct hl_secret secret;
    bool has_secret;
    int64_t start_s;
    struct worker *workers;
    size_t nworkers;
    atomic_uint reset_gen;
    atomic_bool stop;
    FILE *slow_log; /* --slow_log; NULL when off */
    int64_t slow_us;
} G;

static inline void inc(counter *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

static inline void set(counter *c, uint64_t v)
{
    atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t get(counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void stats_alloc(struct stats *st)
{
    st->acc_hist = hl_xcalloc(HIST_BUCKETS, sizeof(counter));
    st->sent_hist = hl_xcalloc(HIST_BUCKETS, sizeof(counter));
    st->per_second = hl_xcalloc(MAX_SECONDS, sizeof(counter));
}

static void stats_zero(struct stats *st)
{
    counter *first = &st->requests, *last = &st->sent_max_us;
    for (counter *c = first; c <= last; c++)
        set(c, 0);
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        set(&st->acc_hist[i], 0);
        set(&st->sent_hist[i], 0);
    }
    for (size_t i = 0; i < MAX_SECONDS; i++)
        set(&st->per_second[i], 0);
}

static void record_latency(counter *hist, counter *n, counter *sum, counter *max, int64_t us)
{
    if (us < 0)
        us = 0;
    size_t b = (size_t)(us / HIST_STEP_US);
    if (b >= HIST_BUCKETS)
        b = HIST_BUCKETS - 1;
    inc(&hist[b], 1);
    inc(n, 1);
    inc(sum, (uint64_t)us);
    if ((uint64_t)us > get(max))
        set(max, (uint64_t)us);
}

/* --- parsing helpers ------------------------------------------------------------------ */

static const char *find(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle));
}

static bool digits(const char *s, int n, int64_t *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" -> epoch us; -1 when the text is not of that form. */
static int64_t parse_iso_ms(const char *s, size_t n)
{
    int64_t y, mo, d, h, mi, se, ms = 0;
    if (n < 20 || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
        return -1;
    if (n >= 23 && s[19] == '.' && !digits(s + 20, 3, &ms))
        return -1;
    int64_t secs = hl_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return secs * 1000000 + ms * 1000;
}

/* The envelope's accept time, or -1. The first "timestamp" key is the envelope's own: the
 * gateway writes it before data. */
static int64_t body_accept_us(const char *body, size_t n)
{
    static const char key[] = "\"timestamp\":\"";
    const char *p = find(body, n, key);
    if (!p)
        return -1;
    p += sizeof(key) - 1;
    return parse_iso_ms(p, (size_t)(body + n - p));
}

static int64_t body_sent_us(const char *body, size_t n)
{
    static const char key[] = "\"sent_us\":";
    const char *p = find(body, n, key);
    if (!p)
        return -1;
    p += sizeof(key) - 1;
    int64_t v = 0;
    bool any = false;
    while (p < body + n && *p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        any = true;
    }
    return any ? v : -1;
}

static const struct route *route_for(const char *path, size_t plen, size_t *idx)
{
    const struct route *best = NULL;
    *idx = MAX_ROUTES;
    for (size_t i = 0; i < G.nroutes; i++) {
        const struct route *r = &G.routes[i];
        if (r->len <= plen && memcmp(path, r->prefix, r->len) == 0 &&
            (!best || r->len > best->len)) {
            best = r;
            *idx = i;
        }
    }
    return best;
}

/* --- stats output ------------------------------------------------------------------ */

static void hist_json(struct hl_buf *b, const char *name, size_t off, uint64_t *n_out)
{
    uint64_t total = 0;
    hl_buf_addf(b, "\"%s\":[", name);
    bool first = true;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t c = 0;
        for (size_t w = 0; w < G.nworkers; w++) {
            counter *h = *(counter **)((char *)&G.workers[w].st + off);
            c += get(&h[i]);
        }
        if (!c)
            continue;
        hl_buf_addf(b, "%s[%.1f,%llu]", first ? "" : ",", (double)(i * HIST_STEP_US) / 1000.0,
                    (unsigned long long)c);
        first = false;
        total += c;
    }
    hl_buf_adds(b, "]");
    *n_out = total;
}

/* Percentile from the merged histogram, in ms (bucket's upper edge). */
static double hist_pct(size_t off, uint64_t total, double q)
{
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total), seen = 0;
    if (want >= total)
        want = total - 1;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        for (size_t w = 0; w < G.nworkers; w++) {
            counter *h = *(counter **)((char *)&G.workers[w].st + off);
            seen += get(&h[i]);
        }
        if (seen > want)
            return (double)((i + 1) * HIST_STEP_US) / 1000.0;
    }
    return 0;
}

#define SUM(field)                                                                                 \
    ({                                                                                             \
        uint64_t s_ = 0;                                                                           \
        for (size_t w_ = 0; w_ < G.nworkers; w_++)                                                 \
            s_ += get(&G.workers[w_].st.field);                                                    \
        s_;                                                                                        \
    })
#define MAXOF(field, zero_is_none)                                                                 \
    ({                                                                                             \
        uint64_t m_ = 0;                                                                           \
        for (size_t w_ = 0; w_ < G.nworkers; w_++) {                                               \
            uint64_t v_ = get(&G.workers[w_].st.field);                                            \
            if (v_ > m_)                                                                           \
                m_ = v_;                                                                           \
        }                                                                                          \
        m_;                                                                                        \
    })

static void latency_json(struct hl_buf *b, const char *name, size_t hist_off, uint64_t n,
                         uint64_t sum, uint64_t max)
{
    hl_buf_addf(b, ",\"%s\":{\"count\":%llu", name, (unsigned long long)n);
    if (n) {
        hl_buf_addf(b,
                    ",\"mean_ms\":%.3f,\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,"
                    "\"p999_ms\":%.1f,\"max_ms\":%.3f",
                    (double)sum / (double)n / 1000.0, hist_pct(hist_off, n, 0.50),
                    hist_pct(hist_off, n, 0.90), hist_pct(hist_off, n, 0.99),
                    hist_pct(hist_off, n, 0.999), (double)max / 1000.0);
    }
    uint64_t t;
    hl_buf_adds(b, ",");
    hist_json(b, "histogram_ms", hist_off, &t);
    hl_buf_adds(b, "}");
}

static void stats_json(struct hl_buf *b)
{
    uint64_t first = 0, last = MAXOF(last_us, 0);
    for (size_t w = 0; w < G.nworkers; w++) {
        uint64_t f = get(&G.workers[w].st.first_us);
        if (f && (!first || f < first))
            first = f;
    }
    hl_buf_addf(b,
                "{\"requests\":%llu,\"bytes\":%llu,\"status_2xx\":%llu,\"status_other\":%llu,"
                "\"signature_valid\":%llu,\"signature_invalid\":%llu,\"no_timestamp\":%llu,"
                "\"first_arrival_us\":%llu,\"last_arrival_us\":%llu",
                (unsigned long long)SUM(requests), (unsigned long long)SUM(bytes),
                (unsigned long long)SUM(status_2xx), (unsigned long long)SUM(status_other),
                (unsigned long long)SUM(sig_valid), (unsigned long long)SUM(sig_invalid),
                (unsigned long long)SUM(no_timestamp), (unsigned long long)first,
                (unsigned long long)last);
    hl_buf_adds(b, ",\"by_route\":{");
    for (size_t i = 0; i <= G.nroutes; i++) {
        size_t k = i < G.nroutes ? i : MAX_ROUTES;
        uint64_t c = SUM(by_route[k]);
        hl_buf_addf(b, "%s", i ? "," : "");
        const char *name = i < G.nroutes ? G.routes[i].prefix : "(default)";
        hl_buf_add_json_str(b, name, strlen(name));
        hl_buf_addf(b, ":%llu", (unsigned long long)c);
    }
    hl_buf_adds(b, "}");
    latency_json(b, "accept_to_receipt", offsetof(struct stats, acc_hist), SUM(acc_n),
                 SUM(acc_sum_us), MAXOF(acc_max_us, 0));
    latency_json(b, "send_to_receipt", offsetof(struct stats, sent_hist), SUM(sent_n),
                 SUM(sent_sum_us), MAXOF(sent_max_us, 0));
    hl_buf_adds(b, ",\"per_second\":[");
    bool firstsec = true;
    for (size_t s = 0; s < MAX_SECONDS; s++) {
        uint64_t c = 0;
        for (size_t w = 0; w < G.nworkers; w++)
            c += get(&G.workers[w].st.per_second[s]);
        if (!c)
            continue;
        hl_buf_addf(b, "%s[%lld,%llu]", firstsec ? "" : ",", (long long)(G.start_s + (int64_t)s),
                    (unsigned long long)c);
        firstsec = false;
    }
    hl_buf_adds(b, "]}\n");
}

/* --- connections ---------------------------------------------------------------------- */

static void conn_close(struct worker *wk, struct conn *c)
{
    if (c->due_us) {
        if (c->sprev)
            c->sprev->snext = c->snext;
        else
            wk->sleeping = c->snext;
        if (c->snext)
            c->snext->sprev = c->sprev;
    }
    epoll_ctl(wk->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

static void want_write(struct worker *wk, struct conn *c, bool on)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0),
                             .data.ptr = c};
    epoll_ctl(wk->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Queues bytes and writes what the socket takes; false when the connection died. */
static bool conn_send(struct worker *wk, struct conn *c, const char *p, size_t n)
{
    if (c->wlen == c->woff) {
        c->wlen = c->woff = 0;
        while (n) {
            ssize_t k = write(c->fd, p, n);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (k <= 0)
                return false;
            p += k;
            n -= (size_t)k;
        }
        if (!n)
            return true;
    }
    c->wbuf = hl_xrealloc(c->wbuf, c->wlen + n);
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
    want_write(wk, c, true);
    return true;
}

static bool conn_flush(struct worker *wk, struct conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t k = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (k <= 0)
            return false;
        c->woff += (size_t)k;
    }
    c->wlen = c->woff = 0;
    want_write(wk, c, false);
    return !c->closing;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 404:
        return "Not Found";
    case 410:
        return "Gone";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static bool send_status(struct worker *wk, struct conn *c, int status)
{
    char line[128];
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", status,
                     reason(status));
    if (status >= 200 && status < 300)
        inc(&wk->st.status_2xx, 1);
    else
        inc(&wk->st.status_other, 1);
    return conn_send(wk, c, line, (size_t)n);
}

static bool send_body(struct worker *wk, struct conn *c, int status, const char *type,
                      const struct hl_buf *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", status,
                     reason(status), type, body->len);
    return conn_send(wk, c, head, (size_t)n) && conn_send(wk, c, body->ptr, body->len);
}

struct request {
    const char *method, *path;
    size_t mlen, plen;
    const char *id, *ts, *sig; /* NUL-terminated copies in hdr_store */
    char hdr_store[3][512];
    const char *body;
    size_t body_len;
    size_t content_length;
    bool close;
    bool chunked;
};

static bool hname(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return false;
    const char *v = line + k + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *val = v;
    *vlen = (size_t)(end - v);
    return true;
}

static const char *store(struct request *rq, int slot, const char *v, size_t n)
{
    if (n >= sizeof(rq->hdr_store[slot]))
        n = sizeof(rq->hdr_store[slot]) - 1;
    memcpy(rq->hdr_store[slot], v, n);
    rq->hdr_store[slot][n] = '\0';
    return rq->hdr_store[slot];
}

/* Parses the head in buf[0..head_len) (ending in CRLFCRLF); false when malformed. */
static bool parse_head(const char *buf, size_t head_len, struct request *rq)
{
    const char *end = buf + head_len;
    const char *eol = find(buf, head_len, "\r\n");
    const char *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
    if (!sp1)
        return false;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (!sp2)
        return false;
    rq->method = buf;
    rq->mlen = (size_t)(sp1 - buf);
    rq->path = sp1 + 1;
    rq->plen = (size_t)(sp2 - sp1 - 1);
    rq->close = eol - sp2 - 1 == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0;
    for (const char *l = eol + 2; l < end - 2;) {
        const char *e = find(l, (size_t)(end - l), "\r\n");
        if (!e)
            break;
        size_t n = (size_t)(e - l);
        const char *v;
        size_t vl;
        if (hname(l, n, "content-length", &v, &vl)) {
            rq->content_length = 0;
            for (size_t i = 0; i < vl && v[i] >= '0' && v[i] <= '9'; i++)
                rq->content_length = rq->content_length * 10 + (size_t)(v[i] - '0');
        } else if (hname(l, n, "transfer-encoding", &v, &vl)) {
            rq->chunked = true;
        } else if (hname(l, n, "connection", &v, &vl)) {
            if (vl == 5 && strncasecmp(v, "close", 5) == 0)
                rq->close = true;
        } else if (hname(l, n, "webhook-id", &v, &vl)) {
            rq->id = store(rq, 0, v, vl);
        } else if (hname(l, n, "webhook-timestamp", &v, &vl)) {
            rq->ts = store(rq, 1, v, vl);
        } else if (hname(l, n, "webhook-signature", &v, &vl)) {
            rq->sig = store(rq, 2, v, vl);
        }
        l = e + 2;
    }
    return true;
}

static bool control(struct worker *wk, struct conn *c, const struct request *rq)
{
    struct hl_buf b = HL_BUF_INIT;
    bool ok;
    if (rq->plen >= 7 && memcmp(rq->path, "/_stats", 7) == 0) {
        stats_json(&b);
        ok = send_body(wk, c, 200, "application/json", &b);
    } else if (rq->plen >= 7 && memcmp(rq->path, "/_reset", 7) == 0) {
        atomic_fetch_add(&G.reset_gen, 1);
        hl_buf_adds(&b, "{\"reset\":true}\n");
        ok = send_body(wk, c, 200, "application/json", &b);
    } else {
        ok = send_status(wk, c, 404);
    }
    hl_buf_release(&b);
    return ok;
}

/* One complete request: record it and answer (now, or after the route's delay). */
static bool handle(struct worker *wk, struct conn *c, const struct request *rq)
{
    if (rq->plen >= 2 && rq->path[0] == '/' && rq->path[1] == '_')
        return control(wk, c, rq);

    struct stats *st = &wk->st;
    int64_t t = now_us();
    inc(&st->requests, 1);
    inc(&st->bytes, rq->body_len);
    if (!get(&st->first_us))
        set(&st->first_us, (uint64_t)t);
    set(&st->last_us, (uint64_t)t);
    int64_t sec = t / 1000000 - G.start_s;
    if (sec >= 0 && sec < MAX_SECONDS)
        inc(&st->per_second[sec], 1);

    int64_t acc = body_accept_us(rq->body, rq->body_len);
    if (acc > 0)
        record_latency(st->acc_hist, &st->acc_n, &st->acc_sum_us, &st->acc_max_us, t - acc);
    else
        inc(&st->no_timestamp, 1);
    int64_t sent = body_sent_us(rq->body, rq->body_len);
    if (sent > 0)
        record_latency(st->sent_hist, &st->sent_n, &st->sent_sum_us, &st->sent_max_us,
                       t - sent);
    if (G.slow_log && sent > 0 && t - sent >= G.slow_us)
        fprintf(G.slow_log, "%lld %lld %lld %s\n", (long long)t, (long long)sent,
                (long long)(t - sent), rq->id ? rq->id : "-");

    if (G.has_secret) {
        char err[128];
        bool ok = rq->id && rq->ts && rq->sig &&
                  hl_verify_v1(&G.secret, rq->id, rq->ts, rq->sig, rq->body, rq->body_len,
                               t / 1000000, HL_VERIFY_TOLERANCE_S, err, sizeof(err)) == HL_OK;
        inc(ok ? &st->sig_valid : &st->sig_invalid, 1);
    }

    size_t idx;
    const struct route *r = route_for(rq->path, rq->plen, &idx);
    inc(&st->by_route[idx], 1);
    int status = r ? r->status : G.default_status;
    if (r && r->delay_ms > 0) {
        c->due_us = t + (int64_t)r->delay_ms * 1000;
        c->pending_status = status;
        c->sprev = NULL;
        c->snext = wk->sleeping;
        if (wk->sleeping)
            wk->sleeping->sprev = c;
        wk->sleeping = c;
        return true;
    }
    return send_status(wk, c, status);
}

/* Serves every complete request in the read buffer; false when the connection must go. */
static bool serve_buffer(struct worker *wk, struct conn *c)
{
    size_t off = 0;
    bool ok = true;
    while (ok && !c->due_us && off < c->rlen) {
        const char *p = c->rbuf + off;
        size_t avail = c->rlen - off;
        const char *hend = find(p, avail, "\r\n\r\n");
        if (!hend) {
            if (avail > HEAD_MAX)
                ok = false;
            break;
        }
        size_t head_len = (size_t)(hend - p) + 4;
        struct request rq;
        memset(&rq, 0, sizeof(rq));
        if (!parse_head(p, head_len, &rq) || rq.chunked || rq.content_length > BODY_MAX) {
            send_status(wk, c, 400);
            ok = false;
            break;
        }
        if (avail < head_len + rq.content_length)
            break;
        rq.body = p + head_len;
        rq.body_len = rq.content_length;
        off += head_len + rq.content_length;
        ok = handle(wk, c, &rq);
        if (ok && rq.close) {
            /* Close only after the whole answer is out: a large /_stats body outgrows the
             * socket buffer, and closing at once would cut it short. */
            c->closing = true;
            ok = c->woff < c->wlen;
            break;
        }
    }
    if (off) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    return ok;
}

static bool conn_read(struct worker *wk, struct conn *c)
{
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            c->rcap = c->rcap ? c->rcap * 2 : 16384;
            c->rbuf = hl_xrealloc(c->rbuf, c->rcap);
        }
        size_t space = c->rcap - c->rlen;
        ssize_t k = read(c->fd, c->rbuf + c->rlen, space);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (k <= 0)
            return false;
        c->rlen += (size_t)k;
        if ((size_t)k < space)
            break; /* short read: the socket is drained */
    }
    return serve_buffer(wk, c);
}

static void accept_all(struct worker *wk)
{
    for (;;) {
        int fd = accept4(G.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = hl_xcalloc(1, sizeof(*c));
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(wk->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
        }
    }
}

/* Answers delayed requests that are due; returns the ms until the next one (or the
 * default wait). */
static int wake_sleepers(struct worker *wk)
{
    int64_t now = now_us(), next = -1;
    struct conn *c = wk->sleeping, *n;
    for (; c; c = n) {
        n = c->snext;
        if (c->due_us > now) {
            if (next < 0 || c->due_us < next)
                next = c->due_us;
            continue;
        }
        if (c->sprev)
            c->sprev->snext = c->snext;
        else
            wk->sleeping = c->snext;
        if (c->snext)
            c->snext->sprev = c->sprev;
        c->due_us = 0;
        c->snext = c->sprev = NULL;
        if (!send_status(wk, c, c->pending_status) || !serve_buffer(wk, c))
            conn_close(wk, c);
    }
    if (next < 0)
        return LOOP_WAIT_MS;
    int64_t ms = (next - now) / 1000 + 1;
    return ms < LOOP_WAIT_MS ? (int)ms : LOOP_WAIT_MS;
}

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    struct epoll_event evs[256];
    struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
    epoll_ctl(wk->ep, EPOLL_CTL_ADD, G.lfd, &lev);
    while (!atomic_load(&G.stop)) {
        unsigned gen = atomic_load(&G.reset_gen);
        if (gen != wk->reset_seen) {
            stats_zero(&wk->st);
            wk->reset_seen = gen;
        }
        int wait = wake_sleepers(wk);
        int n = epoll_wait(wk->ep, evs, 256, wait);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                accept_all(wk);
                continue;
            }
            bool ok = true;
            if (evs[i].events & EPOLLOUT)
                ok = conn_flush(wk, c);
            if (ok && !c->closing &&
                (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                ok = conn_read(wk, c);
            if (!ok)
                conn_close(wk, c);
        }
    }
    return NULL;
}

static hl_err parse_routes(const char *spec, char *errbuf, size_t errlen)
{
    const char *s = spec;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        const char *eq = memchr(s, '=', n);
        if (!eq || G.nroutes == MAX_ROUTES || (size_t)(eq - s) >= sizeof(G.routes[0].prefix) ||
            eq == s || s[0] != '/') {
            snprintf(errbuf, errlen, "routes: want /prefix=status[:delay_ms],... (at most %d)",
                     MAX_ROUTES);
            return HL_EINVAL;
        }
        struct route *r = &G.routes[G.nroutes++];
        r->len = (size_t)(eq - s);
        memcpy(r->prefix, s, r->len);
        r->prefix[r->len] = '\0';
        char num[32];
        size_t vl = n - r->len - 1;
        if (vl >= sizeof(num))
            vl = sizeof(num) - 1;
        memcpy(num, eq + 1, vl);
        num[vl] = '\0';
        char *colon;
        r->status = (int)strtol(num, &colon, 10);
        r->delay_ms = *colon == ':' ? (int)strtol(colon + 1, NULL, 10) : 0;
        if (r->status < 200 || r->status > 599 || r->delay_ms < 0) {
            snprintf(errbuf, errlen, "routes: bad status or delay in '%.*s'", (int)n, s);
            return HL_EINVAL;
        }
        s = end ? end + 1 : s + n;
    }
    return HL_OK;
}

static int listen_on(const char *host, int port, int *bound)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
        close(fd);
        return -1;
    }
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *bound = ntohs(a.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    struct bench_cfg cfg;
    char err[256];
    int rc = 1, port = 0;

    hl_log_set_service("bench-receiver");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: bench-receiver [--option=value ...]\n\n"
                   "GET /_stats: figures as JSON; POST /_reset: zero them.\n\noptions:\n");
            hl_cfg_usage(stdout, opts, NOPTS);
            return 0;
        }
    memset(&cfg, 0, sizeof(cfg));
    if (hl_cfg_load(opts, NOPTS, &cfg, argc - 1, argv + 1, err, sizeof(err)) ||
        parse_routes(cfg.routes, err, sizeof(err))) {
        fprintf(stderr, "bench-receiver: %s\n", err);
        goto out;
    }
    int level = hl_log_level_parse(cfg.log_level);
    if (level >= 0)
        hl_log_threshold = (hl_log_level)level;
    if (cfg.secret && *cfg.secret) {
        if (hl_whsec_decode(cfg.secret, &G.secret, err, sizeof(err))) {
            fprintf(stderr, "bench-receiver: secret: %s\n", err);
            goto out;
        }
        G.has_secret = true;
    }
    G.default_status = (int)cfg.default_status;
    if (cfg.slow_log && *cfg.slow_log) {
        G.slow_log = fopen(cfg.slow_log, "a");
        if (!G.slow_log) {
            fprintf(stderr, "bench-receiver: %s: %s\n", cfg.slow_log, strerror(errno));
            goto out;
        }
        setvbuf(G.slow_log, NULL, _IOLBF, 0);
        G.slow_us = cfg.slow_ms * 1000;
    }
    G.start_s = now_us() / 1000000;
    hl_signals_install();

    G.lfd = listen_on(cfg.host, (int)cfg.port, &port);
    if (G.lfd < 0) {
        fprintf(stderr, "bench-receiver: cannot listen on %s:%lld: %s\n", cfg.host,
                (long long)cfg.port, strerror(errno));
        goto out;
    }
    G.nworkers = (size_t)cfg.threads;
    G.workers = hl_xcalloc(G.nworkers, sizeof(*G.workers));
    for (size_t i = 0; i < G.nworkers; i++) {
        stats_alloc(&G.workers[i].st);
        G.workers[i].ep = epoll_create1(EPOLL_CLOEXEC);
    }
    for (size_t i = 0; i < G.nworkers; i++)
        pthread_create(&G.workers[i].tid, NULL, worker_main, &G.workers[i]);
    printf("port=%d\n", port);
    fflush(stdout);
    hl_log(HL_LOG_INFO, "receiver", "listening on http://%s:%d with %zu threads", cfg.host, port,
           G.nworkers);

    while (!hl_stop_signal)
        usleep(100 * 1000);
    atomic_store(&G.stop, true);
    for (size_t i = 0; i < G.nworkers; i++)
        pthread_join(G.workers[i].tid, NULL);

    struct hl_buf b = HL_BUF_INIT;
    stats_json(&b);
    FILE *f = cfg.out && *cfg.out ? fopen(cfg.out, "w") : stdout;
    if (f) {
        fwrite(b.ptr, 1, b.len, f);
        if (f != stdout)
            fclose(f);
        rc = 0;
    } else {
        fprintf(stderr, "bench-receiver: cannot write %s: %s\n", cfg.out, strerror(errno));
    }
    hl_buf_release(&b);
out:
    if (G.slow_log)
        fclose(G.slow_log);
    explicit_bzero(&G.secret, sizeof(G.secret));
    hl_cfg_release(opts, NOPTS, &cfg);
    return rc;
}
