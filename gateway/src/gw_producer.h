/* The Kafka producer (gw_producer.c): idempotent (acks=all), with a thread serving delivery
 * reports so that request threads can block until the broker has acknowledged their
 * messages; a second one, lingering, takes the events while the gateway is busy. */
#ifndef GW_PRODUCER_H
#define GW_PRODUCER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/err.h"

struct gw_config;
struct gw_producer;
struct gw_producer *gw_producer_new(const struct gw_config *cfg, char *errbuf, size_t errlen);
/* Flushes outstanding messages (bounded by the produce timeout) and frees. */
void gw_producer_free(struct gw_producer *p);

struct gw_kmsg {
    const char *topic;
    const char *key;
    const char *value;
    size_t value_len;
    rd_kafka_resp_err_t err; /* out: the broker's verdict for this message */
};
/* Produces n messages and waits until each is acknowledged or failed (per-message err).
 * Returns HL_OK when all were acknowledged.
 * @locality any thread; blocks the caller up to produce_timeout_ms. */
hl_err gw_produce_wait(struct gw_producer *p, struct gw_kmsg *msgs, size_t n);
bool gw_producer_healthy(struct gw_producer *p);
/* True once the producer had a fatal error; it raised SIGTERM, and serve exits with 1. */
bool gw_producer_fatal(void);
/* Fetches topic's metadata (waiting up to timeout_ms) so that the first events produced to
 * it do not wait for it; a failure is logged, not fatal (librdkafka keeps trying).
 * @locality the main thread, before serving. */
void gw_producer_warm(struct gw_producer *p, const char *topic, int timeout_ms);
/* Messages in the producers' queues, not yet acknowledged (for /metrics). */
int gw_producer_queue_len(struct gw_producer *p);
/* Messages produced since the start, by the prompt and by the busy producer (for /metrics). */
void gw_producer_counts(struct gw_producer *p, uint64_t *prompt, uint64_t *busy);

#endif
