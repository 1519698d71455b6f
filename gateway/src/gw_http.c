/* The HTTP server and the helpers route handlers are written with: body reading with size
 * limits, JSON responses, RFC 9457 problem+json errors, and the top-level route table.
 *
 * civetweb calls gw's single request handler on its worker threads; every handler runs to
 * completion on that thread (blocking on PostgreSQL or on Kafka acknowledgements), so the
 * number of requests in progress is bounded by http_threads. */
#include <ctype.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gw.h"
#include "gw_fence.h"
#include "hl/json.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/banned.h"

#define PROBLEM_BASE "https://hookline.dev/problems/"

struct gw_server {
    struct mg_context *mg;
    struct gw_ctx *ctx;
};

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

static json_t *body_object(struct gw_req *r, bool allow_nul)
{
    json_error_t jerr;
    if (!r->body || r->body_len == 0) {
        gw_reply_problem(r, 400, "invalid-json", "Invalid JSON", "the request body is empty");
        return NULL;
    }
    /* The fast parser answers for the usual body; jansson for anything else, and for
     * every error message. read_body has bounded the nesting. */
    json_t *root = hl_json_parse(r->body, r->body_len);
    if (!root) /* \u0000 is valid JSON: strings keep their length in the tree */
        root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        char why[JSON_ERROR_TEXT_LENGTH];
        gw_reply_problem(r, 400, "invalid-json", "Invalid JSON",
                         "the body is not valid JSON: %s (line %d, column %d)",
                         hl_json_error_text(&jerr, why, sizeof(why)), jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        gw_reply_problem(r, 400, "invalid-json", "Invalid JSON",
                         "the body must be a JSON object");
        return NULL;
    }
    size_t nul = allow_nul ? r->body_len : hl_json_find_nul_escape(r->body, r->body_len);
    if (nul < r->body_len) {
        json_decref(root);
        gw_reply_problem(r, 400, "invalid-request", "Invalid request",
                         "\\u0000 at byte %zu: U+0000 cannot be stored (only event data may "
                         "hold it)", nul);
        return NULL;
    }
    return root;
}

json_t *gw_body_object(struct gw_req *r)
{
    return body_object(r, false);
}

json_t *gw_body_event(struct gw_req *r)
{
    return body_object(r, true);
}

bool gw_uuid_like(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
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

int gw_page_params(struct gw_req *r, long *limit, char *cursor, size_t cursor_len,
                   bool *has_cursor)
{
    char limit_s[16];
    *limit = 50;
    if (gw_query(r, "limit", limit_s, sizeof(limit_s))) {
        char *end;
        *limit = strtol(limit_s, &end, 10);
        if (*end || *limit < 1 || *limit > 250) {
            struct gw_errors e;
            gw_errors_init(&e);
            gw_errors_add(&e, "", "query parameter 'limit' must be 1..250");
            int st = gw_reply_invalid(r, &e, "invalid query parameter");
            gw_errors_release(&e);
            return st;
        }
    }
    /* Cursors are the id of the last item of the previous page. */
    *has_cursor = false;
    if (!cursor)
        return 0; /* the caller pages by something other than a UUID */
    *has_cursor = gw_query(r, "cursor", cursor, cursor_len) && cursor[0];
    if (*has_cursor && !gw_uuid_like(cursor)) {
        struct gw_errors e;
        gw_errors_init(&e);
        gw_errors_add(&e, "", "query parameter 'cursor' is not a cursor this API returned");
        int st = gw_reply_invalid(r, &e, "invalid query parameter");
        gw_errors_release(&e);
        return st;
    }
    return 0;
}

bool gw_query(struct gw_req *r, const char *name, char *out, size_t outlen)
{
    const char *qs = r->info->query_string;
    if (!qs)
        return false;
    int n = mg_get_var(qs, strlen(qs), name, out, outlen);
    if (n == -2 && outlen >= 2) /* longer than any valid value: refused, never ignored */
        memcpy(out, "\x7f", 2);
    return n >= 0 || n == -2;
}

/* Reads the body up to max_body_bytes within request_timeout_ms, and refuses JSON nested
 * deeper than max_json_depth before anything parses it. Returns 0, or the status of the
 * error reply sent. */
static int read_body(struct gw_req *r)
{
    const struct gw_config *cfg = r->ctx->cfg;
    int64_t limit = cfg->max_body_bytes;
    long long declared = r->info->content_length;
    if (declared > limit)
        return gw_reply_problem(r, 413, "payload-too-large", "Payload too large",
                                "the body is %lld bytes; the limit is %lld", declared,
                                (long long)limit);
    if (declared == 0)
        return 0;
    struct hl_buf b = HL_BUF_INIT;
    char chunk[16384];
    int n, status = 0;
    int slot = gw_deadline_arm(r->ctx->deadlines, r->info, cfg->request_timeout_ms);
    while ((n = mg_read(r->conn, chunk, sizeof(chunk))) > 0) {
        if ((int64_t)(b.len + (size_t)n) > limit) {
            status = 413;
            break;
        }
        hl_buf_add(&b, chunk, (size_t)n);
    }
    bool late = gw_deadline_disarm(r->ctx->deadlines, slot);
    if (status == 0 && (late || (declared > 0 && (long long)b.len < declared)))
        status = 408;
    if (status == 0 && !hl_json_depth_ok(b.ptr, b.len, (int)cfg->max_json_depth))
        status = 400;
    if (status == 0) {
        r->body = b.len ? hl_buf_detach(&b, &r->body_len) : NULL;
    } else if (status == 413) {
        gw_reply_problem(r, 413, "payload-too-large", "Payload too large",
                         "the body exceeds the limit of %lld bytes", (long long)limit);
    } else if (status == 408) {
        /* What is left of the body is unread: the connection cannot carry another request. */
        mg_disable_connection_keep_alive(r->conn);
        r->closing = true;
        gw_reply_problem(r, 408, "request-timeout", "Request timeout",
                         "the body did not arrive within %lld ms",
                         (long long)cfg->request_timeout_ms);
    } else {
        gw_reply_problem(r, 400, "json-too-deep", "JSON nested too deeply",
                         "arrays and objects may nest at most %lld levels deep",
                         (long long)cfg->max_json_depth);
    }
    hl_buf_release(&b);
    return status;
}

static int route(struct gw_req *r)
{
    const char *uri = r->info->local_uri;
    const char *m = r->info->request_method;

    if ((strcmp(uri, "/healthz") == 0 || strcmp(uri, "/readyz") == 0) && strcmp(m, "GET") != 0 &&
        strcmp(m, "HEAD") != 0)
        return gw_method_not_allowed(r, "GET");
    if (strcmp(uri, "/healthz") == 0)
        return gw_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
    if (strcmp(uri, "/readyz") == 0) {
        /* Each dependency asked for real: a pooled connection may be to a server gone since. */
        char err[256];
        PGconn *c = gw_db_acquire(r->ctx->db, err, sizeof(err));
        bool pg_ok = false;
        if (c) {
            PGresult *res = PQexec(c, "SELECT 1");
            pg_ok = PQresultStatus(res) == PGRES_TUPLES_OK;
            PQclear(res);
            gw_db_release(r->ctx->db, c);
        }
        bool kafka_ok = gw_producer_healthy(r->ctx->producer);
        json_t *checks = json_pack("{s:s, s:s}", "kafka", kafka_ok ? "ok" : "unreachable",
                                   "postgresql", pg_ok ? "ok" : "unreachable");
        if (!pg_ok || !kafka_ok) {
            json_t *p = problem_new(r, 503, "not-ready", "Not ready", "");
            json_object_set_new(p, "detail",
                                json_sprintf("%s%s%s", pg_ok ? "" : "postgresql unreachable",
                                             !pg_ok && !kafka_ok ? ", " : "",
                                             kafka_ok ? "" : "kafka unreachable"));
            json_object_set_new(p, "checks", checks);
            return reply_problem_obj(r, 503, p);
        }
        return gw_reply_json(r, 200, json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
    }
    if (strcmp(uri, "/api/v1/openapi.json") == 0) /* before the table: no key needed */
        return gw_route_openapi(r);

    /* Authenticated by the source's own verification, not by an API key. */
    if (strncmp(uri, "/api/v1/incoming/", 17) == 0)
        return gw_route_incoming(r, uri + 17);

    static const struct {
        const char *prefix;
        int (*handler)(struct gw_req *r, const char *rest);
    } routes[] = {
        {"/api/v1/webhooks", gw_route_webhooks},
        {"/api/v1/events", gw_route_events},
        {"/api/v1/tenants", gw_route_tenants},
        {"/api/v1/api-keys", gw_route_api_keys},
        {"/api/v1/event-types", gw_route_event_types},
        {"/api/v1/deliveries", gw_route_deliveries},
        {"/api/v1/extensions", gw_route_extensions},
        {"/api/v1/sources", gw_route_sources},
        {"/api/admin/developer/webhooks", gw_route_developer_webhooks},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        size_t n = strlen(routes[i].prefix);
        if (strncmp(uri, routes[i].prefix, n) != 0 || (uri[n] != '\0' && uri[n] != '/'))
            continue;
        int st = gw_authenticate(r);
        if (st == 0)
            st = gw_rate_limit_key(r);
        if (st)
            return st;
        return routes[i].handler(r, uri + n);
    }
    return gw_reply_problem(r, 404, "not-found", "Not found", "no route for '%s'", uri);
}

static int handle(struct mg_connection *conn, void *cbdata)
{
    struct gw_req r = {
        .conn = conn,
        .info = mg_get_request_info(conn),
        .ctx = cbdata,
    };
    int status = read_body(&r);
    if (status == 0)
        status = route(&r);
    free(r.body);
    return status;
}

static int log_message(const struct mg_connection *conn, const char *message)
{
    hl_log(HL_LOG_WARN, "http", "%s", message);
    return 1;
}

/* civetweb calls this once it has made the SSL_CTX: the certificate chain and key come
 * from two files (civetweb's own ssl_certificate wants both in one), TLS 1.2 at least. */
static int init_ssl(void *ssl_ctx, void *user_data)
{
    struct gw_ctx *ctx = user_data;
    SSL_CTX *sc = ssl_ctx;
    if (SSL_CTX_use_certificate_chain_file(sc, ctx->cfg->tls_cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(sc, ctx->cfg->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(sc) != 1) {
        char err[256];
        ERR_error_string_n(ERR_get_error(), err, sizeof(err));
        hl_log(HL_LOG_ERROR, "http", "cannot use tls_cert_file '%s' with tls_key_file '%s': %s",
               ctx->cfg->tls_cert_file, ctx->cfg->tls_key_file, err);
        return -1;
    }
    SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
    return 1;
}

struct gw_server *gw_server_start(struct gw_ctx *ctx, char *errbuf, size_t errlen)
{
    const struct gw_config *cfg = ctx->cfg;
    bool tls = cfg->tls_cert_file && *cfg->tls_cert_file;
    if (tls != (cfg->tls_key_file && *cfg->tls_key_file)) {
        snprintf(errbuf, errlen, "tls_cert_file and tls_key_file go together");
        return NULL;
    }
    /* Debian's civetweb loads OpenSSL with dlopen("libssl.so"); see civetweb-tls/. */
    if (tls && !(mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS)) {
        snprintf(errbuf, errlen, "civetweb cannot load OpenSSL for TLS (see the log line above)");
        return NULL;
    }
    char port[300], threads[32], timeout[32];
    snprintf(port, sizeof(port), "%s:%lld%s", cfg->http_host, (long long)cfg->http_port,
             tls ? "s" : "");
    snprintf(threads, sizeof(threads), "%lld", (long long)cfg->http_threads);
    snprintf(timeout, sizeof(timeout), "%lld", (long long)cfg->request_timeout_ms);
    const char *options[] = {
        "listening_ports", port,
        "num_threads", threads,
        "enable_keep_alive", "yes",
        "keep_alive_timeout_ms", "60000",
        "request_timeout_ms", timeout,
        "tcp_nodelay", "1",
        NULL,
    };
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.log_message = log_message;
    if (tls)
        cb.init_ssl = init_ssl;

    ctx->deadlines = gw_deadlines_new((int)cfg->http_port, (size_t)cfg->http_threads);
    struct mg_init_data init = {.callbacks = &cb, .user_data = ctx, .configuration_options = options};
    struct mg_error_data err = {.text = errbuf, .text_buffer_size = errlen};
    struct mg_context *mg = mg_start2(&init, &err);
    if (!mg) {
        gw_deadlines_free(ctx->deadlines);
        ctx->deadlines = NULL;
        return NULL;
    }
    mg_set_request_handler(mg, "/", handle, ctx);
    struct gw_server *s = hl_xcalloc(1, sizeof(*s));
    s->mg = mg;
    s->ctx = ctx;
    return s;
}

void gw_server_stop(struct gw_server *s)
{
    if (!s)
        return;
    mg_stop(s->mg);
    gw_deadlines_free(s->ctx->deadlines);
    s->ctx->deadlines = NULL;
    free(s);
}
