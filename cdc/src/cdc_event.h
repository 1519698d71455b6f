/* One row change as a Hookline event: the envelope of schemas/event.schema.json, produced to
 * <prefix>.events like any other event.
 *
 *   id          "<source id>:<commit LSN, 16 hex digits>:<position in the transaction>", so a
 *               replay after a crash yields the same id and so the same delivery ids
 *   event       the source's pattern ({table}.{action} by default: orders.created)
 *   timestamp   when the worker produced it; occurred_at: the transaction's commit time
 *   data        insert, update: the new row; delete: the old row as PostgreSQL sent it (its
 *               key columns, or every column under REPLICA IDENTITY FULL)
 *   metadata    {"table_source", "table": "schema.table", "operation", "lsn" (the commit's),
 *                "xid", "old"?: the old key or row of an update when PostgreSQL sent it,
 *                "unchanged_toast"?: columns left out because PostgreSQL did not send
 *                them (an unchanged TOASTed value: the row kept it, it was not guessed)}
 * Columns the table's rule excludes (or does not include) appear nowhere.
 * The Kafka key is "<source id>/<schema>.<table>": a table's events share a partition and
 * so stay in commit order. Pure. */
#ifndef CDC_EVENT_H
#define CDC_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "cdc_pgoutput.h"
#include "cdc_source.h"
#include "hl/buf.h"

struct cdc_change {
    const struct cdc_source *src;
    const struct cdc_table_rule *rule;
    const struct cdc_msg *msg; /* Insert, Update or Delete */
    cdc_op op;
    uint64_t commit_lsn;
    int64_t commit_ts_us;
    uint32_t xid;
    uint32_t seq;        /* 0-based position of the change in its transaction */
    int64_t now_ms;      /* the envelope's timestamp */
};

/* Writes the envelope's JSON into value and the message key into key (both cleared
 * first). */
void cdc_event_build(const struct cdc_change *c, struct hl_buf *value, struct hl_buf *key);
/* The event id of a change. */
#define CDC_EVENT_ID_MAX 80
void cdc_event_id(const char *source_id, uint64_t commit_lsn, uint32_t seq,
                  char out[CDC_EVENT_ID_MAX]);

#endif
