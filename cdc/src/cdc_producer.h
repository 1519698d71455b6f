/* The Kafka producer of table events: idempotent (acks=all, no duplicates or reordering
 * from its own retries), with a thread serving delivery reports, which count each event
 * down in its transaction (cdc_acks.h). Shared by every stream of the process.
 * @locality produce: any thread (librdkafka is thread-safe); reports: the poll thread. */
#ifndef CDC_PRODUCER_H
#define CDC_PRODUCER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "cdc_acks.h"
#include "cdc_config.h"
#include "hl/err.h"
#include "hl/kafka.h"

struct cdc_producer;

struct cdc_producer *cdc_producer_new(const struct cdc_config *cfg, char *errbuf,
                                      size_t errlen);
/* Waits up to timeout_ms for what is in flight, then frees. */
void cdc_producer_free(struct cdc_producer *p, int timeout_ms);
/* Produces value under key to <prefix>.events; its report counts txn down. Blocks while
 * librdkafka's queue is full (until *stop). HL_EIO when librdkafka refused it. */
hl_err cdc_produce(struct cdc_producer *p, const char *key, size_t keylen, const char *value,
                   size_t len, struct cdc_acks *acks, struct cdc_txn *txn,
                   atomic_int *stop, char *errbuf, size_t errlen);
bool cdc_producer_healthy(struct cdc_producer *p);

#endif
