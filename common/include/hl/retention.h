/* Delivery-log retention: deliveries and their attempts older than the window, and client
 * event ids past their 24 h dedupe window, are deleted in bounded batches by a background
 * thread every retention_interval_ms. Either service runs it (options in
 * HL_CFG_COMMON_OPTS); a PostgreSQL advisory lock makes one process at a time do the work,
 * whatever the number of replicas.
 *
 * A delivery is deleted once both its creation and its last change are older than the
 * window and it is finished (succeeded, failed, skipped), or, retrying or pending, it has
 * no attempt due after the window's start: a delivery still being retried across the
 * boundary is kept. Each batch is its own short transaction (rows locked with SKIP
 * LOCKED), so the attempt-log writer and ingest never wait long behind it. */
#ifndef HL_RETENTION_H
#define HL_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "hl/config.h"
#include "hl/err.h"

/* Rows deleted per transaction. */
#define HL_RETENTION_BATCH 1000

struct hl_retention;

/* The window in ms that c asks for (retention_window_ms, else retention_days), 0 when
 * retention is off in this process. */
int64_t hl_retention_window_ms(const struct hl_common_cfg *c);
/* Starts the cleaner thread (NULL when retention is off in this process). It declares
 * the hookline_retention_* metrics. @locality main thread */
struct hl_retention *hl_retention_start(const struct hl_common_cfg *c);
void hl_retention_stop(struct hl_retention *r);

/* One cleanup on conn: takes the advisory lock (returns HL_ECONFLICT when another
 * process holds it), deletes what is older than window_ms batch by batch, releases the lock.
 * deleted[0..2] receive the rows deleted from deliveries, delivery_attempts and event_ids.
 * Exposed for tests and benchmarks. */
hl_err hl_retention_run(PGconn *conn, int64_t window_ms, int64_t deleted[3], char *errbuf,
                        size_t errlen);

#endif
