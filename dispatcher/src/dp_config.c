/* The dispatcher's option table (see dp_config.h). Defaults follow the product brief:
 * 30 s per attempt, 6 attempts (first try + 5 retries) with exponential backoff. */
#include "dp_config.h"

#include "hl/banned.h"

#define DAY_MS INT64_C(86400000)

const struct hl_cfg_opt dp_config_opts[] = {
    HL_CFG_COMMON_OPTS(struct dp_config),
    {"group_id", HL_CFG_STR, offsetof(struct dp_config, group_id), "hookline-dispatchers", 0, 0,
     "Kafka consumer group shared by all dispatchers"},
    {"refresh_interval_ms", HL_CFG_INT, offsetof(struct dp_config, refresh_interval_ms), "1000",
     100, DAY_MS,
     "period of the fallback full reload of the webhooks; NOTIFY makes changes effective at "
     "once"},
    {"max_in_flight", HL_CFG_INT, offsetof(struct dp_config, max_in_flight), "1000", 1, 1000000,
     "deliveries in progress or waiting for a retry at which no new event is taken"},
    {"request_timeout_ms", HL_CFG_INT, offsetof(struct dp_config, request_timeout_ms), "30000",
     100, 600000, "timeout of one delivery attempt, connection included"},
    {"connect_timeout_ms", HL_CFG_INT, offsetof(struct dp_config, connect_timeout_ms), "10000",
     100, 600000, "timeout of the TCP and TLS connection of one attempt"},
    {"max_attempts", HL_CFG_INT, offsetof(struct dp_config, max_attempts), "6", 1, 100,
     "attempts per delivery, first try included"},
    {"retry_initial_ms", HL_CFG_INT, offsetof(struct dp_config, retry_initial_ms), "1000", 1,
     DAY_MS, "wait before the first retry; each further retry waits twice as long"},
    {"retry_max_ms", HL_CFG_INT, offsetof(struct dp_config, retry_max_ms), "60000", 1, DAY_MS,
     "longest wait between two attempts"},
    {"shutdown_timeout_ms", HL_CFG_INT, offsetof(struct dp_config, shutdown_timeout_ms), "10000",
     0, 600000,
     "on SIGTERM, how long in-flight deliveries may still finish; unfinished events are "
     "redelivered by the dispatcher that takes their partition over"},
};

const size_t dp_config_nopts = sizeof(dp_config_opts) / sizeof(dp_config_opts[0]);
