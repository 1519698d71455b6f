/* The dispatcher's Kafka producers: delivery tasks to <prefix>.deliveries and system
 * events (webhook.disabled, webhook.recovered) to <prefix>.events through one that sends
 * within 2 ms (a consumer waits for them); retries to the tiers, dead letters to
 * <prefix>.dlq and attempt records to <prefix>.attempts through one that gathers them for
 * bulk_linger_ms (nothing waits for them within milliseconds, and they are most of the
 * volume). Either way, dp_produce() picks by topic. Attempt records go to the process's
 * own attempt-log writer instead while it takes them (dp_producer_set_direct).
 *
 * A hand-off to Kafka is part of the work of the message that caused it: the message
 * keeps one pending unit per produce until the broker acknowledged it (acks=all,
 * idempotent), so its offset is never stored before what it handed off is durable.
 *
 * @locality loop thread: delivery reports run from dp_producer_serve(). */
#ifndef DP_PRODUCE_H
#define DP_PRODUCE_H

#include <stdbool.h>
#include <stddef.h>

#include "dp_config.h"

struct dp_msg;
struct dp_producer;
struct dp_direct;
struct dp_record_spans;

/* librdkafka writes a byte to wake_fd when delivery reports are waiting. */
struct dp_producer *dp_producer_new(const struct dp_config *cfg, int wake_fd, char *errbuf,
                                    size_t errlen);
/* Produces value to <prefix>.<suffix> with key (may be NULL). msg, when not NULL, gets one
 * pending unit released (dp_msg_done) once the broker acknowledged the record; a failed
 * record is produced again, so the unit is never released for a lost one. */
void dp_produce(struct dp_producer *p, const char *suffix, const char *key, const void *value,
                size_t len, struct dp_msg *msg);
/* Hands the attempt record rec (len bytes, its columns at spans, keyed by the delivery id
 * key) to the process's attempt-log writer when it takes it, else produces it to
 * <prefix>.attempts; msg as for dp_produce. */
void dp_produce_record(struct dp_producer *p, const char *key, const void *rec, size_t len,
                       const struct dp_record_spans *spans, struct dp_msg *msg);
/* From now on attempt records go to the process's attempt-log writer through d when it
 * takes them (dp_direct_offer), through Kafka when it does not; either way the message's
 * unit is released only once the record is durable (written to PostgreSQL, or
 * acknowledged). d must outlive the producer. */
void dp_producer_set_direct(struct dp_producer *p, struct dp_direct *d);
/* Records not yet acknowledged (or, handed to the writer, not yet written). */
int dp_producer_outstanding(const struct dp_producer *p);
/* Serves delivery reports and the writer's finished records (never blocks). */
void dp_producer_serve(struct dp_producer *p);
/* Asks the writer to write the records it holds now: something waits for them. */
void dp_producer_hurry(struct dp_producer *p);
/* True once the producer had a fatal error: it has raised SIGTERM to stop the
 * dispatcher, which then exits with status 1. */
bool dp_producer_fatal(void);
/* Flushes for up to timeout_ms, then frees. */
void dp_producer_free(struct dp_producer *p, int timeout_ms);

#endif
