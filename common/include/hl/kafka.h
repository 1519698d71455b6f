/* Kafka plumbing shared by both services: configuration with logs bridged into hl_log,
 * topic naming, and topic creation through the admin API. */
#ifndef HL_KAFKA_H
#define HL_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl/err.h"

#define HL_TOPIC_MAX 256
/* Retry tiers are topics <prefix>.retry.0 .. <prefix>.retry.<n-1>, named by index so that
 * `create-topics` need not know the dispatchers' delays; it creates all of them. */
#define HL_RETRY_TIERS_MAX 8

/* Sets the extra librdkafka properties every later hl_kafka_new() applies (options
 * kafka_properties: "name=value;..."; kafka_properties_file: one per line, '#' comments;
 * either may be NULL). Each is tried on a scratch configuration, so an unknown property or
 * a bad value fails here, with librdkafka's message, and not in the first client made. So
 * does a property Hookline sets itself because its guarantees rest on it (acks,
 * enable.auto.commit, ...) or because one of its options does (linger.ms, group.id, ...).
 * Values are never logged (sasl.password). @locality main thread, before any client. */
hl_err hl_kafka_extra_set(const char *inline_props, const char *file, char *errbuf,
                          size_t errlen);
/* A new configuration with bootstrap.servers, client.id and the log callback set. */
rd_kafka_conf_t *hl_kafka_conf_new(const char *brokers, const char *client_id, char *errbuf,
                                   size_t errlen);
/* rd_kafka_new() after the extra properties (hl_kafka_extra_set) are set on conf, last: a
 * user's value wins over the one the service set for its own tuning (fetch sizes, queue
 * bounds). Takes conf on success; on failure it is still the caller's. */
rd_kafka_t *hl_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errbuf,
                         size_t errlen);
/* Sets one property or fails with librdkafka's message in errbuf. */
hl_err hl_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                         char *errbuf, size_t errlen);
/* "<prefix>.<suffix>" */
void hl_topic_name(char out[HL_TOPIC_MAX], const char *prefix, const char *suffix);

/* Closes consumer rk (revokes its assignment through its rebalance callback, commits,
 * leaves the group), waiting at most timeout_ms: rd_kafka_consumer_close() alone can wait
 * for tens of seconds on a group coordinator that does not answer, longer than a
 * supervisor waits after SIGTERM. False when it did not close in time: then destroy rk
 * with RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE (the broker ends the membership after
 * session.timeout.ms; offsets not committed by then are read again by the partitions'
 * next owner). */
bool hl_kafka_consumer_close(rd_kafka_t *rk, int timeout_ms);

struct hl_topic_spec {
    const char *name;
    int partitions;
    int replication;
    int min_insync_replicas; /* topic config min.insync.replicas; 0 = the broker's default */
};

/* Creates the topics that do not exist yet; existing ones are left alone. */
hl_err hl_kafka_create_topics(const char *brokers, const struct hl_topic_spec *topics, size_t n,
                              int timeout_ms, char *errbuf, size_t errlen);

#endif
