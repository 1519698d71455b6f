/* hookline-gateway: the REST API. Wires configuration, the PostgreSQL pool, the Kafka
 * producer and the HTTP server, and carries the operational subcommands (migrate,
 * create-topics, gen-master-key, rotate-master-key, config-doc). */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw_auth.h"
#include "gw_config.h"
#include "gw_db.h"
#include "gw_event_schemas.h"
#include "gw_fence.h"
#include "gw_listen.h"
#include "gw_metrics.h"
#include "gw_producer.h"
#include "gw_req.h"
#include "gw_routes_events.h"
#include "gw_schemas.h"
#include "gw_secrets.h"
#include "gw_server.h"
#include "gw_source_schemas.h"
#include "hl/kafka.h"
#include "hl/keyring.h"
#include "hl/log.h"
#include "hl/pg.h"
#include "hl/retention.h"
#include "hl/signals.h"
#include "hl/banned.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: hookline-gateway [serve|migrate|create-topics|gen-master-key|"
            "rotate-master-key|config-doc] [--option=value ...]\n"
            "\n"
            "  serve          run the HTTP API (the default)\n"
            "  migrate        apply the SQL migrations in schemas/migrations (and seal secrets\n"
            "                 stored in plain text by older versions)\n"
            "  create-topics  create the Kafka topics that do not exist yet\n"
            "  gen-master-key [ID]\n"
            "                 print a fresh master key ring entry '<id>:<base64>' (id: k<unix time>)\n"
            "  rotate-master-key\n"
            "                 re-seal every stored secret under the ring's first key; prints counts\n"
            "  config-doc     print the options as a markdown table\n"
            "\noptions:\n");
    hl_cfg_usage(out, gw_config_opts, gw_config_nopts);
}

static int seal_leftovers(const struct gw_config *cfg, PGconn *conn);

static int cmd_migrate(const struct gw_config *cfg)
{
    char err[512];
    int applied = 0;
    const char *dir = cfg->migrations_dir ? cfg->migrations_dir : hl_pg_default_migrations_dir();
    PGconn *conn = hl_pg_connect(cfg->common.pg_dsn, err, sizeof(err));
    if (!conn) {
        hl_log(HL_LOG_ERROR, "migrate", "cannot connect to postgresql: %s", err);
        return 1;
    }
    hl_err e = hl_pg_migrate(conn, dir, &applied, err, sizeof(err));
    if (e) {
        hl_log(HL_LOG_ERROR, "migrate", "%s", err);
        PQfinish(conn);
        return 1;
    }
    hl_log(HL_LOG_INFO, "migrate", "schema up to date, %d migration(s) applied", applied);
    int rc = seal_leftovers(cfg, conn);
    PQfinish(conn);
    return rc;
}

/* Rows written before secrets were sealed (migration 0008) hold plain text, which SQL
 * cannot encrypt: migrate seals them under the master key, or refuses to finish without
 * one. Values already sealed are left as they are (rotate-master-key moves those). */
static int seal_leftovers(const struct gw_config *cfg, PGconn *conn)
{
    char err[512];
    bool present = false;
    struct hl_keyring kr;
    struct gw_reseal_counts c;
    if (!gw_plaintext_present(conn, &present, err, sizeof(err))) {
        hl_log(HL_LOG_ERROR, "migrate", "cannot look for secrets in plain text: %s", err);
        return 1;
    }
    if (!present)
        return 0;
    if (hl_keyring_load(&kr, cfg->common.master_key, cfg->common.master_key_file, err,
                        sizeof(err))) {
        hl_log(HL_LOG_ERROR, "migrate", "secrets stored in plain text need sealing: %s", err);
        return 1;
    }
    hl_err e = gw_reseal_all(conn, &kr, true, &c, err, sizeof(err));
    hl_keyring_release(&kr);
    if (e) {
        hl_log(HL_LOG_ERROR, "migrate", "sealing secrets stored in plain text: %s", err);
        return 1;
    }
    hl_log(HL_LOG_INFO, "migrate", "sealed %zu secret(s) stored in plain text in %zu webhook(s)",
           c.sealed_plaintext, c.rows_updated);
    return 0;
}

/* Re-seals every stored secret under the ring's primary key (see docs/operations.md). */
static int cmd_rotate_master_key(const struct gw_config *cfg)
{
    char err[512];
    struct hl_keyring kr;
    struct gw_reseal_counts c;
    if (hl_keyring_load(&kr, cfg->common.master_key, cfg->common.master_key_file, err,
                        sizeof(err))) {
        hl_log(HL_LOG_ERROR, "rotate", "%s", err);
        return 1;
    }
    PGconn *conn = hl_pg_connect(cfg->common.pg_dsn, err, sizeof(err));
    if (!conn) {
        hl_log(HL_LOG_ERROR, "rotate", "cannot connect to postgresql: %s", err);
        hl_keyring_release(&kr);
        return 1;
    }
    hl_err e = gw_reseal_all(conn, &kr, false, &c, err, sizeof(err));
    PQfinish(conn);
    hl_log(e ? HL_LOG_ERROR : HL_LOG_INFO, "rotate",
           "%s: %zu webhook(s) scanned, %zu updated; %zu value(s) re-sealed under '%s', %zu "
           "sealed from plain text, %zu could not be opened",
           e ? "incomplete" : "done", c.rows_scanned, c.rows_updated, c.resealed,
           kr.keys[0].id, c.sealed_plaintext, c.unopenable);
    if (e)
        hl_log(HL_LOG_ERROR, "rotate", "%s", err);
    printf("{\"rows_scanned\":%zu,\"rows_updated\":%zu,\"resealed\":%zu,"
           "\"sealed_plaintext\":%zu,\"unopenable\":%zu,\"primary\":\"%s\",\"complete\":%s}\n",
           c.rows_scanned, c.rows_updated, c.resealed, c.sealed_plaintext, c.unopenable,
           kr.keys[0].id, e ? "false" : "true");
    hl_keyring_release(&kr);
    return e ? 1 : 0;
}

static int cmd_create_topics(const struct gw_config *cfg)
{
    /* Every topic of the pipeline (docs/architecture.md). Task and attempt topics are keyed
     * by webhook and delivery id and get as many partitions as the events topic, which
     * bounds how many dispatchers share the work; every retry tier exists, whatever
     * delays the dispatchers give them. */
    static const struct {
        const char *suffix;
        bool one_partition;
    } table[] = {
        {"events", false},  {"deliveries", false}, {"attempts", false}, {"dlq", true},
        {"retry.0", false}, {"retry.1", false},    {"retry.2", false},  {"retry.3", false},
        {"retry.4", false}, {"retry.5", false},    {"retry.6", false},  {"retry.7", false},
    };
    enum { N = sizeof(table) / sizeof(table[0]) };
    _Static_assert(N == 4 + HL_RETRY_TIERS_MAX, "one retry topic per tier");
    char err[512], names[N][HL_TOPIC_MAX];
    struct hl_topic_spec topics[N];
    int rf = (int)cfg->topic_replication, isr = (int)cfg->topic_min_insync_replicas;
    if (isr > rf) {
        hl_log(HL_LOG_ERROR, "create-topics",
               "topic_min_insync_replicas (%d) exceeds topic_replication (%d): no write could "
               "ever be acknowledged",
               isr, rf);
        return 1;
    }
    for (size_t i = 0; i < N; i++) {
        hl_topic_name(names[i], cfg->common.topic_prefix, table[i].suffix);
        topics[i] = (struct hl_topic_spec){names[i],
                                           table[i].one_partition ? 1 : (int)cfg->events_partitions,
                                           rf, isr};
    }
    if (hl_kafka_create_topics(cfg->common.brokers, topics, N, 15000, err, sizeof(err))) {
        hl_log(HL_LOG_ERROR, "create-topics", "%s", err);
        return 1;
    }
    return 0;
}

static int cmd_serve(const struct gw_config *cfg)
{
    char err[512];
    int rc = 1;
    struct gw_ctx ctx = {.cfg = cfg};
    struct gw_server *server = NULL;
    struct hl_retention *retention = NULL;
    int wake[2] = {-1, -1};

    hl_topic_name(ctx.events_topic, cfg->common.topic_prefix, "events");
    hl_topic_name(ctx.deliveries_topic, cfg->common.topic_prefix, "deliveries");
    if (gw_schemas_load(cfg->schemas_dir ? cfg->schemas_dir : HL_DEFAULT_SCHEMAS_DIR, err,
                        sizeof(err))) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        return 1;
    }
    if (hl_keyring_load(&ctx.keyring, cfg->common.master_key, cfg->common.master_key_file, err,
                        sizeof(err))) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        return 1;
    }
    ctx.db = gw_db_new(cfg->common.pg_dsn, (int)cfg->pg_pool_size);
    /* What the change listener keeps current: the API keys, the event-type schemas and the
     * subscription version. */
    ctx.auth = gw_auth_new(cfg);
    const struct gw_listen_channel channels[] = {
        {"hl_api_keys_changed", gw_auth_keys_changed, ctx.auth, false},
        {"hl_event_types_changed", gw_event_schemas_changed, NULL, false},
        {GW_FENCE_CHANNEL, gw_fence_changed, NULL, true},
    };
    ctx.listener = gw_listener_start(cfg->common.pg_dsn, channels,
                                     sizeof(channels) / sizeof(channels[0]));
    ctx.producer = gw_producer_new(cfg, err, sizeof(err));
    if (!ctx.producer) {
        hl_log(HL_LOG_ERROR, "main", "cannot create the kafka producer: %s", err);
        goto out;
    }
    /* Before the server starts (so before /healthz answers): the events topic's leaders. */
    gw_producer_warm(ctx.producer, ctx.events_topic, 5000);

    hl_signals_install();

    gw_metrics_init(&ctx);
    server = gw_server_start(&ctx, err, sizeof(err));
    if (!server) {
        hl_log(HL_LOG_ERROR, "main", "cannot start the http server on %s:%lld: %s",
               cfg->http_host, (long long)cfg->http_port, err);
        goto out;
    }
    hl_log(HL_LOG_INFO, "main", "listening on %s:%lld, events to '%s'", cfg->http_host,
           (long long)cfg->http_port, ctx.events_topic);
    if (!gw_metrics_listen(cfg, err, sizeof(err))) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        goto out;
    }
    retention = hl_retention_start(&cfg->common);
    /* The main thread's only job while serving: housekeeping every second (client ids
     * remembered during an outage) and every minute. A stop signal wakes it at once. */
    if (pipe(wake) == 0)
        hl_signals_wake_fd(wake[1]);
    for (int ticks = 0; !hl_stop_signal; ticks++) {
        struct pollfd pfd = {.fd = wake[0], .events = POLLIN};
        if (wake[0] >= 0)
            poll(&pfd, 1, 1000);
        else
            sleep(1);
        if (hl_stop_signal)
            break;
        gw_events_remember_ids(&ctx);
        if (ticks % 60 == 0)
            gw_events_expire_ids(&ctx);
    }
    hl_log(HL_LOG_INFO, "main", "shutting down on signal %d", (int)hl_stop_signal);
    rc = gw_producer_fatal() ? 1 : 0; /* a supervisor restarts it with a new producer */
out:
    /* Stopping the server waits for requests in progress, each of which waits for its
     * acknowledgements; then the producer flushes whatever is left. */
    hl_retention_stop(retention);
    gw_metrics_stop();
    gw_server_stop(server);
    gw_producer_free(ctx.producer);
    gw_listener_stop(ctx.listener);
    gw_auth_free(ctx.auth);
    gw_db_free(ctx.db);
    hl_keyring_release(&ctx.keyring);
    gw_schemas_free();
    gw_source_schemas_clear();
    hl_signals_wake_fd(-1);
    for (int i = 0; i < 2; i++)
        if (wake[i] >= 0)
            close(wake[i]);
    hl_log(HL_LOG_INFO, "main", "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    struct gw_config cfg;
    char err[512];
    const char *cmd = "serve";
    int first = 1;

    hl_log_set_service("gateway");
    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        first = 2;
    }
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    if (strcmp(cmd, "gen-master-key") == 0) {
        char id[HL_KEYRING_ID_MAX + 1], entry[HL_KEYRING_ENTRY_MAX];
        if (first < argc)
            snprintf(id, sizeof(id), "%s", argv[first]);
        else
            snprintf(id, sizeof(id), "k%lld", (long long)time(NULL));
        hl_keyring_generate_entry(id, entry);
        struct hl_keyring check;
        if (hl_keyring_parse(&check, entry, err, sizeof(err))) {
            fprintf(stderr, "hookline-gateway: %s\n", err);
            return 2;
        }
        hl_keyring_release(&check);
        printf("%s\n", entry);
        return 0;
    }
    if (strcmp(cmd, "config-doc") == 0) {
        hl_cfg_markdown(stdout, gw_config_opts, gw_config_nopts);
        return 0;
    }
    if (hl_cfg_load(gw_config_opts, gw_config_nopts, &cfg, argc - first, argv + first, err,
                    sizeof(err)) ||
        hl_common_cfg_apply(&cfg.common, err, sizeof(err))) {
        fprintf(stderr, "hookline-gateway: %s\n", err);
        usage(stderr);
        return 2;
    }

    int rc;
    if (strcmp(cmd, "serve") == 0) {
        rc = cmd_serve(&cfg);
    } else if (strcmp(cmd, "migrate") == 0) {
        rc = cmd_migrate(&cfg);
    } else if (strcmp(cmd, "create-topics") == 0) {
        rc = cmd_create_topics(&cfg);
    } else if (strcmp(cmd, "rotate-master-key") == 0) {
        rc = cmd_rotate_master_key(&cfg);
    } else {
        fprintf(stderr, "hookline-gateway: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = 2;
    }
    hl_cfg_release(gw_config_opts, gw_config_nopts, &cfg);
    return rc;
}
