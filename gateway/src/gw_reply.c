/* Answers: JSON bodies, RFC 9457 problem+json errors (with field-level `errors[]`), 204
 * and 405. Every answer but 204 leaves through reply_raw, which writes status line,
 * headers and body in one mg_write. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>

#include "gw_fence.h"
#include "gw_metrics.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "hl/buf.h"
#include "hl/banned.h"

#define PROBLEM_BASE "https://hookline.dev/problems/"

void gw_errors_init(struct gw_errors *e)
{
    e->list = json_array();
}

void gw_errors_release(struct gw_errors *e)
{
    json_decref(e->list);
    e->list = NULL;
}

void gw_errors_add(struct gw_errors *e, const char *pointer, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    json_array_append_new(e->list, json_pack("{s:s, s:s}", "pointer", pointer, "detail", detail));
}

bool gw_errors_any(const struct gw_errors *e)
{
    return json_array_size(e->list) > 0;
}

/* The Date header's value, formatted once per second per thread (civetweb's format). */
static const char *http_date(void)
{
    static _Thread_local time_t cached = (time_t)-1;
    static _Thread_local char date[64];
    time_t now = time(NULL);
    if (now != cached) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached = now;
    }
    return date;
}

/* The Connection header civetweb's mg_response_header_send would choose, when this
 * request leaves no doubt about it; NULL otherwise (then civetweb chooses). civetweb keeps
 * a connection alive unless it must close it (only our own mg_disable_connection_keep_alive
 * does that for a request whose body was read in full: r->closing), the client asked for
 * "close", the request is HTTP/1.0 without "Connection", or (older civetweb) the status is
 * 401. Everything unusual is left to civetweb. */
static const char *connection_header(const struct gw_req *r, int status)
{
    if (r->closing || status == 401 || r->info->content_length < 0 || !r->info->http_version)
        return NULL;
    const char *c = mg_get_header(r->conn, "Connection");
    if (c)
        return strcasecmp(c, "close") == 0 ? "close" : NULL;
    return strcmp(r->info->http_version, "1.1") == 0 ? "keep-alive" : NULL;
}

/* Status line, headers and body in one mg_write (one send() with tcp_nodelay): civetweb's
 * mg_response_header_* would format and send each header with its own mg_printf. The
 * headers are the ones civetweb sends, in its order: ours, then Date and Connection. */
static int reply_raw(struct gw_req *r, int status, const char *ctype, const char *body,
                     size_t len, const char *extra_headers)
{
    char clen[32];
    gw_fence_drain_held(); /* a change's version is known before it is answered */
    snprintf(clen, sizeof(clen), "%zu", len);
    bool head = strcmp(r->info->request_method, "HEAD") == 0;
    const char *conn_hdr = connection_header(r, status);
    if (!conn_hdr) {
        mg_response_header_start(r->conn, status);
        mg_response_header_add(r->conn, "Content-Type", ctype, -1);
        mg_response_header_add(r->conn, "Content-Length", clen, -1);
        mg_response_header_add(r->conn, "Cache-Control", "no-store", -1);
        if (extra_headers)
            mg_response_header_add_lines(r->conn, extra_headers);
        mg_response_header_send(r->conn);
        if (len && !head)
            mg_write(r->conn, body, len);
        return status;
    }
    struct hl_buf out = HL_BUF_INIT;
    hl_buf_grow(&out, 256 + len);
    /* Pieces, not a format: vsnprintf would cost more than everything else here. */
    char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10), ' '};
    hl_buf_adds(&out, "HTTP/");
    hl_buf_adds(&out, r->info->http_version);
    hl_buf_addch(&out, ' ');
    hl_buf_add(&out, code, sizeof(code));
    hl_buf_adds(&out, mg_get_response_code_text(r->conn, status));
    hl_buf_adds(&out, "\r\nContent-Type: ");
    hl_buf_adds(&out, ctype);
    hl_buf_adds(&out, "\r\nContent-Length: ");
    hl_buf_adds(&out, clen);
    hl_buf_adds(&out, "\r\nCache-Control: no-store\r\n");
    if (extra_headers)
        hl_buf_adds(&out, extra_headers);
    hl_buf_adds(&out, "Date: ");
    hl_buf_adds(&out, http_date());
    hl_buf_adds(&out, "\r\nConnection: ");
    hl_buf_adds(&out, conn_hdr);
    hl_buf_adds(&out, "\r\n\r\n");
    if (len && !head)
        hl_buf_add(&out, body, len);
    mg_write(r->conn, out.ptr, out.len);
    hl_buf_release(&out);
    return status;
}

int gw_reply_json_text(struct gw_req *r, int status, const char *body, size_t len)
{
    return reply_raw(r, status, "application/json", body, len, NULL);
}

int gw_reply_json_hdr(struct gw_req *r, int status, json_t *body, const char *extra_headers)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s)
        abort();
    reply_raw(r, status, "application/json", s, strlen(s), extra_headers);
    free(s);
    return status;
}

int gw_reply_json(struct gw_req *r, int status, json_t *body)
{
    return gw_reply_json_hdr(r, status, body, NULL);
}

static int reply_problem_hdr(struct gw_req *r, int status, json_t *problem,
                             const char *extra_headers)
{
    char *s = json_dumps(problem, JSON_COMPACT);
    json_decref(problem);
    if (!s)
        abort();
    reply_raw(r, status, "application/problem+json", s, strlen(s), extra_headers);
    free(s);
    return status;
}

/* Seconds a client is asked to wait after a 503: a dependency (PostgreSQL, Kafka) is away,
 * and the gateway tries it again within a second (gw_db.c). */
#define UNAVAILABLE_RETRY_AFTER "Retry-After: 2\r\n"

static int reply_problem_obj(struct gw_req *r, int status, json_t *problem)
{
    return reply_problem_hdr(r, status, problem, status == 503 ? UNAVAILABLE_RETRY_AFTER : NULL);
}

static json_t *problem_new(struct gw_req *r, int status, const char *slug, const char *title,
                           const char *detail)
{
    char type[128];
    gw_metrics_problem(slug);
    snprintf(type, sizeof(type), PROBLEM_BASE "%s", slug);
    return json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", title, "status", status,
                     "detail", detail, "instance", r->info->local_uri ? r->info->local_uri : "");
}

int gw_reply_problem(struct gw_req *r, int status, const char *slug, const char *title,
                     const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return reply_problem_obj(r, status, problem_new(r, status, slug, title, detail));
}

int gw_reply_problem_with(struct gw_req *r, int status, const char *slug, const char *title,
                          json_t *members, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    json_t *p = problem_new(r, status, slug, title, detail);
    json_object_update(p, members);
    json_decref(members);
    return reply_problem_obj(r, status, p);
}

int gw_reply_rate_limited(struct gw_req *r, int retry_after_s, const char *fmt, ...)
{
    char detail[512], hdr[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", retry_after_s);
    return reply_problem_hdr(r, 429,
                             problem_new(r, 429, "rate-limited", "Too many requests", detail), hdr);
}

int gw_reply_invalid(struct gw_req *r, struct gw_errors *e, const char *detail)
{
    json_t *p = problem_new(r, 400, "invalid-request", "Invalid request", detail);
    json_object_set(p, "errors", e->list);
    return reply_problem_obj(r, 400, p);
}

int gw_reply_unprocessable(struct gw_req *r, struct gw_errors *e, const char *detail)
{
    json_t *p = problem_new(r, 422, "unprocessable", "Unprocessable request", detail);
    json_object_set(p, "errors", e->list);
    return reply_problem_obj(r, 422, p);
}

int gw_reply_no_content(struct gw_req *r)
{
    gw_fence_drain_held();
    mg_response_header_start(r->conn, 204);
    mg_response_header_add(r->conn, "Content-Length", "0", -1);
    mg_response_header_send(r->conn);
    return 204;
}

int gw_method_not_allowed(struct gw_req *r, const char *allowed)
{
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allowed);
    json_t *p = problem_new(r, 405, "method-not-allowed", "Method not allowed", "");
    json_object_set_new(p, "detail", json_sprintf("'%s' allows %s", r->info->local_uri, allowed));
    char *s = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    reply_raw(r, 405, "application/problem+json", s, strlen(s), hdr);
    free(s);
    return 405;
}

int gw_reply_not_found(struct gw_req *r, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return gw_reply_problem(r, 404, "not-found", "Not found", "%s", detail);
}

int gw_reply_invalid1(struct gw_req *r, const char *pointer, const char *detail,
                      const char *summary)
{
    struct gw_errors e;
    gw_errors_init(&e);
    gw_errors_add(&e, pointer, "%s", detail);
    int st = gw_reply_invalid(r, &e, summary);
    gw_errors_release(&e);
    return st;
}
