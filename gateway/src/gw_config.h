/* The gateway's configuration: the struct its option table (gw_config.c) fills from flags,
 * environment variables and defaults. Read-only once the gateway serves. */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "hl/config.h"

struct gw_config {
    struct hl_common_cfg common;
    char *http_host;
    int64_t http_port;
    int64_t http_threads;
    int64_t metrics_port; /* 0: /metrics on the API listener */
    int64_t max_body_bytes;
    int64_t max_event_bytes;
    int64_t max_json_depth;
    int64_t request_timeout_ms;
    int64_t api_key_rate_limit_per_s;
    int64_t api_key_rate_burst;
    char *tls_cert_file;
    char *tls_key_file;
    int64_t events_partitions;
    int64_t topic_replication;
    int64_t topic_min_insync_replicas;
    int64_t produce_timeout_ms;
    int64_t linger_ms;
    int64_t busy_linger_ms;  /* linger of the second producer; 0: none */
    int64_t busy_rate_per_s; /* events/s from which the second producer takes them */
    char *kafka_compression;
    int64_t pg_pool_size;
    char *migrations_dir;
    char *admin_api_key;
    char *schemas_dir;
    char *ui_dir;
};

extern const struct hl_cfg_opt gw_config_opts[];
extern const size_t gw_config_nopts;

#endif
