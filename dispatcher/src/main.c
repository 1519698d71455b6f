/* hookline-dispatcher: consumes <prefix>.events, matches each event against the active
 * webhooks and delivers it, signed, to every subscriber, at least once.
 *
 * Threads: the subscription cache's loader (PostgreSQL), librdkafka's own threads, and the
 * loop thread (this one) that owns the consumer, the offset tracking and every HTTP
 * attempt. This file only wires them together and handles signals. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "dp_config.h"
#include "dp_consumer.h"
#include "dp_deliver.h"
#include "dp_fanout.h"
#include "dp_attemptlog.h"
#include "dp_healthstore.h"
#include "dp_loop.h"
#include "dp_metrics.h"
#include "dp_produce.h"
#include "dp_subs.h"
#include "hl/config.h"
#include "hl/keyring.h"
#include "hl/log.h"
#include "hl/opshttp.h"
#include "hl/retention.h"
#include "hl/signals.h"
#include "hl/banned.h"

/* How often the startup wait for the first webhook load says it is still waiting. */
#define STARTUP_WARN_MS 30000

static void usage(FILE *out)
{
    fprintf(out, "usage: hookline-dispatcher [--option=value ...]\n"
                 "       hookline-dispatcher config-doc   (options as a markdown table)\n\n"
                 "options:\n");
    hl_cfg_usage(out, dp_config_opts, dp_config_nopts);
}

/* Descriptors beyond the attempts' connections: Kafka's brokers, PostgreSQL, the ops
 * listener, logs, wake pipes. */
#define FD_HEADROOM 128

/* Every attempt on the wire holds a connection, and the pool keeps about as many idle;
 * a TLS connection is a socket and its multi handle's wake-up socket pair (dp_conn.h):
 * three descriptors (a plain one, one). The soft limit on open files (often 1,024) is raised to the hard
 * one, as a server that holds many connections does. Says so when even that is short of
 * what max_in_flight may need; connections beyond it fail as connect errors. */
static void raise_open_files(const struct dp_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = was;
    }
    rlim_t need = 6 * (rlim_t)cfg->max_in_flight + FD_HEADROOM;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        hl_log(HL_LOG_WARN, "main",
               "open files limited to %llu; max_in_flight %lld may need %llu (raise the "
               "hard limit, e.g. ulimit -n or LimitNOFILE)",
               (unsigned long long)rl.rlim_cur, (long long)cfg->max_in_flight,
               (unsigned long long)need);
}

/* Consuming before the first load would match early events against no webhook at all and
 * finish them undelivered, so wait for it however long PostgreSQL takes. */
static bool wait_for_webhooks(struct dp_subs *subs)
{
    int64_t waited = 0;
    while (!hl_stop_signal) {
        if (dp_subs_wait_ready(subs, 500))
            return true;
        waited += 500;
        if (waited % STARTUP_WARN_MS == 0)
            hl_log(HL_LOG_WARN, "main",
                   "no webhooks loaded after %lld s; not consuming until PostgreSQL answers",
                   (long long)(waited / 1000));
    }
    return false;
}

int main(int argc, char **argv)
{
    struct dp_config cfg;
    char err[512];
    int rc = 1;
    int wake[2] = {-1, -1};
    struct dp_subs *subs = NULL;
    struct dp_consumer *consumer = NULL, *tiers = NULL;
    struct dp_deliver *dl = NULL;
    struct dp_producer *prod = NULL;
    struct dp_healthstore *health = NULL;
    struct dp_attemptlog *log = NULL;
    struct hl_ops_http *http = NULL;
    struct hl_retention *retention = NULL;
    struct hl_keyring keyring = {0};

    int opening = hl_cfg_main_opening("dispatcher", "hookline-dispatcher", dp_config_opts,
                                      dp_config_nopts, &cfg, sizeof(cfg), usage, argc, argv);
    if (opening >= 0)
        return opening;
    if (dp_config_finish(&cfg, err, sizeof(err))) {
        fprintf(stderr, "hookline-dispatcher: %s\n", err);
        goto out;
    }
    if (dp_fanout_init(cfg.event_schema ? cfg.event_schema : HL_DEFAULT_EVENT_SCHEMA, err,
                       sizeof(err))) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        goto out;
    }
    /* Two consumers in the same group: the live topics, and the retry tiers, which are
     * fetched less often (dp_consumer_new); every fetch lists all of a consumer's
     * partitions. */
    char tier_names[HL_RETRY_TIERS_MAX][32];
    const struct dp_topic_spec live[] = {
        {"events", DP_TOPIC_EVENTS, 0},
        {"deliveries", DP_TOPIC_TASKS, 0},
    };
    struct dp_topic_spec delayed[HL_RETRY_TIERS_MAX];
    for (size_t i = 0; i < cfg.ntiers; i++) {
        snprintf(tier_names[i], sizeof(tier_names[i]), "retry.%zu", i);
        delayed[i] = (struct dp_topic_spec){tier_names[i], DP_TOPIC_TASKS, cfg.tiers[i]};
    }

    /* libpq's default when the DSN says nothing: a dead PostgreSQL costs 5 s per attempt. */
    setenv("PGCONNECT_TIMEOUT", "5", 0);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        hl_log(HL_LOG_ERROR, "main", "curl_global_init failed");
        goto out;
    }
    if (pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        hl_log(HL_LOG_ERROR, "main", "pipe: %s", strerror(errno));
        goto out_curl;
    }
    hl_signals_wake_fd(wake[1]);
    hl_signals_install();

    hl_log(HL_LOG_INFO, "main", "hookline-dispatcher %s starting", HL_VERSION);
    raise_open_files(&cfg);
    /* First, so that /healthz answers while the webhooks load and /readyz says why not. */
    dp_metrics_init(&cfg);
    http = hl_ops_http_start(cfg.http_host, cfg.http_port, dp_metrics_ready, err, sizeof(err));
    if (!http && err[0]) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        goto out_curl;
    }
    retention = hl_retention_start(&cfg.common);
    /* Webhook secrets are stored sealed; without the ring nothing could be signed. */
    if (hl_keyring_load(&keyring, cfg.common.master_key, cfg.common.master_key_file, err,
                        sizeof(err))) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        goto out_curl;
    }
    subs = dp_subs_new(cfg.common.pg_dsn, cfg.refresh_interval_ms, &keyring);
    dp_subs_set_wake_fd(subs, wake[1]);
    if (dp_subs_start(subs, err, sizeof(err))) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        goto out_curl;
    }
    if (!wait_for_webhooks(subs)) {
        rc = 0; /* stopped by a signal before there was anything to do */
        goto out_curl;
    }
    prod = dp_producer_new(&cfg, wake[1], err, sizeof(err));
    if (!prod) {
        hl_log(HL_LOG_ERROR, "main", "cannot create the Kafka producer: %s", err);
        goto out_curl;
    }
    if (cfg.attempt_log && !(log = dp_attemptlog_start(&cfg, wake[1], err, sizeof(err)))) {
        hl_log(HL_LOG_ERROR, "main", "cannot start the attempt log: %s", err);
        goto out_curl;
    }
    if (log && cfg.attempt_log_direct)
        dp_producer_set_direct(prod, dp_attemptlog_direct(log));
    dl = dp_deliver_new(&cfg, prod, subs, err, sizeof(err));
    if (!dl) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        goto out_curl;
    }
    /* Breakers and failure clocks as the last owner of each webhook left them. */
    health = dp_healthstore_new(cfg.common.pg_dsn);
    if (dp_healthstore_start(health, 3000, err, sizeof(err))) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        goto out_curl;
    }
    dp_deliver_set_healthstore(dl, health);
    consumer = dp_consumer_new(&cfg, live, 2, wake[1], err, sizeof(err));
    if (!consumer) {
        hl_log(HL_LOG_ERROR, "main", "cannot create the Kafka consumer: %s", err);
        goto out_curl;
    }
    tiers = dp_consumer_new(&cfg, delayed, cfg.ntiers, wake[1], err, sizeof(err));
    if (!tiers) {
        hl_log(HL_LOG_ERROR, "main", "cannot create the retry tiers' Kafka consumer: %s", err);
        goto out_curl;
    }

    dp_loop_run(&cfg, subs, consumer, tiers, dl, prod, wake[0], &hl_stop_signal);
    dp_metrics_shutting_down();

    /* Abandoned deliveries must not advance offsets: their events are redelivered. */
    dp_consumer_freeze(consumer);
    dp_consumer_freeze(tiers);
    dp_deliver_free(dl);
    dl = NULL;
    dp_healthstore_free(health);
    health = NULL;
    dp_producer_free(prod, 2000);
    prod = NULL;
    dp_consumer_close(consumer);
    consumer = NULL;
    dp_consumer_close(tiers);
    tiers = NULL;
    hl_log(HL_LOG_INFO, "main", "stopped");
    rc = dp_producer_fatal() ? 1 : 0; /* a supervisor restarts it with a new producer */
out_curl:
    dp_metrics_shutting_down();
    dp_deliver_free(dl);
    dp_healthstore_free(health);
    dp_producer_free(prod, 2000);
    dp_consumer_close(consumer);
    dp_consumer_close(tiers);
    dp_attemptlog_stop(log);
    dp_subs_free(subs);
    hl_retention_stop(retention);
    hl_ops_http_stop(http);
    hl_keyring_release(&keyring);
    curl_global_cleanup();
out:
    dp_fanout_release();
    hl_signals_wake_fd(-1);
    for (int i = 0; i < 2; i++)
        if (wake[i] >= 0)
            close(wake[i]);
    hl_cfg_release(dp_config_opts, dp_config_nopts, &cfg);
    return rc;
}
