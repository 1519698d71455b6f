/* The dispatcher's metrics (names and meanings in docs/operations.md): what the loop
 * thread counts as deliveries end, the Kafka consumers' lag from librdkafka's statistics,
 * the subscription snapshot, and the readiness that the operations listener (hl/opshttp.h) answers /readyz with.
 *
 * Every function here may be called from any thread; updates are lock-free except the
 * statistics callbacks, which swap a lag table under a mutex every few seconds. */
#ifndef DP_METRICS_H
#define DP_METRICS_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "dp_config.h"


/* Declares every family and registers the scrape-time collectors. @locality main thread,
 * before any other thread starts */
void dp_metrics_init(const struct dp_config *cfg);

/* An attempt record was produced: status is the record's (succeeded, retrying, failed,
 * skipped), error_class NULL on success; disabling when the record disables its webhook.
 * @locality loop thread */
void dp_metrics_outcome(const char *status, const char *error_class, bool disabling);
/* A delivery was dropped unattempted: its partition went to another dispatcher.
 * @locality loop thread */
void dp_metrics_handed_over(void);
/* An attempt record was written to PostgreSQL by this process's writer directly, or went
 * to <prefix>.attempts (dp_produce.h). @locality loop thread */
void dp_metrics_attempt_record_path(bool direct);
/* The attempt-log writer wrote a batch (dp_attemptlog.c): with the first attempts' COPY,
 * with the upsert, or with the upsert after the COPY met a row already there.
 * @locality the writer's thread */
enum dp_metrics_log_statement {
    DP_METRICS_LOG_COPY,
    DP_METRICS_LOG_UPSERT,
    DP_METRICS_LOG_COPY_CONFLICT,
    DP_METRICS_LOG_STATEMENTS
};
void dp_metrics_log_batch(enum dp_metrics_log_statement st);
/* A waiting delivery went to <prefix>.deliveries before a rebalance (dp_deliver.h). */
void dp_metrics_handed_off(void);
/* An HTTP attempt ended after elapsed_ms; error_class NULL on success. */
void dp_metrics_attempt(int64_t elapsed_ms, const char *error_class);
/* A delivery succeeded at finished_ms (epoch) for an event accepted at timestamp (the
 * envelope's ISO 8601 text). */
void dp_metrics_delivered(const char *timestamp, int64_t finished_ms);
/* HTTP attempts in flight went up or down by delta. */
void dp_metrics_attempts_in_flight(int delta);
/* Receiver connections (dp_conn.h): one opened, a request resent on a new one after its
 * kept-alive one turned out closed, the idle ones. @locality loop thread */
void dp_metrics_connection_opened(void);
void dp_metrics_request_resent(void);
void dp_metrics_connections_idle(int delta);
/* Open circuit breakers went up or down by delta. */
void dp_metrics_breakers_open(int delta);
/* Subscription snapshot published (loader thread) with so many webhooks of each status,
 * or the version check found the current one up to date. */
void dp_metrics_snapshot_loaded(int64_t active, int64_t paused, int64_t disabled);
void dp_metrics_snapshot_checked(void);

/* Which consumer a configuration is for: the lag of the two delivery consumers (events and
 * deliveries; the retry tiers) is exposed together, the log's under its own name. */
typedef enum {
    DP_METRICS_CONSUMER,
    DP_METRICS_TIER_CONSUMER,
    DP_METRICS_LOG_CONSUMER,
    DP_METRICS_NCLIENTS
} dp_metrics_client;
/* Turns on librdkafka's statistics (statistics.interval.ms) with a callback that keeps the
 * consumer's lag per topic and partition. The conf's opaque is left alone. */
void dp_metrics_kafka_conf(rd_kafka_conf_t *conf, dp_metrics_client which);
/* Takes the lag of the assigned partitions out of one librdkafka statistics document (what
 * the callback does; exposed for unit tests). */
void dp_metrics_kafka_stats(dp_metrics_client which, const char *json, size_t len);

/* Readiness: the consumer group assigned both consumers (the live topics' and the retry
 * tiers', which is a client of its own; even an empty share), a snapshot is loaded, and
 * no shutdown has begun. */
void dp_metrics_group_joined(dp_metrics_client which);
void dp_metrics_shutting_down(void);
/* True when ready; otherwise false with the reasons in why. */
bool dp_metrics_ready(char *why, size_t whylen);

#endif
