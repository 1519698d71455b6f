/* The operations listener (see hl/opshttp.h). A service starts it first and stops it last,
 * so an orchestrator sees the process alive (/healthz) while it is not ready yet or no
 * longer ready (/readyz). */
#include "hl/opshttp.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/log.h"
#include "hl/mgstop.h"
#include "hl/mem.h"
#include "hl/metrics.h"
#include "hl/banned.h"

struct hl_ops_http {
    struct mg_context *mg;
    hl_ops_ready_fn ready;
};

static int reply(struct mg_connection *conn, int status, const char *ctype, const char *body,
                 size_t len)
{
    char clen[32];
    snprintf(clen, sizeof(clen), "%zu", len);
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", ctype, -1);
    mg_response_header_add(conn, "Content-Length", clen, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_send(conn);
    if (strcmp(mg_get_request_info(conn)->request_method, "HEAD") != 0)
        mg_write(conn, body, len);
    return status;
}

static int problem(struct mg_connection *conn, int status, const char *slug, const char *title,
                   const char *detail)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_adds(&b, "{\"type\":\"https://hookline.dev/problems/");
    hl_buf_adds(&b, slug);
    hl_buf_adds(&b, "\",\"title\":");
    hl_buf_add_json_str(&b, title, strlen(title));
    hl_buf_addf(&b, ",\"status\":%d,\"detail\":", status);
    hl_buf_add_json_str(&b, detail, strlen(detail));
    hl_buf_addch(&b, '}');
    reply(conn, status, "application/problem+json", b.ptr, b.len);
    hl_buf_release(&b);
    return status;
}

static int handle(struct mg_connection *conn, void *cbdata)
{
    const struct hl_ops_http *h = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *uri = ri->local_uri ? ri->local_uri : "";
    bool known = strcmp(uri, "/metrics") == 0 || strcmp(uri, "/healthz") == 0 ||
                 strcmp(uri, "/readyz") == 0;
    if (!known) {
        char detail[300];
        snprintf(detail, sizeof(detail), "no route for '%.200s' (this listener serves "
                 "/metrics, /healthz and /readyz)", uri);
        return problem(conn, 404, "not-found", "Not found", detail);
    }
    if (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0) {
        mg_response_header_start(conn, 405);
        mg_response_header_add(conn, "Allow", "GET, HEAD", -1);
        mg_response_header_add(conn, "Content-Type", "application/problem+json", -1);
        mg_response_header_send(conn);
        static const char body[] = "{\"type\":\"https://hookline.dev/problems/method-not-allowed\","
                                   "\"title\":\"Method not allowed\",\"status\":405,"
                                   "\"detail\":\"this endpoint allows GET and HEAD\"}";
        mg_write(conn, body, sizeof(body) - 1);
        return 405;
    }
    if (strcmp(uri, "/healthz") == 0)
        return reply(conn, 200, "application/json", "{\"status\":\"ok\"}", 15);
    if (strcmp(uri, "/readyz") == 0) {
        /* room for every reason a service gives at once (the dispatcher's four make 180
         * characters), so none is cut short as reasons are added */
        char why[1024];
        if (!h->ready(why, sizeof(why)))
            return problem(conn, 503, "not-ready", "Not ready", why);
        return reply(conn, 200, "application/json", "{\"status\":\"ready\"}", 18);
    }
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_grow(&b, 16384);
    hl_metrics_render(&b);
    reply(conn, 200, HL_METRICS_CONTENT_TYPE, b.ptr, b.len);
    hl_buf_release(&b);
    return 200;
}

static int log_message(const struct mg_connection *conn, const char *message)
{
    hl_log(HL_LOG_WARN, "http", "%s", message);
    return 1;
}

struct hl_ops_http *hl_ops_http_start(const char *host, int64_t port_no, hl_ops_ready_fn ready,
                                      char *errbuf, size_t errlen)
{
    if (errlen)
        errbuf[0] = '\0';
    if (port_no == 0)
        return NULL;
    char port[300];
    snprintf(port, sizeof(port), "%s:%lld", host, (long long)port_no);
    const char *options[] = {
        "listening_ports", port,
        "num_threads", "2",
        "enable_keep_alive", "yes",
        "request_timeout_ms", "10000",
        NULL,
    };
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.log_message = log_message;
    struct mg_init_data init = {.callbacks = &cb, .configuration_options = options};
    char err[256] = "";
    struct mg_error_data ed = {.text = err, .text_buffer_size = sizeof(err)};
    struct mg_context *mg = mg_start2(&init, &ed);
    if (!mg) {
        snprintf(errbuf, errlen, "cannot listen on '%s': %s", port, err);
        return NULL;
    }
    struct hl_ops_http *h = hl_xcalloc(1, sizeof(*h));
    h->mg = mg;
    h->ready = ready;
    mg_set_request_handler(mg, "/", handle, h);
    hl_log(HL_LOG_INFO, "http", "metrics, healthz and readyz on %s", port);
    return h;
}

void hl_ops_http_stop(struct hl_ops_http *h)
{
    if (!h)
        return;
    hl_mg_stop(h->mg);
    free(h);
}
