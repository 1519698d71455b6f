/* hookline-cdc: table events. Streams row changes of tenants' PostgreSQL tables through
 * logical replication (pgoutput) and produces each as an ordinary event to
 * <prefix>.events, where the dispatchers deliver it like any other.
 *
 * Threads: this one (the control loop: which sources this worker holds, their status),
 * one per held source (its replication stream), the producer's delivery-report thread and
 * librdkafka's own, and the operations listener's (/metrics, /healthz, /readyz). This file
 * only wires them together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc_config.h"
#include "cdc_control.h"
#include "cdc_metrics.h"
#include "cdc_producer.h"
#include "hl/config.h"
#include "hl/keyring.h"
#include "hl/log.h"
#include "hl/opshttp.h"
#include "hl/signals.h"
#include "hl/banned.h"

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
    struct hl_ops_http *http = NULL;
    char err[512];
    int rc = 1;

    int opening = hl_cfg_main_opening("cdc", "hookline-cdc", cdc_config_opts, cdc_config_nopts,
                                      &cfg, sizeof(cfg), usage, argc, argv);
    if (opening >= 0)
        return opening;
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
    hl_signals_install();
    hl_log(HL_LOG_INFO, "main", "hookline-cdc %s starting", HL_VERSION);
    /* First, so that /healthz answers while PostgreSQL is awaited and /readyz says why not. */
    cdc_metrics_init();
    http = hl_ops_http_start(cfg.http_host, cfg.http_port, cdc_metrics_ready, err, sizeof(err));
    if (!http && err[0]) {
        hl_log(HL_LOG_ERROR, "main", "%s", err);
        goto out;
    }
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
    rc = cdc_control_run(&cfg, &keyring, prod, &hl_stop_signal);
    cdc_metrics_shutting_down();
    hl_log(HL_LOG_INFO, "main", "stopped");
out:
    cdc_metrics_shutting_down();
    cdc_producer_free(prod, 5000);
    hl_ops_http_stop(http);
    hl_keyring_release(&keyring);
    hl_cfg_release(cdc_config_opts, cdc_config_nopts, &cfg);
    return rc;
}
