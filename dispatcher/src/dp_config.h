/* The dispatcher's configuration: one table (dp_config_opts) from which flags, environment
 * variables (HOOKLINE_<NAME>), `--help` and `config-doc` are all derived. */
#ifndef DP_CONFIG_H
#define DP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "hl/config.h"
#include "hl/kafka.h"

struct dp_config {
    struct hl_common_cfg common;
    char *group_id;
    int64_t refresh_interval_ms;
    int64_t fence_wait_ms;
    int64_t max_in_flight;
    int64_t connect_timeout_ms;
    int64_t shutdown_timeout_ms;
    int64_t rebalance_drain_ms;
    int64_t session_timeout_ms;
    char *retry_tiers_ms; /* comma-separated tier delays, ascending */
    char *event_schema;   /* NULL: HL_DEFAULT_EVENT_SCHEMA */
    int64_t retry_jitter_pct;
    int64_t retry_after_max_ms;
    int64_t throttle_min_delay_ms;
    int64_t default_max_concurrency;
    int64_t breaker_window_ms;
    int64_t breaker_min_requests;
    int64_t breaker_failure_pct;
    int64_t breaker_open_ms;
    int64_t breaker_open_max_ms;
    int64_t auto_disable_after_ms;
    int64_t log_batch_max;
    int64_t log_flush_ms;
    bool attempt_log;
    bool attempt_log_direct; /* own records to the writer in-process, not through Kafka */
    char *ca_bundle; /* PEM CAs for https deliveries; NULL: the system store */
    char *assignment_strategy; /* librdkafka partition.assignment.strategy */
    int64_t prefetch_kb;       /* queued.max.messages.kbytes, per assigned partition */
    int64_t max_unacked;       /* produced records awaiting acknowledgement */
    int64_t bulk_linger_ms;    /* linger of the producer of records no one waits for */
    int64_t inline_fanout_max; /* dp_fanout.h: fan-outs delivered without a task */
    char *kafka_compression;   /* compression.codec of what the dispatcher produces */
    char *http_host;           /* the operations listener (hl/opshttp.h) */
    int64_t http_port;         /* 0: no listener */

    /* derived from retry_tiers_ms by dp_config_finish() */
    int64_t tiers[HL_RETRY_TIERS_MAX];
    size_t ntiers;
};

/* Checks cross-option rules and derives the parsed fields. */
hl_err dp_config_finish(struct dp_config *cfg, char *errbuf, size_t errlen);

extern const struct hl_cfg_opt dp_config_opts[];
extern const size_t dp_config_nopts;

#endif
