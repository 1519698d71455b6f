/* hookline-cdc's option table (see cdc_config.h). */
#include "cdc_config.h"

#include "hl/banned.h"

#define DAY_MS INT64_C(86400000)

const struct hl_cfg_opt cdc_config_opts[] = {
    HL_CFG_COMMON_OPTS(struct cdc_config),
    {"worker_id", HL_CFG_STR, offsetof(struct cdc_config, worker_id), NULL, 0, 0,
     "name this worker reports in a table source's status (default: <hostname>-<pid>)"},
    {"scan_interval_ms", HL_CFG_INT, offsetof(struct cdc_config, scan_interval_ms), "2000", 100,
     DAY_MS,
     "period of the scan for table sources to take over (a dead worker's, or new ones "
     "missed while PostgreSQL was unreachable); NOTIFY makes changes effective at once"},
    {"status_interval_ms", HL_CFG_INT, offsetof(struct cdc_config, status_interval_ms), "1000",
     100, 60000,
     "period of the standby status updates confirming LSNs to the user's database and of "
     "the status written for the API"},
    {"reconnect_min_ms", HL_CFG_INT, offsetof(struct cdc_config, reconnect_min_ms), "500", 10,
     DAY_MS, "first wait before reconnecting to a user's database; doubles per failure"},
    {"reconnect_max_ms", HL_CFG_INT, offsetof(struct cdc_config, reconnect_max_ms), "30000", 10,
     DAY_MS, "longest wait between two connection attempts to a user's database"},
    {"connect_timeout_s", HL_CFG_INT, offsetof(struct cdc_config, connect_timeout_s), "5", 1,
     600, "timeout of a connection to a user's database (unless its connection string sets "
     "connect_timeout)"},
    {"message_timeout_ms", HL_CFG_INT, offsetof(struct cdc_config, message_timeout_ms),
     "300000", 1000, DAY_MS,
     "how long Kafka may take to acknowledge an event before the stream gives up, "
     "reconnects and replays from the last confirmed LSN"},
    {"linger_ms", HL_CFG_INT, offsetof(struct cdc_config, linger_ms), "5", 0, 1000,
     "librdkafka linger.ms: how long events wait to be batched"},
    {"max_in_flight", HL_CFG_INT, offsetof(struct cdc_config, max_in_flight), "50000", 100,
     10000000,
     "events of one table source awaiting Kafka's acknowledgement at which the worker stops "
     "reading its replication stream until Kafka catches up"},
    {"kafka_compression", HL_CFG_STR, offsetof(struct cdc_config, kafka_compression), "none", 0,
     0, "codec of the events produced (librdkafka compression.codec: none, lz4, zstd, snappy, "
     "gzip)"},
    {"http_host", HL_CFG_STR, offsetof(struct cdc_config, http_host), "0.0.0.0", 0, 0,
     "address of the operations listener (/metrics, /healthz, /readyz)"},
    {"http_port", HL_CFG_INT, offsetof(struct cdc_config, http_port), "8083", 0, 65535,
     "port of the operations listener (/metrics, /healthz, /readyz); 0: none. Each worker "
     "on one host needs its own"},
};

const size_t cdc_config_nopts = sizeof(cdc_config_opts) / sizeof(cdc_config_opts[0]);
