/* An HTTP/1.1 exchange as bytes: the request a delivery attempt writes, and an incremental
 * parser of the response it reads.
 *
 * libcurl connects a delivery's connection (DNS, the SSRF check per address, TCP, TLS:
 * dp_deliver.c), and this module speaks HTTP on it. libcurl 7.88 builds each request's
 * header block through its printf engine one byte at a time, and parses each response
 * through a multi handle's state machine: about 88,000 instructions per delivery, 44 % of
 * the dispatcher's (docs/performance.md). A webhook request is always the same shape
 * (one method, a small header block, a body with its length) and a webhook response is
 * read for its status, one header and a capped excerpt of its body, so that work is a few
 * thousand instructions here.
 *
 * The parser follows RFC 9112: a status line, header fields, then a body delimited by
 * Transfer-Encoding: chunked, else Content-Length, else the connection's close; no body
 * for 1xx, 204 and 304. Interim 1xx responses (100 Continue, 103 Early Hints) are skipped.
 * It accepts bare LF line ends, as libcurl does. Pure functions, no I/O: any thread. */
#ifndef DP_HTTP_H
#define DP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/buf.h"

struct dp_headers;

/* Header block bytes a response may have before it is refused (libcurl's own cap is
 * larger, but no webhook receiver answers with more than a few hundred). */
#define DP_HTTP_HEAD_MAX (64 * 1024)

/* Appends the request to out: "METHOD target HTTP/1.1", Host (host_port: the URL's host,
 * with ":port" when the port is not the scheme's default), the lines of hd, Accept,
 * Content-Length, the blank line and the body. A line of hd whose value is empty is left
 * out (libcurl's meaning of "Name:"); "Name;" sends Name with an empty value. */
void dp_http_request(struct hl_buf *out, const char *method, const char *target,
                     const char *host_port, struct dp_headers *hd, const char *body,
                     size_t body_len);

typedef enum {
    DP_HTTP_MORE,  /* every byte was taken; the response goes on */
    DP_HTTP_DONE,  /* the response is complete (*used says how much of the input it took) */
    DP_HTTP_ERROR, /* not HTTP, or broken: see err */
} dp_http_status;

/* Body bytes as they arrive, chunked framing removed; returning false stops the parse
 * (DP_HTTP_ERROR with err "stopped"). */
typedef bool (*dp_http_body_fn)(void *ud, const char *p, size_t n);

struct dp_http_resp {
    /* results */
    long status;         /* the final response's status code, 0 until its line is read */
    bool keep_alive;     /* once DONE: the connection may carry another request */
    char retry_after[64]; /* the Retry-After value, "" when none */
    char err[96];        /* why DP_HTTP_ERROR */
    /* parser state */
    int state;
    int minor;            /* HTTP/1.<minor> */
    bool close, keep;     /* Connection: close / keep-alive seen */
    bool chunked;
    int64_t content_length; /* -1: none */
    uint64_t left;          /* bytes left in the body or the current chunk */
    size_t head_bytes;
    struct hl_buf line;
    dp_http_body_fn on_body;
    void *ud;
};

/* Ready for a response; on_body (may be NULL) gets its body. */
void dp_http_resp_init(struct dp_http_resp *r, dp_http_body_fn on_body, void *ud);
/* Ready for the next response, keeping the storage. */
void dp_http_resp_reset(struct dp_http_resp *r);
void dp_http_resp_release(struct dp_http_resp *r);

/* Takes n bytes of the response. *used (when DONE) is how many were part of it; bytes after
 * a complete response mean the connection cannot be trusted with another request. */
dp_http_status dp_http_resp_feed(struct dp_http_resp *r, const char *p, size_t n,
                                 size_t *used);
/* The peer closed the connection: DONE when that ends the body (no length given),
 * otherwise ERROR. */
dp_http_status dp_http_resp_eof(struct dp_http_resp *r);
/* True before the first byte of a response arrived. */
bool dp_http_resp_untouched(const struct dp_http_resp *r);

#endif
