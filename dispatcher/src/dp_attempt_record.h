/* Attempt records: what the dispatcher tells the attempt log about a delivery, one JSON
 * object per attempt (or per skip, or per deferral while the breaker is open), handed to
 * the process's attempt-log writer (dp_attemptlog.c), which writes them to PostgreSQL, or
 * produced to <prefix>.attempts keyed by delivery id. The fields:
 *
 *   {"delivery_id", "tenant", "webhook_id", "event_id", "event_type", "status",
 *    "attempt_no", "started_ms", "finished_ms", "http_status", "next_attempt_ms",
 *    "response_excerpt", "error_class", "error",
 *    "disable_reason"?, "disable_version_ms"?, "event"}
 *
 * disable_reason and disable_version_ms ride on the record of the attempt that disabled
 * the webhook (see dp_autodisable.h): the webhook is disabled only if it has not changed
 * since that version.
 *
 * @locality loop thread (dp_attempt_record_emit); encode is pure */
#ifndef DP_ATTEMPT_RECORD_H
#define DP_ATTEMPT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "dp_record_columns.h"
#include "hl/buf.h"

struct dp_msg;
struct dp_producer;
struct hl_task;

struct dp_attempt_record {
    const char *status; /* succeeded | retrying | failed | skipped */
    int attempt_no;     /* attempts made so far for skipped and circuit_open records */
    int64_t started_ms, finished_ms;
    long http_status;
    const char *excerpt; /* response body excerpt, excerpt_len bytes, may be NULL */
    size_t excerpt_len;
    const char *error_class; /* NULL on success */
    const char *error;
    int64_t next_attempt_ms;    /* 0 when none */
    const char *disable_reason; /* the attempt disabled the webhook (dp_autodisable) */
    int64_t disable_version_ms; /* ... as it was at this version (updated_at, epoch ms) */
};

/* Appends the record of task t (its event's id and type given) to out; spans, when not
 * NULL, gets where each column's value is within the record. */
void dp_attempt_record_encode(const struct hl_task *t, const char *event_id,
                              const char *event_type, const struct dp_attempt_record *r,
                              struct hl_buf *out, struct dp_record_spans *spans);
/* Encodes it and hands it on (dp_produce_record) on behalf of msg, which keeps a pending
 * unit until the record is durable. */
void dp_attempt_record_emit(struct dp_producer *prod, const struct hl_task *t,
                            const char *event_id, const char *event_type,
                            const struct dp_attempt_record *r, struct dp_msg *msg);
/* Makes a response excerpt fit a jsonb column: NUL bytes become spaces and, unless the
 * whole excerpt is valid UTF-8, bytes >= 0x80 become '?'. */
void dp_attempt_record_sanitize_excerpt(struct hl_buf *b);

#endif
