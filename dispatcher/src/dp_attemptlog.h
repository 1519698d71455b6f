/* The attempt-log writer: a thread that writes attempt records to PostgreSQL in batches,
 * one transaction each (deliveries upserted, delivery_attempts inserted, and the disables
 * that records carry applied unless the webhook changed since: dp_autodisable.h).
 * Idempotent and indifferent to order (of two records of a delivery the one with more
 * attempts wins, then the later one), so a replay changes nothing.
 *
 * Records reach it two ways:
 * - directly: the loop thread of the same process hands over its own records
 *   (dp_direct_offer) and gets each back once it is written (dp_direct_collect).
 *   The message that made a record keeps its pending unit until then, as it would until
 *   Kafka acknowledged it (dp_produce.h);
 * - through Kafka: it consumes <prefix>.attempts in its own consumer group
 *   (<group_id>-log) and commits a batch's offsets once the batch is written. Records go
 *   there when the writer does not take them: PostgreSQL failing, more records waiting than
 *   it keeps up with, or no writer in the producing process (attempt_log off).
 *
 * A PostgreSQL outage stops only this thread: the direct records are handed back (the loop
 * produces them to <prefix>.attempts), the Kafka batch is kept, its partitions paused, and
 * the write retried with backoff; deliveries go on, their records wait in Kafka, and the
 * log catches up when PostgreSQL answers again. */
#ifndef DP_ATTEMPTLOG_H
#define DP_ATTEMPTLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "dp_config.h"
#include "dp_record_columns.h"
#include "hl/buf.h"
#include "hl/json.h"

struct dp_attemptlog;
struct dp_direct;
struct dp_direct_rec;

/* Starts the thread. A byte is written to wake_fd (the loop's) when direct records are
 * finished. NULL with errbuf set when the consumer cannot be created. */
struct dp_attemptlog *dp_attemptlog_start(const struct dp_config *cfg, int wake_fd,
                                          char *errbuf, size_t errlen);
/* Writes what it holds (one last try), commits, leaves the group and joins the thread.
 * Direct records not collected by then are dropped, never written twice nor reported:
 * their messages stay pending. */
void dp_attemptlog_stop(struct dp_attemptlog *l);

/* Its direct path: the loop offers its attempt records there (dp_direct.h). Taken while
 * the last write succeeded and fewer than 8 * log_batch_max are held; the writer wakes for
 * a full batch, or looks every log_flush_ms. */
struct dp_direct *dp_attemptlog_direct(struct dp_attemptlog *l);

/* A batch of attempt records (internal to dp_attemptlog.c, declared for its unit tests):
 * their texts one after another, and where each of the columns' members
 * (dp_record_columns.h) is in each. */
struct dp_attemptlog_rec {
    size_t start; /* where the record's text begins in text */
    struct dp_direct_rec *direct; /* the direct record it came from; NULL: from Kafka */
    struct hl_json_span sp[DP_ATTEMPTLOG_COLUMNS]; /* within the record's text */
};
struct dp_attemptlog_batch {
    struct hl_buf text;
    struct dp_attemptlog_rec *recs;
    size_t n, nalloc;
    struct dp_attemptlog_rec *spare; /* dp_attemptlog_batch_split's */
    size_t nspare;
};

/* Appends one record if it is one: JSON (hl_json_valid), an object whose members
 * delivery_id (msg_...), tenant, webhook_id (a UUID), event_id, event_type and status
 * (one of the five) are strings, attempt_no, started_ms and finished_ms integers, event an
 * object, and http_status, next_attempt_ms, response_excerpt, error_class, error,
 * disable_reason and disable_version_ms absent, null or of their type. False, and nothing
 * appended, otherwise. A \u0000 escape is kept as \uFFFD (PostgreSQL's text has no
 * U+0000). */
bool dp_attemptlog_batch_add(struct dp_attemptlog_batch *b, const char *rec, size_t len);
/* Appends one record of this process, whose spans its encoder wrote
 * (dp_attempt_record_encode): nothing is scanned or checked but the \u0000 escapes. */
void dp_attemptlog_batch_add_own(struct dp_attemptlog_batch *b, const char *rec, size_t len,
                                 const struct dp_record_spans *spans);
/* Writes the statement's 17 parameters for records [from, to) into out: per column, a
 * one-dimensional text[] in PostgreSQL's binary format, at out->ptr + off[c], len[c] bytes.
 * Elements are strings unescaped, numbers and the event as their JSON text, NULL for an
 * absent or null member. */
void dp_attemptlog_batch_arrays(const struct dp_attemptlog_batch *b, size_t from, size_t to,
                                struct hl_buf *out, size_t off[DP_ATTEMPTLOG_COLUMNS],
                                int len[DP_ATTEMPTLOG_COLUMNS]);
/* Moves the records of first attempts in [from, to) (attempt_no 1, not skipped, not
 * deferred with error class circuit_open, no disable) before the others, each group in its
 * order, and returns where the others begin. Such a record is normally the first of its
 * delivery, so the writer loads its rows with COPY, without looking for them first
 * (COPY_DELIVERIES_SQL in dp_attemptlog.c), and upserts the others after them in the same
 * transaction. */
size_t dp_attemptlog_batch_split(struct dp_attemptlog_batch *b, size_t from, size_t to);/* Writes records [from, to), all of first attempts, as the data of two binary COPYs
 * (PostgreSQL's "binary format"), each from its signature to its trailer: the deliveries'
 * rows, as the upsert would insert them, and the attempts' rows (a first attempt's record
 * is of an attempt made). A duration beyond int4 is written as its largest value; a time beyond what
 * PostgreSQL holds as one it refuses. */
void dp_attemptlog_batch_copy(const struct dp_attemptlog_batch *b, size_t from, size_t to,
                              struct hl_buf *deliveries, struct hl_buf *attempts);
/* Empties the batch, keeping its storage. */
void dp_attemptlog_batch_clear(struct dp_attemptlog_batch *b);
void dp_attemptlog_batch_release(struct dp_attemptlog_batch *b);

#endif
