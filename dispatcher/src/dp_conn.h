/* The dispatcher's HTTP connections: libcurl opens them, Hookline speaks HTTP/1.1 on them.
 *
 * An exchange is one request and its response. Its connection comes from the idle pool
 * when one to the same scheme, host and port is there, else libcurl opens a new one with
 * CURLOPT_CONNECT_ONLY: the name resolved off the loop (libcurl's resolver), every address
 * checked against the SSRF rules before a socket exists (open_socket), TCP, and TLS with
 * the peer verified; then the request and the response go over it, framed by dp_http.c:
 * with curl_easy_send and curl_easy_recv on a TLS connection (they encrypt and decrypt),
 * whose easy handle stays in its multi handle for the connection's life (removing it
 * closes the connection); with send and recv on a plain one, which keeps a duplicate of
 * its socket and lets its handles go.
 *
 * Why not libcurl's own transfers: libcurl 7.88 costs about 88,000 instructions per
 * request, most of them formatting the header lines one byte at a time
 * (docs/performance.md); here a request costs a few thousand.
 *
 * Keep-alive: a connection whose response was complete and allowed it goes back to the
 * pool (at most max_in_flight + 16 idle, none idle longer than IDLE_MAX_MS). An idle
 * connection stays in the epoll set, so a peer's close is noticed, and the connection
 * closed, while it waits. A request that fails on a reused connection before any byte of
 * its response arrived (the peer closed it meanwhile) is sent once more on a new one, as
 * libcurl does; it counts as one attempt.
 *
 * Timeouts: an exchange has a total deadline (the webhook's timeout, from its start,
 * connecting included) and a connect timeout; it ends with CURLE_OPERATION_TIMEDOUT.
 *
 * Ending: dp_conns_step moves what it finished to a queue that dp_conns_next_done empties,
 * so nothing of the caller's runs inside this module (no re-entry).
 *
 * @locality one thread (the dispatcher's loop) for everything here. */
#ifndef DP_CONN_H
#define DP_CONN_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_config.h"
#include "dp_http.h"
#include "hl/buf.h"

struct dp_conns;
struct dp_conn;

struct dp_exchange {
    /* the caller's, set before dp_exchange_start */
    struct dp_http_resp resp;  /* the response's parser: its on_body and ud are the caller's */
    int64_t timeout_ms;        /* the whole exchange, connecting included */
    int64_t connect_timeout_ms;
    const char *log_delivery, *log_webhook; /* whose the exchange is, for log lines */
    /* results, once done */
    CURLcode rc;               /* CURLE_OK: resp holds a complete response */
    char errbuf[CURL_ERROR_SIZE]; /* why, when rc is not CURLE_OK ("" : curl_easy_strerror) */
    int ssrf_refused, ssrf_passed; /* addresses the SSRF check refused / let through */
    char ssrf_why[256];            /* why the last refused one was */
    size_t received;               /* response bytes received */
    /* the module's */
    const char *url;   /* dp_exchange_start's, which must outlive the exchange */
    struct hl_buf req; /* the request's bytes (dp_http_request) */
    struct dp_conn *conn;
    size_t sent;
    bool reused, resent, done;
    int64_t started_mono, deadline_mono;
    struct dp_exchange *prev, *next; /* active, or in the done queue */
};

struct dp_conns *dp_conns_new(const struct dp_config *cfg, char *errbuf, size_t errlen);
/* Closes every connection. No exchange may be active. */
void dp_conns_free(struct dp_conns *c);

/* Starts x: method to url (a webhook URL the gateway validated) with the header lines of
 * hd and the body (copied). url must stay valid until x ends (a resend connects to it
 * again). x ends through the done queue, unless aborted first. */
void dp_exchange_start(struct dp_conns *c, struct dp_exchange *x, const char *url,
                       const char *method, struct dp_headers *hd, const char *body,
                       size_t body_len);
/* Ends x at once without queueing it (its connection is closed); x may be done already,
 * then it only leaves the queue. */
void dp_exchange_abort(struct dp_conns *c, struct dp_exchange *x);
/* Releases x's own storage (the request, the parser). */
void dp_exchange_release(struct dp_exchange *x);

/* A descriptor that is readable when step has socket work: poll it with the others. */
int dp_conns_fd(const struct dp_conns *c);
/* Milliseconds until a timer (libcurl's, or an exchange's deadline) is due: 0 now, -1 none. */
long dp_conns_due_in(struct dp_conns *c);
/* Does what the sockets and the timers have for it, without waiting. */
void dp_conns_step(struct dp_conns *c);
/* The next exchange that ended, NULL when none. */
struct dp_exchange *dp_conns_next_done(struct dp_conns *c);

#endif
