/* hookline-cdc: table events. Streams row changes of tenants' PostgreSQL tables through
 * logical replication (pgoutput) and produces each as an ordinary event to
 * <prefix>.events, where the dispatchers deliver it like any other.
 *
 * Threads: this one (the control loop: which sources this worker holds, their status),
 * one per held source (its replication stream), the producer's delivery-report thread and
 * librdkafka's own. This file only wires them together and handles signals. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc_config.h"
#include "cdc_control.h"
#include "cdc_producer.h"
#include "hl/config.h"
#include "hl/keyring.h"
#include "hl/log.h"
#include "hl/banned.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: hookline-cdc [--option=value ...]\n"
                 "       hookline-cdc config-doc   (options as a markdown table)\n\n"
                 "Streams the tables of every table source (/api/v1/table-sources) into\n"
                 "events. Run as many workers as you like: each source is held by one.\n\n"
                 "options:\n");
    hl_cfg_usage(out, cdc_config_opts, cdc_config_nopts);
}

int main(int argc, char **argv)
{
    struct cdc_config cfg;
    struct hl_keyring keyring = {0};
    struct cdc_producer *prod = NULL;
    char err[512];
    int rc = 1;

    hl_log_set_service("cdc");
    if (argc > 1 && strcmp(argv[1], "config-doc") == 0) {
        hl_cfg_markdown(stdout, cdc_config_opts, cdc_config_nopts);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    memset(&cfg, 0, sizeof(cfg));
    if (hl_cfg_load(cdc_config_opts, cdc_config_nopts, &cfg, argc - 1, argv + 1, err,
                    sizeof(err)) ||
        hl_common_cfg_apply(&cfg.common, err, sizeof(err))) {
        fprintf(stderr, "hookline-cdc: %s\n", err);
        usage(stderr);
        goto out;
    }
    if (cfg.reconnect_max_ms < cfg.reconnect_min_ms) {
        fprintf(stderr, "hookline-cdc: reconnect_max_ms is below reconnect_min_ms\n");
        goto out;
    }
    /* libpq falls back on these for a connection string that does not say: they must not
     * send this machine's password or certificate to a tenant's server. hookline-cdc's own
     * database takes everything from pg_dsn. Before any thread starts. */
    static const char *const pg_env[] = {"PGPASSWORD", "PGPASSFILE", "PGSERVICE",
                                         "PGSERVICEFILE", "PGSSLCERT", "PGSSLKEY",
                                         "PGSSLROOTCERT", "PGSSLCRL", "PGHOST", "PGHOSTADDR"};
    for (size_t i = 0; i < sizeof(pg_env) / sizeof(pg_env[0]); i++)
        unsetenv(pg_env[i]);
    install_signals();
    hl_log(HL_LOG_INFO, "main", "hookline-cdc %s starting", HL_VERSION);
    /* Connection strings are stored sealed; without the ring none can be opened. */
    if (hl_keyring_load(&keyring, cfg.common.master_key, cfg.common.master_key_file, err,
                        sizeof(err))) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        goto out;
    }
    prod = cdc_producer_new(&cfg, err, sizeof(err));
    if (!prod) {
        hl_log(HL_LOG_ERROR, "main", "cannot create the Kafka producer: %s", err);
        goto out;
    }
    rc = cdc_control_run(&cfg, &keyring, prod, &stop_requested);
    hl_log(HL_LOG_INFO, "main", "stopped");
out:
    cdc_producer_free(prod, 5000);
    hl_keyring_release(&keyring);
    hl_cfg_release(cdc_config_opts, cdc_config_nopts, &cfg);
    return rc;
}
