/* Where undeliverable things go. This slice has no dead-letter topic yet: both functions
 * log at warn level; the <prefix>.dlq producer replaces their bodies, not their callers. */
#ifndef DP_DEADLETTER_H
#define DP_DEADLETTER_H

#include <librdkafka/rdkafka.h>

struct dp_msg;

/* A message of the events topic that is not a valid event (reason says why). */
void dp_dead_letter(const rd_kafka_message_t *rkm, const char *reason);
/* A delivery that exhausted its attempts. */
void dp_dead_letter_delivery(const struct dp_msg *msg, const char *delivery_id,
                             const char *webhook_id, int attempts, const char *last_error);

#endif
