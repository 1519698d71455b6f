/* hookline-cdc's configuration: one table (cdc_config_opts) from which flags, environment
 * variables (HOOKLINE_<NAME>), `--help` and `config-doc` are all derived. */
#ifndef CDC_CONFIG_H
#define CDC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "hl/config.h"

struct cdc_config {
    struct hl_common_cfg common;
    char *worker_id;            /* NULL: "<hostname>-<pid>" */
    int64_t scan_interval_ms;   /* rescan of table_sources besides NOTIFY */
    int64_t status_interval_ms; /* status written to table_sources and sent to PostgreSQL */
    int64_t reconnect_min_ms;
    int64_t reconnect_max_ms;
    int64_t connect_timeout_s;  /* to a user's database */
    int64_t message_timeout_ms; /* librdkafka message.timeout.ms */
    int64_t linger_ms;
    int64_t max_in_flight;      /* events awaiting Kafka per source before reading pauses */
    char *kafka_compression;
    char *http_host;            /* the operations listener (hl/opshttp.h) */
    int64_t http_port;          /* 0: no listener */
};

extern const struct hl_cfg_opt cdc_config_opts[];
extern const size_t cdc_config_nopts;

#endif
