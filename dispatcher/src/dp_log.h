/* The attempt-log writer: consumes <prefix>.attempts in its own consumer group
 * (<group_id>-log) on its own thread, and writes each batch to PostgreSQL in one
 * transaction (deliveries upserted, delivery_attempts inserted, webhooks disabled when a
 * record asks for it), then commits the batch's offsets. Idempotent, so a replay after a
 * crash or a failed commit changes nothing.
 *
 * A PostgreSQL outage stops only this thread: the batch is kept, its partitions paused,
 * and the write retried with backoff; deliveries go on, their records wait in Kafka, and
 * the log catches up when PostgreSQL answers again. */
#ifndef DP_LOG_H
#define DP_LOG_H

#include <stddef.h>

#include "dp_config.h"

struct dp_log;

/* Starts the thread. NULL with errbuf set when the consumer cannot be created. */
struct dp_log *dp_log_start(const struct dp_config *cfg, char *errbuf, size_t errlen);
/* Writes what it holds (one last try), commits, leaves the group and joins the thread. */
void dp_log_stop(struct dp_log *l);

#endif
