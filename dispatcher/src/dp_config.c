/* The dispatcher's option table (see dp_config.h).
 *
 * A delivery's timeout and retry policy (strategy, attempts, initial and max delay) are
 * the webhook's own: every webhook has them (columns timeout_ms and retry_policy, NOT NULL
 * with defaults, migration 0003; the API fills in the same defaults: 30 s, exponential, 6
 * attempts, 5 s initial, 1 h max). So the dispatcher has no options for them: a default
 * here would never apply. What the dispatcher does decide is how retries wait (tiers,
 * jitter, Retry-After, throttling) and the endpoint's health. */
#include "dp_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl/banned.h"

#define DAY_MS INT64_C(86400000)

const struct hl_cfg_opt dp_config_opts[] = {
    HL_CFG_COMMON_OPTS(struct dp_config),
    {"group_id", HL_CFG_STR, offsetof(struct dp_config, group_id), "hookline-dispatchers", 0, 0,
     "Kafka consumer group shared by all dispatchers"},
    {"refresh_interval_ms", HL_CFG_INT, offsetof(struct dp_config, refresh_interval_ms), "1000",
     100, DAY_MS,
     "period of the fallback check for webhook and tenant changes (the subscription version; "
     "a full reload only when it moved); NOTIFY makes changes effective at once"},
    {"fence_wait_ms", HL_CFG_INT, offsetof(struct dp_config, fence_wait_ms), "30000", 0, DAY_MS,
     "how long an event accepted after a webhook or tenant change waits for a snapshot that "
     "holds the change while PostgreSQL cannot be reached; then it is matched against the "
     "last snapshot (events of a tenant the snapshot does not know wait for PostgreSQL)"},
    {"max_in_flight", HL_CFG_INT, offsetof(struct dp_config, max_in_flight), "1000", 1, 1000000,
     "deliveries in progress or waiting for a retry at which no new event is taken"},
    {"connect_timeout_ms", HL_CFG_INT, offsetof(struct dp_config, connect_timeout_ms), "10000",
     100, 600000, "timeout of the TCP and TLS connection of one attempt"},
    {"session_timeout_ms", HL_CFG_INT, offsetof(struct dp_config, session_timeout_ms), "10000",
     1000, 300000,
     "Kafka consumer session timeout: how soon a killed dispatcher's partitions move to the "
     "others"},
    {"retry_tiers_ms", HL_CFG_STR, offsetof(struct dp_config, retry_tiers_ms),
     "5000,60000,600000,3600000", 0, 0,
     "delays of the retry topics <prefix>.retry.0, .1, ... (ascending, at most 8); a retry "
     "waits in the longest tier not longer than its remaining delay, then in shorter ones, "
     "and what remains below the shortest tier in the dispatcher's memory (its source "
     "message unfinished until the retry is attempted, at most a quarter of max_in_flight "
     "such retries at once)"},
    {"retry_jitter_pct", HL_CFG_INT, offsetof(struct dp_config, retry_jitter_pct), "20", 0, 100,
     "random spread added to or taken from each retry delay, in percent"},
    {"retry_after_max_ms", HL_CFG_INT, offsetof(struct dp_config, retry_after_max_ms),
     "3600000", 0, DAY_MS,
     "longest Retry-After honoured; a longer one is capped to this"},
    {"throttle_min_delay_ms", HL_CFG_INT, offsetof(struct dp_config, throttle_min_delay_ms),
     "60000", 0, DAY_MS,
     "shortest wait after a 429 or a timeout (backing off harder), capped at the policy's "
     "max delay"},
    {"default_max_concurrency", HL_CFG_INT, offsetof(struct dp_config, default_max_concurrency),
     "20", 1, 10000,
     "attempts in flight per webhook when the webhook sets no max_concurrency; such a "
     "webhook's deliveries start on every dispatcher that fans its events out "
     "(inline_fanout_max), so each dispatcher allows its share of the events partitions of "
     "this (at least 1): the sum over the group stays about this figure"},
    {"breaker_window_ms", HL_CFG_INT, offsetof(struct dp_config, breaker_window_ms), "300000",
     1000, DAY_MS, "window over which the circuit breaker counts a webhook's failures"},
    {"breaker_min_requests", HL_CFG_INT, offsetof(struct dp_config, breaker_min_requests), "10",
     1, 1000000, "attempts in the window before the circuit breaker may open"},
    {"breaker_failure_pct", HL_CFG_INT, offsetof(struct dp_config, breaker_failure_pct), "70", 1,
     100, "failure share in the window that opens the circuit breaker"},
    {"breaker_open_ms", HL_CFG_INT, offsetof(struct dp_config, breaker_open_ms), "30000", 100,
     DAY_MS,
     "how long an open circuit stays open before one half-open probe; each failed probe "
     "doubles it, up to breaker_open_max_ms"},
    {"breaker_open_max_ms", HL_CFG_INT, offsetof(struct dp_config, breaker_open_max_ms),
     "300000", 100, DAY_MS,
     "longest an open circuit stays open between probes, however long the endpoint has been "
     "failing (at least breaker_open_ms)"},
    {"auto_disable_after_ms", HL_CFG_INT, offsetof(struct dp_config, auto_disable_after_ms),
     "432000000", 1000, 365 * DAY_MS,
     "a webhook failing without a single success for this long is disabled (and "
     "webhook.disabled emitted)"},
    {"log_batch_max", HL_CFG_INT, offsetof(struct dp_config, log_batch_max), "500", 1, 100000,
     "attempt records at which a batch is written to PostgreSQL (one transaction; the "
     "direct records taken meanwhile join it)"},
    {"log_flush_ms", HL_CFG_INT, offsetof(struct dp_config, log_flush_ms), "200", 10, 60000,
     "longest an attempt record waits before its batch is written"},
    {"event_schema", HL_CFG_STR, offsetof(struct dp_config, event_schema), NULL, 0, 0,
     "JSON Schema every message on <prefix>.events must match; others go to <prefix>.dlq "
     "(default: the source tree's schemas/event.schema.json)"},
    {"attempt_log", HL_CFG_BOOL, offsetof(struct dp_config, attempt_log), "true", 0, 0,
     "run the attempt-log writer (consumer group <group_id>-log) in this process"},
    {"attempt_log_direct", HL_CFG_BOOL, offsetof(struct dp_config, attempt_log_direct), "true",
     0, 0,
     "hand this process's attempt records to its attempt-log writer directly; through "
     "<prefix>.attempts only while PostgreSQL fails or falls behind (false: always through "
     "Kafka). No effect without attempt_log"},
    {"shutdown_timeout_ms", HL_CFG_INT, offsetof(struct dp_config, shutdown_timeout_ms), "10000",
     0, 600000,
     "on SIGTERM, how long in-flight deliveries may still finish; unfinished events are "
     "redelivered by the dispatcher that takes their partition over"},
    {"rebalance_drain_ms", HL_CFG_INT, offsetof(struct dp_config, rebalance_drain_ms), "2000",
     0, 60000,
     "before a rebalance takes partitions, how long the attempts on the wire may still end "
     "so that their offsets are committed (0: not at all); the next owner then does not "
     "send them again"},
    {"ca_bundle", HL_CFG_STR, offsetof(struct dp_config, ca_bundle), NULL, 0, 0,
     "PEM file of the CA certificates https deliveries are verified against instead of the "
     "system store; certificate and host name verification cannot be switched off"},
    {"assignment_strategy", HL_CFG_STR, offsetof(struct dp_config, assignment_strategy), "range",
     0, 0,
     "how the group shares partitions: range or roundrobin (eager: a rebalance revokes every "
     "partition) spread each topic evenly over the dispatchers; cooperative-sticky moves "
     "fewer partitions but balances the count over all topics together, which can leave "
     "the events and deliveries partitions on one dispatcher. Every dispatcher of a group "
     "must use the same protocol family: change it with all of them stopped"},
    {"prefetch_kb", HL_CFG_INT, offsetof(struct dp_config, prefetch_kb), "2048", 64, 1048576,
     "KB of messages fetched ahead per assigned partition (librdkafka "
     "queued.max.messages.kbytes; each partition has its own queue)"},
    {"max_unacked", HL_CFG_INT, offsetof(struct dp_config, max_unacked), "20000", 100, 1000000,
     "produced records (tasks, attempt records) awaiting Kafka's acknowledgement at which "
     "the dispatcher takes no new message; bounds the memory a fan-out backlog holds"},
    {"bulk_linger_ms", HL_CFG_INT, offsetof(struct dp_config, bulk_linger_ms), "20", 0, 1000,
     "how long the producer of attempt records, retries and dead letters gathers records "
     "before sending them (librdkafka linger.ms): fewer, larger produce requests cost the "
     "broker and the dispatcher less per delivery, and nothing waits on these records "
     "within milliseconds. Tasks on <prefix>.deliveries and system events have a producer "
     "of their own that sends within 2 ms"},
    {"inline_fanout_max", HL_CFG_INT, offsetof(struct dp_config, inline_fanout_max), "16", 0,
     256,
     "an event that matches at most this many webhooks has their deliveries started by the "
     "dispatcher that fans it out, without a task on <prefix>.deliveries (one Kafka round "
     "trip less; webhooks with a rate limit or max_concurrency of their own always get a "
     "task); larger fan-outs are spread as tasks over every dispatcher. 0: always tasks"},
    {"kafka_compression", HL_CFG_STR, offsetof(struct dp_config, kafka_compression), "none", 0,
     0,
     "codec of what the dispatcher produces (librdkafka compression.codec: none, lz4, zstd, "
     "snappy, gzip)"},
    {"http_host", HL_CFG_STR, offsetof(struct dp_config, http_host), "0.0.0.0", 0, 0,
     "address of the operations listener (/metrics, /healthz, /readyz)"},
    {"http_port", HL_CFG_INT, offsetof(struct dp_config, http_port), "8081", 0, 65535,
     "port of the operations listener (/metrics, /healthz, /readyz); 0: none. Each "
     "dispatcher on one host needs its own"},
};

hl_err dp_config_finish(struct dp_config *cfg, char *errbuf, size_t errlen)
{
    static const char *const strategies[] = {"range", "roundrobin", "cooperative-sticky"};
    bool known = false;
    for (size_t i = 0; i < sizeof(strategies) / sizeof(strategies[0]); i++)
        known |= cfg->assignment_strategy && strcmp(cfg->assignment_strategy, strategies[i]) == 0;
    if (!known) {
        snprintf(errbuf, errlen,
                 "assignment_strategy must be range, roundrobin or cooperative-sticky");
        return HL_EINVAL;
    }
    const char *s = cfg->retry_tiers_ms ? cfg->retry_tiers_ms : "";
    cfg->ntiers = 0;
    while (*s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 1 || v > 7 * DAY_MS || cfg->ntiers == HL_RETRY_TIERS_MAX ||
            (cfg->ntiers && v <= cfg->tiers[cfg->ntiers - 1]) || (*end && *end != ',')) {
            snprintf(errbuf, errlen,
                     "retry_tiers_ms: want up to %d ascending delays in ms, comma-separated",
                     HL_RETRY_TIERS_MAX);
            return HL_EINVAL;
        }
        cfg->tiers[cfg->ntiers++] = v;
        s = *end ? end + 1 : end;
    }
    if (cfg->ntiers == 0) {
        snprintf(errbuf, errlen, "retry_tiers_ms: at least one tier is needed");
        return HL_EINVAL;
    }
    if (cfg->breaker_open_max_ms < cfg->breaker_open_ms) {
        snprintf(errbuf, errlen, "breaker_open_max_ms (%lld) is less than breaker_open_ms (%lld)",
                 (long long)cfg->breaker_open_max_ms, (long long)cfg->breaker_open_ms);
        return HL_EINVAL;
    }
    /* Said at startup rather than as a tls error on every https delivery. */
    if (cfg->ca_bundle && *cfg->ca_bundle && access(cfg->ca_bundle, R_OK) != 0) {
        snprintf(errbuf, errlen, "ca_bundle: cannot read '%s': %s", cfg->ca_bundle,
                 strerror(errno));
        return HL_EINVAL;
    }
    return HL_OK;
}

const size_t dp_config_nopts = sizeof(dp_config_opts) / sizeof(dp_config_opts[0]);
