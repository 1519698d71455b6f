/* The HTTP server: civetweb with its listener (HTTP or HTTPS) and one request handler,
 * which reads the body (gw_body.c) and hands the request to the route table (gw_routes.c,
 * walked by gw_route.c).
 *
 * civetweb calls that handler on its worker threads; every handler runs to completion on
 * that thread (blocking on PostgreSQL or on Kafka acknowledgements), so the number of
 * requests in progress is bounded by http_threads. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "gw_body.h"
#include "gw_config.h"
#include "gw_deadline.h"
#include "gw_metrics.h"
#include "gw_req.h"
#include "gw_route.h"
#include "gw_routes.h"
#include "gw_server.h"
#include "gw_ui.h"
#include "hl/log.h"
#include "hl/mgstop.h"
#include "hl/mem.h"
#include "hl/banned.h"

struct gw_server {
    struct mg_context *mg;
    struct gw_ctx *ctx;
};

static int handle(struct mg_connection *conn, void *cbdata)
{
    struct gw_req r = {
        .conn = conn,
        .info = mg_get_request_info(conn),
        .ctx = cbdata,
    };
    int64_t began = gw_metrics_begin();
    int status = gw_read_body(&r);
    if (status == 0) /* the dashboard's files are not the API: their own table (gw_ui.h) */
        status = gw_ui_claims(r.info->local_uri) ? gw_ui_serve(&r)
                                                 : gw_route_request(&r, gw_resources, gw_nresources);
    gw_metrics_end(&r, status, began);
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
    hl_mg_stop(s->mg);
    gw_deadlines_free(s->ctx->deadlines);
    s->ctx->deadlines = NULL;
    free(s);
}
