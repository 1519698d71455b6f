/* The attempt-log writer: consumes <prefix>.attempts in its own consumer group
 * (<group_id>-log) on its own thread, and writes each batch to PostgreSQL in one
 * transaction (deliveries upserted, delivery_attempts inserted, and the disables that
 * records carry applied unless the webhook changed since: dp_autodisable.h), then
 * commits the batch's offsets. Idempotent, so a replay after a crash or a failed commit
 * changes nothing.
 *
 * A PostgreSQL outage stops only this thread: the batch is kept, its partitions paused,
 * and the write retried with backoff; deliveries go on, their records wait in Kafka, and
 * the log catches up when PostgreSQL answers again. */
#ifndef DP_ATTEMPTLOG_H
#define DP_ATTEMPTLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "dp_config.h"
#include "hl/buf.h"

struct dp_attemptlog;

/* Starts the thread. NULL with errbuf set when the consumer cannot be created. */
struct dp_attemptlog *dp_attemptlog_start(const struct dp_config *cfg, char *errbuf, size_t errlen);
/* Writes what it holds (one last try), commits, leaves the group and joins the thread. */
void dp_attemptlog_stop(struct dp_attemptlog *l);

/* The batch's text, a JSON array of the records' texts as consumed (internal to dp_attemptlog.c,
 * declared for its unit tests). */

/* Appends one record's text to batch ('[' before the first, ',' before the others) and its
 * end offset to (*ends)[*n], growing *ends (*nalloc entries) as needed. False, and nothing
 * appended, unless the text is braces around something without NUL bytes: whether that is
 * JSON is PostgreSQL's to say. A \u0000 escape is appended as \uFFFD (jsonb has no
 * U+0000). The closing ']' is the caller's. */
bool dp_attemptlog_batch_append(struct hl_buf *batch, size_t **ends, size_t *nalloc, size_t *n,
                         const char *rec, size_t len);
/* Parses each of the n records (jansson) and drops from batch and ends those that are not
 * JSON objects; returns how many it dropped. */
size_t dp_attemptlog_batch_sanitize(struct hl_buf *batch, size_t *ends, size_t *n);

#endif
