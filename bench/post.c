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
 * wrk cannot stop at an exact count, which is why this exists.
 *
 * It shares the machine with what it measures (scenario 9 runs the whole stack on two
 * cores), so it is an epoll loop over plain sockets speaking just the HTTP/1.1 the gateway
 * answers with (a status line, headers, a Content-Length body), like wrk, rather than a
 * general client: with libcurl's multi interface it took 19 % of the machine's CPU in
 * scenario 9, more than the gateway's request threads. An answer it cannot read
 * (no Content-Length, chunked, larger than its buffer, the connection closed) counts as a
 * transport error, and the connection is made again. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hl/config.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/buf.h"
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

/* The most an answer (status line, headers and body) may take. */
#define ANSWER_MAX 16384
/* A POST not answered within this long is a transport error. */
#define REQUEST_TIMEOUT_US 30000000

/* One keep-alive connection and its POST in flight. */
struct conn {
    int fd;
    bool busy;           /* a POST is out and not yet answered */
    struct hl_buf req;   /* the POST's bytes */
    size_t sent;         /* of req */
    char in[ANSWER_MAX]; /* the answer so far */
    size_t got;
    int64_t started_us;
};

struct run {
    const struct post_cfg *cfg;
    int ep;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char head[2048]; /* request line and headers up to Content-Length's value */
    char *body;
    char *pad;
    int64_t posted, ok, non2xx, errors;
    int64_t deadline_us;
    uint32_t *lat_us; /* one latency per answered POST */
    size_t nlat, caplat;
};

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

/* "http://host:port" (a path after it is ignored: the API's is fixed) into r->addr, and
 * "host:port" into hostport for the Host header; false with a message when it is not. */
static bool resolve(struct run *r, const char *url, char *hostport, size_t hplen)
{
    char host[256], port[16] = "80";
    const char *p = url;
    if (strncmp(p, "http://", 7) != 0) {
        fprintf(stderr, "bench-post: --url must be http://host[:port], not '%s'\n", url);
        return false;
    }
    p += 7;
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof(host)) {
        fprintf(stderr, "bench-post: no host in '%s'\n", url);
        return false;
    }
    memcpy(host, p, hl);
    host[hl] = '\0';
    p += hl;
    if (*p == ':') {
        size_t pl = strcspn(p + 1, "/");
        if (pl == 0 || pl >= sizeof(port)) {
            fprintf(stderr, "bench-post: bad port in '%s'\n", url);
            return false;
        }
        memcpy(port, p + 1, pl);
        port[pl] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int e = getaddrinfo(host, port, &hints, &ai);
    if (e) {
        fprintf(stderr, "bench-post: %s: %s\n", host, gai_strerror(e));
        return false;
    }
    memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
    r->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    snprintf(hostport, hplen, "%s:%s", host, port);
    return true;
}

/* (Re)connects c; false when the gateway cannot be reached. */
static bool open_conn(struct run *r, struct conn *c)
{
    int one = 1;
    c->fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&r->addr, r->addrlen) != 0) {
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return false;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev);
    return true;
}

static void close_conn(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd); /* leaves the epoll set with it */
    c->fd = -1;
}

/* Writes what is left of c's POST; false on a broken connection. */
static bool send_rest(struct run *r, struct conn *c)
{
    while (c->sent < c->req.len) {
        ssize_t n = send(c->fd, c->req.ptr + c->sent, c->req.len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
            epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
            return true;
        }
        if (n <= 0)
            return false;
        c->sent += (size_t)n;
    }
    return true;
}

static void record_latency(struct run *r, const struct conn *c)
{
    if (r->nlat == r->caplat) {
        r->caplat = r->caplat ? r->caplat * 2 : 65536;
        r->lat_us = hl_xrealloc(r->lat_us, r->caplat * sizeof(*r->lat_us));
    }
    r->lat_us[r->nlat++] = (uint32_t)(hl_mono_us() - c->started_us);
}

/* Starts the next POST on c; false when nothing is left to post. A connection that broke
 * is made again first; a POST that could not be sent counts as a transport error. */
static bool post_next(struct run *r, struct conn *c)
{
    const struct post_cfg *cfg = r->cfg;

    while (more_to_post(r)) {
        if (c->fd < 0 && !open_conn(r, c)) {
            r->posted++;
            r->errors++;
            usleep(10000); /* the gateway is not there: do not spin */
            continue;
        }
        int blen;
        if (cfg->types > 1)
            blen = snprintf(r->body, (size_t)cfg->payload_bytes + 512,
                            "{\"event\":\"%s.%" PRId64 "\",\"data\":{\"seq\":%" PRId64
                            ",\"pad\":\"%s\"}}",
                            cfg->event_type, r->posted % cfg->types, r->posted, r->pad);
        else
            blen = snprintf(r->body, (size_t)cfg->payload_bytes + 512,
                            "{\"event\":\"%s\",\"data\":{\"seq\":%" PRId64
                            ",\"pad\":\"%s\"}}",
                            cfg->event_type, r->posted, r->pad);
        hl_buf_clear(&c->req);
        hl_buf_addf(&c->req, "%s%d\r\n\r\n", r->head, blen);
        hl_buf_add(&c->req, r->body, (size_t)blen);
        c->sent = 0;
        c->got = 0;
        c->busy = true;
        c->started_us = hl_mono_us();
        r->posted++;
        if (send_rest(r, c))
            return true;
        c->busy = false;
        close_conn(c);
        r->errors++;
    }
    return false;
}

/* The answer's total length once its headers are in (0: not yet), or -1 when it is not
 * one this client reads; *status and *closing from its status line and headers. */
static long answer_length(const struct conn *c, int *status, bool *closing)
{
    const char *end = memmem(c->in, c->got, "\r\n\r\n", 4);
    if (!end)
        return c->got == sizeof(c->in) ? -1 : 0;
    if (c->got < 12 || strncmp(c->in, "HTTP/1.", 7) != 0)
        return -1;
    *status = (int)strtol(c->in + 9, NULL, 10);
    long clen = -1;
    *closing = strncmp(c->in, "HTTP/1.0", 8) == 0;
    for (const char *line = memchr(c->in, '\n', (size_t)(end - c->in)); line && line < end;
         line = memchr(line + 1, '\n', (size_t)(end - line))) {
        const char *h = line + 1;
        const char *eol = memchr(h, '\r', (size_t)(end + 1 - h)); /* at most end */
        if (strncasecmp(h, "content-length:", 15) == 0)
            clen = strtol(h + 15, NULL, 10);
        else if (strncasecmp(h, "connection:", 11) == 0 && eol)
            *closing = memmem(h, (size_t)(eol - h), "close", 5) != NULL;
    }
    long total = (long)(end + 4 - c->in) + clen;
    if (clen < 0 || total > (long)sizeof(c->in))
        return -1;
    return total;
}

/* Reads what c's answer has to give; when it is whole, counts it and starts the next POST
 * (false when none is left to post). */
static bool on_readable(struct run *r, struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->got, sizeof(c->in) - c->got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n <= 0 || !c->busy)
            break; /* closed, failed, or an answer to nothing */
        c->got += (size_t)n;
        int status = 0;
        bool closing = false;
        long total = answer_length(c, &status, &closing);
        if (total < 0)
            break;
        if (total == 0 || c->got < (size_t)total)
            continue;
        c->busy = false;
        if (status >= 200 && status < 300)
            r->ok++;
        else
            r->non2xx++;
        record_latency(r, c);
        if (closing || c->got != (size_t)total)
            close_conn(c);
        return post_next(r, c);
    }
    bool was_busy = c->busy;
    c->busy = false;
    close_conn(c);
    if (was_busy)
        r->errors++;
    return post_next(r, c);
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

/* Fails the POSTs that waited longer than REQUEST_TIMEOUT_US, closing their connections,
 * and starts the next ones. */
static void expire(struct run *r, struct conn *conns, int64_t n)
{
    int64_t now = hl_mono_us();
    for (int64_t i = 0; i < n; i++) {
        struct conn *c = &conns[i];
        if (c->busy && now - c->started_us > REQUEST_TIMEOUT_US) {
            c->busy = false;
            close_conn(c);
            r->errors++;
            post_next(r, c);
        }
    }
}

int main(int argc, char **argv)
{
    struct post_cfg cfg;
    struct run r;
    struct conn *conns = NULL;
    char err[512], hostport[300];
    int rc = 1;

    hl_log_set_service("bench-post");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: bench-post [--option=value ...]\n\noptions:\n");
            hl_cfg_usage(stdout, opts, NOPTS);
            return 0;
        }
    memset(&cfg, 0, sizeof(cfg));
    memset(&r, 0, sizeof(r));
    r.ep = -1;
    if (hl_cfg_load(opts, NOPTS, &cfg, argc - 1, argv + 1, err, sizeof(err))) {
        fprintf(stderr, "bench-post: %s\n", err);
        return 1;
    }
    if (cfg.count == 0 && cfg.duration_s == 0) {
        fprintf(stderr, "bench-post: give --count, --duration_s or both\n");
        goto out;
    }
    r.cfg = &cfg;
    if (!resolve(&r, cfg.url, hostport, sizeof(hostport)))
        goto out;
    if ((size_t)snprintf(r.head, sizeof(r.head),
                         "POST /api/v1/events HTTP/1.1\r\nHost: %s\r\n"
                         "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                         "Content-Length: ",
                         hostport, cfg.key) >= sizeof(r.head)) {
        fprintf(stderr, "bench-post: --key is too long\n");
        goto out;
    }
    r.pad = hl_xmalloc((size_t)cfg.payload_bytes + 1);
    memset(r.pad, 'x', (size_t)cfg.payload_bytes);
    r.pad[cfg.payload_bytes] = '\0';
    r.body = hl_xmalloc((size_t)cfg.payload_bytes + 512);
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    conns = hl_xcalloc((size_t)cfg.connections, sizeof(*conns));
    for (int64_t i = 0; i < cfg.connections; i++) {
        conns[i].fd = -1;
        conns[i].req = (struct hl_buf)HL_BUF_INIT;
    }

    int64_t start_wall = wall_us(), start = hl_mono_us();
    if (cfg.duration_s > 0)
        r.deadline_us = start + cfg.duration_s * 1000000;
    int64_t busy = 0;
    for (int64_t i = 0; i < cfg.connections; i++)
        busy += post_next(&r, &conns[i]);
    int64_t last_expiry = start;
    struct epoll_event evs[256];
    while (busy > 0) {
        int n = epoll_wait(r.ep, evs, 256, 100);
        if (n < 0 && errno != EINTR) {
            perror("bench-post: epoll_wait");
            goto out;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue; /* closed by an earlier event of this round */
            if ((evs[i].events & EPOLLOUT) && c->sent < c->req.len) {
                if (!send_rest(&r, c)) { /* broken while the POST was going out */
                    c->busy = false;
                    close_conn(c);
                    r.errors++;
                    post_next(&r, c);
                } else if (c->sent == c->req.len) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(r.ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
                continue;
            }
            if (!on_readable(&r, c))
                c->busy = false;
        }
        if (hl_mono_us() - last_expiry > 1000000) {
            expire(&r, conns, cfg.connections);
            last_expiry = hl_mono_us();
        }
        busy = 0;
        for (int64_t i = 0; i < cfg.connections; i++)
            busy += conns[i].busy;
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
    for (int64_t i = 0; conns && i < cfg.connections; i++) {
        close_conn(&conns[i]);
        hl_buf_release(&conns[i].req);
    }
    free(conns);
    if (r.ep >= 0)
        close(r.ep);
    free(r.body);
    free(r.pad);
    free(r.lat_us);
    hl_cfg_release(opts, NOPTS, &cfg);
    return rc;
}
