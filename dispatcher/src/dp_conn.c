/* The dispatcher's HTTP connections (see dp_conn.h).
 *
 * SSRF protection happens in open_socket(), libcurl's CURLOPT_OPENSOCKETFUNCTION: it sees
 * each address libcurl is about to connect to, after DNS, and refuses the blocked ones
 * before a socket exists, so no packet leaves for them. Checking the URL's host name
 * instead would let a name that resolves to 10.0.0.1, or one whose DNS answer changes
 * between check and connect (rebinding), through. Proxies are off (a proxy would be the
 * address checked, not the endpoint), and a connection is only reused for the scheme,
 * host and port it was opened (and checked) for.
 *
 * TLS peers are always verified (CURLOPT_SSL_VERIFYPEER and VERIFYHOST), against the
 * system store or the ca_bundle option; there is deliberately no switch to turn that off.
 *
 * Two epoll sets: libcurl's sockets while it connects (on_socket puts them in curl_fd, as
 * curl_multi_socket_action wants), and the connections once open (conn_fd, each with its
 * struct dp_conn). curl_fd is itself in conn_fd, so the loop polls one descriptor. */
#include "dp_conn.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp_metrics.h"
#include "dp_urlcache.h"
#include "hl/hash.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/ssrf.h"
#include "hl/time.h"
#include "hl/banned.h"

/* webhook URLs kept parsed (dp_urlcache.h): a few hundred bytes each */
#define URL_CACHE_SLOTS 1024
/* libcurl's own limit on how long it keeps an idle connection (CURLOPT_MAXAGE_CONN) */
#define IDLE_MAX_MS 118000
#define IDLE_BUCKETS 256
/* socket events taken from epoll at a time */
#define EVENTS_MAX 64
#define RECV_CHUNK 16384
/* What an open connection is watched for, idle or waiting for its answer alike, so that
 * neither an answer nor a return to the pool costs an epoll_ctl: readable (an answer, or
 * on an idle connection bytes nobody asked for) and the peer's close. */
#define READ_EVENTS (EPOLLIN | EPOLLRDHUP)

/* A connection, with the handles that open it: each has a multi handle of its own. A
 * connection libcurl opened with CONNECT_ONLY goes back to its multi handle's connection
 * cache, where libcurl 7.88, whenever it opens another connection through that multi
 * handle, closes the ones it finds readable or older than CURLOPT_MAXAGE_CONN: a socket
 * with a response waiting to be read would be closed under its exchange. Alone in its
 * multi handle, a connection is never looked at that way. The multi handles share one
 * DNS cache and TLS session cache (c->share). A plain connection lets its handles go once
 * it is open (detach). Closed connections' handles serve the next ones (the spare list). */
struct dp_conn {
    CURL *easy;
    CURLM *multi;
    curl_socket_t fd;          /* CURL_SOCKET_BAD while connecting */
    char *key;                 /* dp_url_parts.key */
    CURLU *url;                /* while connecting: the URL libcurl connects to */
    struct dp_exchange *x;     /* the exchange it carries; NULL when idle */
    uint32_t events;           /* what conn_fd watches it for */
    bool opening;              /* in the connecting list: libcurl connects it */
    bool dead;                 /* closed; a spare once the events in hand are handled */
    int64_t idle_since_mono;
    struct dp_conn *bnext;           /* idle: in its key's bucket */
    struct dp_conn *iprev, *inext;   /* idle: oldest first; connecting; dead; spare */
};

/* A socket libcurl is connecting with, as curl_fd knows it. */
struct csock {
    struct dp_conn *k;
    curl_socket_t s;
};

struct dp_conns {
    const struct dp_config *cfg;
    CURLSH *share;
    int curl_fd, conn_fd;
    struct dp_urlcache *urls;
    struct dp_exchange *active; /* started, not done */
    struct dp_exchange *done_head, *done_tail;
    int64_t check_mono; /* no deadline of an active exchange is earlier than this */
    struct dp_conn *idle[IDLE_BUCKETS];
    struct dp_conn *oldest, *newest;
    size_t nidle, idle_cap;
    struct dp_conn *connecting; /* libcurl connects them */
    struct dp_conn *graveyard;
    struct dp_conn *spare;
    size_t nspare, spare_cap;
};

/* --- the pool ---------------------------------------------------------------------- */

static size_t bucket_of(const char *key)
{
    return hl_hash_str(HL_HASH_INIT, key) & (IDLE_BUCKETS - 1);
}

static void watch(struct dp_conns *c, struct dp_conn *k, uint32_t events)
{
    if (k->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = k};
    int op = k->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(c->conn_fd, op, k->fd, &ev) != 0)
        hl_log(HL_LOG_ERROR, "deliver", "epoll_ctl on a connection: %s", strerror(errno));
    k->events = events;
}

static void idle_unlink(struct dp_conns *c, struct dp_conn *k)
{
    struct dp_conn **pp = &c->idle[bucket_of(k->key)];
    while (*pp != k)
        pp = &(*pp)->bnext;
    *pp = k->bnext;
    if (k->iprev)
        k->iprev->inext = k->inext;
    else
        c->oldest = k->inext;
    if (k->inext)
        k->inext->iprev = k->iprev;
    else
        c->newest = k->iprev;
    k->bnext = k->iprev = k->inext = NULL;
    c->nidle--;
    dp_metrics_connections_idle(-1);
}

static void connecting_unlink(struct dp_conns *c, struct dp_conn *k)
{
    assert(k->opening);
    k->opening = false;
    if (k->iprev)
        k->iprev->inext = k->inext;
    else
        c->connecting = k->inext;
    if (k->inext)
        k->inext->iprev = k->iprev;
    k->iprev = k->inext = NULL;
}

/* Closes k (libcurl closes the socket as its handle leaves the multi handle); its handles
 * become a spare once the socket events in hand are handled (conns_bury). */
static void conn_close(struct dp_conns *c, struct dp_conn *k)
{
    assert(!k->dead);
    if (k->opening)
        connecting_unlink(c, k);
    else if (!k->x)
        idle_unlink(c, k);
    if (k->events)
        epoll_ctl(c->conn_fd, EPOLL_CTL_DEL, k->fd, NULL);
    k->events = 0;
    if (k->easy) {
        curl_multi_remove_handle(k->multi, k->easy);
        curl_easy_setopt(k->easy, CURLOPT_CURLU, NULL);
        curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, NULL);
    } else {
        close(k->fd); /* a plain connection's own socket (detach) */
    }
    curl_url_cleanup(k->url);
    k->url = NULL;
    free(k->key);
    k->key = NULL;
    k->x = NULL;
    k->dead = true;
    k->inext = c->graveyard;
    c->graveyard = k;
}

static void conn_free(struct dp_conn *k)
{
    curl_easy_cleanup(k->easy);
    curl_multi_cleanup(k->multi);
    free(k);
}

static void conns_bury(struct dp_conns *c)
{
    while (c->graveyard) {
        struct dp_conn *k = c->graveyard;
        c->graveyard = k->inext;
        if (!k->easy) {
            free(k); /* a plain connection: its handles went back when it opened */
        } else if (c->nspare < c->spare_cap) {
            k->inext = c->spare;
            c->spare = k;
            c->nspare++;
        } else {
            conn_free(k);
        }
    }
}

/* An idle connection to key, or NULL. The newest: the least likely to have been closed. */
static struct dp_conn *idle_take(struct dp_conns *c, const char *key)
{
    struct dp_conn *best = NULL;
    for (struct dp_conn *k = c->idle[bucket_of(key)]; k; k = k->bnext)
        if (strcmp(k->key, key) == 0 && (!best || k->idle_since_mono > best->idle_since_mono))
            best = k;
    if (best)
        idle_unlink(c, best);
    return best;
}

static void idle_put(struct dp_conns *c, struct dp_conn *k)
{
    int64_t now = hl_mono_ms();
    k->x = NULL;
    k->idle_since_mono = now;
    watch(c, k, READ_EVENTS);
    size_t b = bucket_of(k->key);
    k->bnext = c->idle[b];
    c->idle[b] = k;
    k->iprev = c->newest;
    k->inext = NULL;
    if (c->newest)
        c->newest->inext = k;
    else
        c->oldest = k;
    c->newest = k;
    c->nidle++;
    dp_metrics_connections_idle(1);
    while (c->oldest && c->nidle > c->idle_cap)
        conn_close(c, c->oldest);
}

/* Closes the connections idle longer than IDLE_MAX_MS at now (the oldest come first). */
static void idle_expire(struct dp_conns *c, int64_t now)
{
    while (c->oldest && now - c->oldest->idle_since_mono > IDLE_MAX_MS)
        conn_close(c, c->oldest);
}

/* --- exchanges --------------------------------------------------------------------- */

static void done_push(struct dp_conns *c, struct dp_exchange *x)
{
    /* off the active list, onto the done queue */
    if (x->prev)
        x->prev->next = x->next;
    else
        c->active = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = NULL;
    x->prev = c->done_tail;
    if (c->done_tail)
        c->done_tail->next = x;
    else
        c->done_head = x;
    c->done_tail = x;
    x->done = true;
}

/* x ends with rc (why: its message, NULL to keep what errbuf has); its connection, if
 * any, is closed. */
static void fail(struct dp_conns *c, struct dp_exchange *x, CURLcode rc, const char *why)
{
    if (x->conn) {
        conn_close(c, x->conn);
        x->conn = NULL;
    }
    x->rc = rc;
    if (why)
        snprintf(x->errbuf, sizeof(x->errbuf), "%s", why);
    done_push(c, x);
}

/* x's response is complete; reusable: nothing came after it. A connection carries
 * another request only when the response allows it and x's request went out whole (an
 * answer may come early, a 413 say, while the request's end was still unsent). */
static void succeed(struct dp_conns *c, struct dp_exchange *x, bool reusable)
{
    struct dp_conn *k = x->conn;
    x->conn = NULL;
    if (reusable && x->resp.keep_alive && x->sent == x->req.len)
        idle_put(c, k);
    else
        conn_close(c, k);
    x->rc = CURLE_OK;
    done_push(c, x);
}

static void connect_new(struct dp_conns *c, struct dp_exchange *x,
                        const struct dp_url_parts *parts);
static void send_some(struct dp_conns *c, struct dp_exchange *x);

/* x's request failed on a reused connection before its answer began: the peer had
 * closed it. Once, x goes again on a new connection. */
static bool resend(struct dp_conns *c, struct dp_exchange *x)
{
    if (!x->reused || x->resent || !dp_http_resp_untouched(&x->resp))
        return false;
    struct dp_conn *k = x->conn;
    x->conn = NULL;
    x->resent = true;
    x->reused = false;
    x->sent = 0;
    dp_metrics_request_resent();
    conn_close(c, k);
    connect_new(c, x, dp_urlcache_parts(c->urls, x->url));
    return true;
}

/* curl_easy_send and _recv on a connection libcurl keeps (TLS), send and recv on a plain
 * one's own socket, with libcurl's answers. */
static CURLcode conn_send(struct dp_conn *k, const char *p, size_t n, size_t *done)
{
    if (k->easy)
        return curl_easy_send(k->easy, p, n, done);
    ssize_t r = send(k->fd, p, n, MSG_NOSIGNAL);
    *done = r > 0 ? (size_t)r : 0;
    if (r >= 0)
        return CURLE_OK;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? CURLE_AGAIN
                                                                      : CURLE_SEND_ERROR;
}

static CURLcode conn_recv(struct dp_conn *k, char *p, size_t n, size_t *done)
{
    if (k->easy)
        return curl_easy_recv(k->easy, p, n, done);
    ssize_t r = recv(k->fd, p, n, 0);
    *done = r > 0 ? (size_t)r : 0;
    if (r >= 0)
        return CURLE_OK;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? CURLE_AGAIN
                                                                      : CURLE_RECV_ERROR;
}

static void send_some(struct dp_conns *c, struct dp_exchange *x)
{
    struct dp_conn *k = x->conn;
    while (x->sent < x->req.len) {
        size_t n = 0;
        CURLcode rc = conn_send(k, x->req.ptr + x->sent, x->req.len - x->sent, &n);
        if (rc == CURLE_AGAIN) {
            watch(c, k, READ_EVENTS | EPOLLOUT);
            return;
        }
        if (rc != CURLE_OK) {
            if (!resend(c, x))
                fail(c, x, CURLE_SEND_ERROR, "Failure when sending data to the peer");
            return;
        }
        x->sent += n;
    }
    watch(c, k, READ_EVENTS);
}

static void recv_some(struct dp_conns *c, struct dp_exchange *x)
{
    struct dp_conn *k = x->conn;
    char buf[RECV_CHUNK];
    for (;;) {
        size_t n = 0, used = 0;
        CURLcode rc = conn_recv(k, buf, sizeof(buf), &n);
        if (rc == CURLE_AGAIN)
            return;
        dp_http_status st;
        if (rc != CURLE_OK || n == 0) {
            /* closed (or reset): the end of a body that runs to the close, or a failure */
            if (resend(c, x))
                return;
            st = dp_http_resp_eof(&x->resp);
            if (st == DP_HTTP_DONE) {
                succeed(c, x, false);
            } else if (rc != CURLE_OK && x->received) {
                fail(c, x, CURLE_RECV_ERROR, "Failure when receiving data from the peer");
            } else {
                fail(c, x, x->received ? CURLE_PARTIAL_FILE : CURLE_GOT_NOTHING,
                     x->resp.err);
            }
            return;
        }
        x->received += n;
        st = dp_http_resp_feed(&x->resp, buf, n, &used);
        if (st == DP_HTTP_DONE) {
            /* bytes beyond the response: the connection is out of step */
            succeed(c, x, used == n);
            return;
        }
        if (st == DP_HTTP_ERROR) {
            bool stopped = strcmp(x->resp.err, "stopped") == 0;
            fail(c, x, stopped ? CURLE_WRITE_ERROR : CURLE_WEIRD_SERVER_REPLY,
                 stopped ? "Failure writing output to destination" : x->resp.err);
            return;
        }
    }
}

/* CURLOPT_OPENSOCKETFUNCTION: the SSRF check on the address about to be connected. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct dp_exchange *x = ud;
    struct sockaddr_storage ss;
    char why[sizeof(x->ssrf_why)];

    /* curl's struct declares a bare sockaddr but hands a whole sockaddr_storage. */
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, (const char *)&a->addr, a->addrlen < sizeof(ss) ? a->addrlen : sizeof(ss));
    if (purpose != CURLSOCKTYPE_IPCXN) {
        snprintf(why, sizeof(why), "socket purpose %d is not a plain connection", (int)purpose);
    } else if (!hl_ssrf_blocked((const struct sockaddr *)&ss, &hl_ssrf_allow, why,
                                sizeof(why))) {
        x->ssrf_passed++;
        return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    }
    x->ssrf_refused++;
    snprintf(x->ssrf_why, sizeof(x->ssrf_why), "%s", why);
    hl_log(HL_LOG_WARN, "deliver", "ssrf: delivery '%s' to webhook '%s': not connecting: %s",
           x->log_delivery ? x->log_delivery : "", x->log_webhook ? x->log_webhook : "", why);
    return CURL_SOCKET_BAD;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *socketp);

/* A connection's handles, with the options every connection of this dispatcher has
 * alike: a spare, or new ones. */
static struct dp_conn *conn_new(struct dp_conns *c)
{
    struct dp_conn *k = c->spare;
    if (k) {
        c->spare = k->inext;
        c->nspare--;
        CURL *e = k->easy;
        CURLM *m = k->multi;
        memset(k, 0, sizeof(*k));
        k->easy = e;
        k->multi = m;
        k->fd = CURL_SOCKET_BAD;
        curl_easy_setopt(e, CURLOPT_PRIVATE, k); /* a detached connection's handles had another */
        return k;
    }
    k = hl_xcalloc(1, sizeof(*k));
    k->fd = CURL_SOCKET_BAD;
    k->multi = curl_multi_init();
    CURL *e = k->easy = curl_easy_init();
    if (!e || !k->multi)
        abort();
    curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, c);
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    /* "" overrides http_proxy and friends from the environment. */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->cfg->ca_bundle && *c->cfg->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg->ca_bundle);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, k);
    return k;
}

/* A new connection for x to its URL (parts: the URL's, NULL when libcurl refused it). */
static void connect_new(struct dp_conns *c, struct dp_exchange *x,
                        const struct dp_url_parts *parts)
{
    struct dp_conn *k = conn_new(c);
    k->x = x;
    x->conn = k;
    k->url = parts ? dp_urlcache_get(c->urls, x->url) : NULL;
    k->key = hl_xstrdup(parts ? parts->key : x->url);
    if (k->url)
        curl_easy_setopt(k->easy, CURLOPT_CURLU, k->url);
    else /* libcurl refuses it again, and says why */
        curl_easy_setopt(k->easy, CURLOPT_URL, x->url);
    int64_t left = x->deadline_mono - hl_mono_ms();
    if (left < 1)
        left = 1;
    curl_easy_setopt(k->easy, CURLOPT_TIMEOUT_MS, (long)left);
    curl_easy_setopt(k->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(x->connect_timeout_ms < left ? x->connect_timeout_ms : left));
    curl_easy_setopt(k->easy, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    k->opening = true;
    k->inext = c->connecting;
    if (c->connecting)
        c->connecting->iprev = k;
    c->connecting = k;
    CURLMcode mc = curl_multi_add_handle(k->multi, k->easy);
    assert(mc == CURLM_OK);
    (void)mc;
}

/* A plain-HTTP connection needs libcurl no more once it is open: it keeps a duplicate of
 * the socket, and its handles let go of theirs (libcurl closes it, not the connection)
 * and become a spare for the next connection. One descriptor instead of three, no
 * libcurl state kept, and send and recv straight on the socket. A TLS connection keeps
 * its handles: its session lives in them. Without a descriptor to spare, k stays as it
 * is. */
static void detach(struct dp_conns *c, struct dp_conn *k)
{
    int fd = fcntl(k->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return;
    curl_multi_remove_handle(k->multi, k->easy);
    struct dp_conn *shell = hl_xcalloc(1, sizeof(*shell));
    shell->easy = k->easy;
    shell->multi = k->multi;
    shell->dead = true;
    shell->inext = c->graveyard;
    c->graveyard = shell;
    k->easy = NULL;
    k->multi = NULL;
    k->fd = fd;
}

/* libcurl finished connecting k (rc: how). */
static void connected(struct dp_conns *c, struct dp_conn *k, CURLcode rc)
{
    struct dp_exchange *x = k->x;
    assert(x && k->fd == CURL_SOCKET_BAD);
    connecting_unlink(c, k);
    curl_easy_setopt(k->easy, CURLOPT_CURLU, NULL);
    curl_url_cleanup(k->url);
    k->url = NULL;
    if (rc != CURLE_OK) {
        fail(c, x, rc, NULL);
        return;
    }
    curl_socket_t s = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(k->easy, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK ||
        s == CURL_SOCKET_BAD) {
        fail(c, x, CURLE_COULDNT_CONNECT, "connected, but libcurl gave no socket");
        return;
    }
    k->fd = s;
    dp_metrics_connection_opened();
    curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, NULL); /* x's; x may go first */
    if (strncmp(k->key, "http://", 7) == 0)
        detach(c, k);
    send_some(c, x);
}

void dp_exchange_start(struct dp_conns *c, struct dp_exchange *x, const char *url,
                       const char *method, struct dp_headers *hd, const char *body,
                       size_t body_len)
{
    x->url = url;
    x->rc = CURLE_OK;
    x->errbuf[0] = '\0';
    x->ssrf_refused = x->ssrf_passed = 0;
    x->ssrf_why[0] = '\0';
    x->received = 0;
    x->sent = 0;
    x->reused = x->resent = x->done = false;
    x->started_mono = hl_mono_ms();
    x->deadline_mono = x->started_mono + x->timeout_ms;
    if (x->deadline_mono < c->check_mono)
        c->check_mono = x->deadline_mono;
    x->prev = NULL;
    x->next = c->active;
    if (c->active)
        c->active->prev = x;
    c->active = x;

    const struct dp_url_parts *parts = dp_urlcache_parts(c->urls, url);
    hl_buf_clear(&x->req);
    if (parts)
        dp_http_request(&x->req, method, parts->target, parts->host_port, hd, body, body_len);
    struct dp_conn *k = parts ? idle_take(c, parts->key) : NULL;
    if (!k) {
        connect_new(c, x, parts);
        return;
    }
    k->x = x;
    x->conn = k;
    x->reused = true;
    send_some(c, x);
}

void dp_exchange_abort(struct dp_conns *c, struct dp_exchange *x)
{
    if (!x->done)
        fail(c, x, CURLE_ABORTED_BY_CALLBACK, "aborted");
    /* off the done queue */
    if (x->prev)
        x->prev->next = x->next;
    else
        c->done_head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    else
        c->done_tail = x->prev;
    x->prev = x->next = NULL;
}

void dp_exchange_release(struct dp_exchange *x)
{
    hl_buf_release(&x->req);
    dp_http_resp_release(&x->resp);
}

struct dp_exchange *dp_conns_next_done(struct dp_conns *c)
{
    struct dp_exchange *x = c->done_head;
    if (!x)
        return NULL;
    c->done_head = x->next;
    if (c->done_head)
        c->done_head->prev = NULL;
    else
        c->done_tail = NULL;
    x->prev = x->next = NULL;
    return x;
}

/* --- the loop's side ---------------------------------------------------------------- */

/* CURLMOPT_SOCKETFUNCTION of every connection's multi handle: watch socket s of e's
 * connection for what curl waits for on it. socketp is what curl_multi_assign gave s: its
 * struct csock once s is in curl_fd. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *socketp)
{
    struct dp_conns *c = ud;
    struct csock *cs = socketp;
    if (what == CURL_POLL_REMOVE) {
        /* s may be closed already, which took it out of the set */
        epoll_ctl(c->curl_fd, EPOLL_CTL_DEL, s, NULL);
        if (cs) {
            curl_multi_assign(cs->k->multi, s, NULL);
            free(cs);
        }
        return 0;
    }
    if (!cs) {
        cs = hl_xmalloc(sizeof(*cs));
        cs->s = s;
        cs->k = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&cs->k);
        curl_multi_assign(cs->k->multi, s, cs);
    }
    struct epoll_event ev = {
        .events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u),
        .data.ptr = cs};
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    int rc = epoll_ctl(c->curl_fd, op, s, &ev);
    /* a descriptor closed without its REMOVE left the set on its own, and its number can
     * come back as a new socket: take the set as it is */
    if (rc != 0 && errno == (op == EPOLL_CTL_ADD ? EEXIST : ENOENT))
        rc = epoll_ctl(c->curl_fd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev);
    if (rc != 0) {
        hl_log(HL_LOG_ERROR, "deliver", "epoll_ctl on a connecting socket: %s",
               strerror(errno));
        return -1; /* curl fails the transfer */
    }
    return 0;
}

static void socket_action(CURLM *m, curl_socket_t s, int bits)
{
    int running = 0;
    CURLMcode mc = curl_multi_socket_action(m, s, bits, &running);
    if (mc != CURLM_OK)
        hl_log(HL_LOG_ERROR, "deliver", "curl_multi_socket_action: %s", curl_multi_strerror(mc));
}

/* Hands curl what epoll has for the sockets it is connecting, one event per epoll_wait:
 * an event's socket_action may make libcurl REMOVE another socket, whose struct csock an
 * event taken in the same batch would still name. */
static void curl_sockets_ready(struct dp_conns *c)
{
    struct epoll_event ev;
    for (int i = 0; i < EVENTS_MAX && epoll_wait(c->curl_fd, &ev, 1, 0) == 1; i++) {
        struct csock *cs = ev.data.ptr;
        uint32_t got = ev.events;
        int bits = (got & (EPOLLIN | EPOLLHUP | EPOLLRDHUP) ? CURL_CSELECT_IN : 0) |
                   (got & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                   (got & EPOLLERR ? CURL_CSELECT_ERR : 0);
        socket_action(cs->k->multi, cs->s, bits);
    }
}

static void conn_ready(struct dp_conns *c, struct dp_conn *k, uint32_t got)
{
    struct dp_exchange *x = k->x;
    if (!x) { /* idle: the peer closed it, or said something out of turn */
        conn_close(c, k);
        return;
    }
    if (x->sent < x->req.len && (got & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        send_some(c, x);
    /* an answer before the request was all sent (a 413, say) is read all the same */
    if (!x->done && x->conn == k && (got & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
        recv_some(c, x);
}

long dp_conns_due_in(struct dp_conns *c)
{
    long ms = -1;
    for (struct dp_conn *k = c->connecting; k; k = k->inext) {
        long due = -1;
        if (curl_multi_timeout(k->multi, &due) != CURLM_OK)
            due = 0;
        if (due >= 0 && (ms < 0 || due < ms))
            ms = due;
    }
    if (c->active) {
        int64_t until = c->check_mono - hl_mono_ms();
        if (until < 0)
            until = 0;
        if (ms < 0 || until < ms)
            ms = (long)until;
    }
    return ms;
}

/* Ends the exchanges past their deadline at now, and finds the next deadline. */
static void expire(struct dp_conns *c, int64_t now)
{
    if (now < c->check_mono)
        return;
    c->check_mono = INT64_MAX;
    for (struct dp_exchange *x = c->active, *next; x; x = next) {
        next = x->next;
        if (x->deadline_mono > now) {
            if (x->deadline_mono < c->check_mono)
                c->check_mono = x->deadline_mono;
            continue;
        }
        char why[CURL_ERROR_SIZE];
        snprintf(why, sizeof(why),
                 "Operation timed out after %lld milliseconds with %zu bytes received",
                 (long long)(now - x->started_mono), x->received);
        fail(c, x, CURLE_OPERATION_TIMEDOUT, why);
    }
}

/* libcurl's timers of the connections it is connecting, and the connects that ended. */
static void connects(struct dp_conns *c)
{
    for (struct dp_conn *k = c->connecting, *next; k; k = next) {
        next = k->inext;
        long due = -1;
        if (curl_multi_timeout(k->multi, &due) == CURLM_OK && due == 0)
            socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0);
        CURLMsg *m;
        int left = 0;
        while (k->opening && (m = curl_multi_info_read(k->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE)
                connected(c, k, m->data.result);
    }
}

void dp_conns_step(struct dp_conns *c)
{
    struct epoll_event ev[EVENTS_MAX];
    int n;
    do {
        n = epoll_wait(c->conn_fd, ev, EVENTS_MAX, 0);
        for (int i = 0; i < n; i++) {
            struct dp_conn *k = ev[i].data.ptr;
            if (!k)
                curl_sockets_ready(c);
            else if (!k->dead)
                conn_ready(c, k, ev[i].events);
        }
        conns_bury(c); /* no event in hand names a closed connection any more */
    } while (n == EVENTS_MAX);
    connects(c);
    int64_t now = hl_mono_ms();
    expire(c, now);
    idle_expire(c, now);
    conns_bury(c);
}

int dp_conns_fd(const struct dp_conns *c)
{
    return c->conn_fd;
}

struct dp_conns *dp_conns_new(const struct dp_config *cfg, char *errbuf, size_t errlen)
{
    struct dp_conns *c = hl_xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->share = curl_share_init();
    c->curl_fd = epoll_create1(EPOLL_CLOEXEC);
    c->conn_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (!c->share || c->curl_fd < 0 || c->conn_fd < 0 ||
        epoll_ctl(c->conn_fd, EPOLL_CTL_ADD, c->curl_fd, &ev) != 0) {
        snprintf(errbuf, errlen, "%s failed", c->share ? "epoll" : "curl_share_init");
        if (c->share)
            curl_share_cleanup(c->share);
        if (c->curl_fd >= 0)
            close(c->curl_fd);
        if (c->conn_fd >= 0)
            close(c->conn_fd);
        free(c);
        return NULL;
    }
    /* one thread: no lock functions */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    /* No cap per host: webhooks sharing a host (a chat service's webhook URLs, one
     * customer's endpoint for many tenants) are each bounded by their own concurrency,
     * and all by max_in_flight. */
    c->idle_cap = (size_t)cfg->max_in_flight + 16;
    c->check_mono = INT64_MAX;
    c->urls = dp_urlcache_new(URL_CACHE_SLOTS);
    c->spare_cap = (size_t)cfg->max_in_flight;
    return c;
}

void dp_conns_free(struct dp_conns *c)
{
    if (!c)
        return;
    assert(!c->active && !c->connecting);
    while (c->oldest)
        conn_close(c, c->oldest);
    c->spare_cap = 0; /* the graveyard frees its connections */
    conns_bury(c);
    while (c->spare) {
        struct dp_conn *k = c->spare;
        c->spare = k->inext;
        conn_free(k);
    }
    dp_urlcache_free(c->urls);
    curl_share_cleanup(c->share);
    close(c->curl_fd);
    close(c->conn_fd);
    free(c);
}
