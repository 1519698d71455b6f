/* hookline-demo-receiver: a webhook endpoint for demos and integration tests.
 *
 * Accepts a POST on any path, verifies both signatures Hookline sends (Standard Webhooks
 * `webhook-signature` and the legacy `X-Webhook-Signature`) with the shared secret, and
 * prints one line per delivery on stdout, then the body indented on the next line:
 *
 *   received event=<type> webhook-id=<id> bytes=<n> standard-signature=valid|INVALID(<why>)
 *   legacy-signature=valid|INVALID
 *
 * It answers `status` (204 by default) whatever the verdict, so a demo with a wrong
 * secret still shows what arrived; --status=500 shows the dispatcher retrying and
 * --delay-ms a slow endpoint. */
#include <civetweb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/config.h"
#include "hl/log.h"
#include "hl/sign.h"
#include "hl/signals.h"
#include "hl/time.h"
#include "hl/banned.h"

#define BODY_MAX (16 * 1024 * 1024)

struct receiver_cfg {
    char *host;
    int64_t port;
    char *secret;
    int64_t status;
    int64_t delay_ms;
    char *log_level;
};

static const struct hl_cfg_opt receiver_opts[] = {
    {"host", HL_CFG_STR, offsetof(struct receiver_cfg, host), "127.0.0.1", 0, 0,
     "address to listen on"},
    {"port", HL_CFG_INT, offsetof(struct receiver_cfg, port), "9000", 1, 65535,
     "TCP port to listen on"},
    {"secret", HL_CFG_STR, offsetof(struct receiver_cfg, secret), NULL, 0, 0,
     "the webhook's whsec_ secret; signatures are reported INVALID without it"},
    {"status", HL_CFG_INT, offsetof(struct receiver_cfg, status), "204", 200, 599,
     "HTTP status answered to every delivery"},
    {"delay_ms", HL_CFG_INT, offsetof(struct receiver_cfg, delay_ms), "0", 0, 600000,
     "wait before answering, to play a slow endpoint"},
    {"log_level", HL_CFG_STR, offsetof(struct receiver_cfg, log_level), "info", 0, 0,
     "minimum level logged: debug, info, warn or error"},
};
#define NOPTS (sizeof(receiver_opts) / sizeof(receiver_opts[0]))

struct receiver {
    struct hl_secret secret;
    bool has_secret;
    int status;
    int delay_ms;
    pthread_mutex_t out_lock; /* one delivery's two lines stay together */
};

static void read_body(struct mg_connection *conn, struct hl_buf *body)
{
    char chunk[16384];
    int n;
    while ((n = mg_read(conn, chunk, sizeof(chunk))) > 0)
        if (body->len + (size_t)n <= BODY_MAX)
            hl_buf_add(body, chunk, (size_t)n);
}

static int on_request(struct mg_connection *conn, void *cbdata)
{
    struct receiver *r = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (strcmp(ri->request_method, "POST") != 0) {
        mg_send_http_error(conn, 405, "POST webhooks here\n");
        return 405;
    }

    struct hl_buf body = HL_BUF_INIT;
    char std_err[256] = "", legacy_err[256] = "";
    read_body(conn, &body);
    const char *id = mg_get_header(conn, "webhook-id");
    const char *ts = mg_get_header(conn, "webhook-timestamp");
    const char *sig = mg_get_header(conn, "webhook-signature");
    const char *legacy = mg_get_header(conn, "X-Webhook-Signature");
    const char *event = mg_get_header(conn, "X-Webhook-Event");

    bool std_ok = false, legacy_ok = false;
    if (!r->has_secret) {
        snprintf(std_err, sizeof(std_err), "no secret configured");
    } else {
        const char *b = hl_buf_str(&body);
        std_ok = hl_verify_v1(&r->secret, id, ts, sig, b, body.len, hl_now_ms() / 1000,
                              HL_VERIFY_TOLERANCE_S, std_err, sizeof(std_err)) == HL_OK;
        legacy_ok = legacy && hl_verify_legacy(&r->secret, legacy, b, body.len, legacy_err,
                                               sizeof(legacy_err)) == HL_OK;
    }

    pthread_mutex_lock(&r->out_lock);
    printf("received event=%s webhook-id=%s bytes=%zu standard-signature=%s%s%s%s "
           "legacy-signature=%s\n  %s\n",
           event ? event : "-", id ? id : "-", body.len, std_ok ? "valid" : "INVALID",
           std_ok ? "" : "(", std_ok ? "" : std_err, std_ok ? "" : ")",
           legacy_ok ? "valid" : "INVALID", hl_buf_str(&body));
    fflush(stdout);
    pthread_mutex_unlock(&r->out_lock);
    hl_buf_release(&body);

    if (r->delay_ms > 0)
        poll(NULL, 0, r->delay_ms);
    mg_response_header_start(conn, r->status);
    mg_response_header_add(conn, "Content-Length", "0", -1);
    mg_response_header_send(conn);
    return r->status;
}

int main(int argc, char **argv)
{
    struct receiver_cfg cfg;
    struct receiver r;
    char err[256], ports[300];
    int rc = 1;
    struct mg_context *ctx = NULL;

    hl_log_set_service("demo-receiver");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: hookline-demo-receiver [--option=value ...]\n\noptions:\n");
            hl_cfg_usage(stdout, receiver_opts, NOPTS);
            return 0;
        }
    }
    memset(&cfg, 0, sizeof(cfg));
    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.out_lock, NULL);
    if (hl_cfg_load(receiver_opts, NOPTS, &cfg, argc - 1, argv + 1, err, sizeof(err))) {
        fprintf(stderr, "hookline-demo-receiver: %s\n", err);
        goto out;
    }
    int level = hl_log_level_parse(cfg.log_level);
    if (level < 0) {
        fprintf(stderr, "hookline-demo-receiver: unknown log level '%s'\n", cfg.log_level);
        goto out;
    }
    hl_log_threshold = (hl_log_level)level;
    if (cfg.secret && *cfg.secret) {
        if (hl_whsec_decode(cfg.secret, &r.secret, err, sizeof(err))) {
            fprintf(stderr, "hookline-demo-receiver: secret: %s\n", err);
            goto out;
        }
        r.has_secret = true;
    }
    r.status = (int)cfg.status;
    r.delay_ms = (int)cfg.delay_ms;

    hl_signals_install();

    snprintf(ports, sizeof(ports), "%s:%lld", cfg.host, (long long)cfg.port);
    const char *options[] = {"listening_ports", ports, "num_threads", "64",
                             "enable_keep_alive", "yes", NULL};
    mg_init_library(0);
    ctx = mg_start(NULL, NULL, options);
    if (!ctx) {
        hl_log(HL_LOG_ERROR, "receiver", "cannot listen on %s", ports);
        goto out_lib;
    }
    mg_set_request_handler(ctx, "/", on_request, &r);
    hl_log(HL_LOG_INFO, "receiver", "listening on http://%s", ports);

    while (!hl_stop_signal)
        poll(NULL, 0, 200);
    mg_stop(ctx);
    rc = 0;
out_lib:
    mg_exit_library();
out:
    explicit_bzero(&r.secret, sizeof(r.secret));
    pthread_mutex_destroy(&r.out_lock);
    hl_cfg_release(receiver_opts, NOPTS, &cfg);
    return rc;
}
