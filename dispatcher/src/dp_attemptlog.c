/* The attempt-log writer (see dp_attemptlog.h).
 *
 * One transaction per batch. The records of first attempts (most of them: each delivery
 * succeeding at its first try) are moved to the batch's front and loaded with two COPYs in
 * PostgreSQL's binary format, one per table, with no look-ups, planning or unnesting
 * (COPY_DELIVERIES_SQL). The others are upserted after them by one statement: their fields
 * go to PostgreSQL as 17 arrays in binary (one per column, text elements), which unnest
 * WITH ORDINALITY spreads once for all three tables (data-modifying CTEs). Within that
 * statement only the latest record of a delivery updates its row (ON CONFLICT cannot touch
 * a row twice), and across statements and batches a record never moves a delivery back to
 * fewer attempts. Between records of the same attempt number (a skip, or a deferral while
 * the breaker is open, repeats the last one) the one that finished later wins, then the
 * later in the batch, first attempts counting as the earliest: records of one delivery may
 * reach the writer out of order, some directly and some through Kafka. If a first
 * attempt's row is there already, the whole batch is written again with the upsert.
 *
 * This thread finds the fields in each Kafka record's text by a scan (hl_json_members) and
 * checks them before the record joins a batch (a direct record comes with the spans its
 * encoder wrote: dp_attempt_record.h), so PostgreSQL parses no JSON but the event,
 * which it stores as json (checked, not converted: 0019_attempt_log_cost.sql). Sending the
 * records as one JSON array for PostgreSQL to take apart cost about 40 % more of its CPU
 * per record (docs/performance.md). A record PostgreSQL still refuses fails its whole
 * batch; the batch is then written a record at a time and only the refused ones are
 * dropped.
 *
 * The thread sleeps in poll() on a pipe of its own, which librdkafka writes to when the
 * consumer queue turns non-empty and dp_direct_offer when a batch's worth of direct
 * records is waiting (or dp_direct_hurry), so direct records cost no system call each.
 * A direct record is finished once its batch committed; a failed write hands the batch's
 * direct records back to the loop, which produces them to <prefix>.attempts, and takes no
 * more until a write (or, with nothing to write, a probe every second) succeeds. */
#include "dp_attemptlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp_autodisable.h"
#include "dp_consumer.h"
#include "dp_direct.h"
#include "dp_metrics.h"
#include "hl/buf.h"
#include "hl/json.h"
#include "hl/kafka.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/id.h"
#include "hl/time.h"
#include "hl/banned.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
/* How often PostgreSQL is probed while the writer takes no direct records. */
#define PROBE_EVERY_MS 1000
/* Direct records waiting, in batches of log_batch_max, beyond which the loop's records go
 * through Kafka: PostgreSQL is not keeping up, and deliveries must not wait for it. */
#define DIRECT_BATCHES 8
/* Messages taken from the consumer queue before the direct records are looked at again */
#define FETCH_BURST 1000
/* What the broker gathers for one fetch of attempt records (about 100 of them). */
#define FETCH_MIN_BYTES "65536"
/* PostgreSQL's OID of text: the arrays' element type */
#define TEXT_OID 25

/* The members' names, in enum dp_attemptlog_column's order (RECORDSET's columns). */
static const char *const column_names[DP_ATTEMPTLOG_COLUMNS] = {
    "delivery_id", "tenant", "webhook_id", "event_id", "event_type", "status", "attempt_no",
    "started_ms", "finished_ms", "http_status", "next_attempt_ms", "response_excerpt",
    "error_class", "error", "disable_reason", "disable_version_ms", "event"};

/* What a member must hold; an optional one may also be absent or null. */
enum kind { STRING, OPT_STRING, INT, OPT_INT, BIGINT, OPT_BIGINT, OBJECT };
static const enum kind column_kinds[DP_ATTEMPTLOG_COLUMNS] = {
    STRING,  STRING,     STRING,     STRING,     STRING,     STRING,     INT,     BIGINT,
    BIGINT,  OPT_INT,    OPT_BIGINT, OPT_STRING, OPT_STRING, OPT_STRING, OPT_STRING,
    OPT_BIGINT, OBJECT};

#define RECORDSET                                                                                  \
    "WITH r AS (SELECT x.ord, x.delivery_id, x.tenant, x.webhook_id::uuid AS webhook_id,"         \
    " x.event_id, x.event_type, x.status, x.attempt_no::int AS attempt_no,"                       \
    " x.started_ms::bigint AS started_ms, x.finished_ms::bigint AS finished_ms,"                  \
    " x.http_status::int AS http_status, x.next_attempt_ms::bigint AS next_attempt_ms,"           \
    " x.response_excerpt, x.error_class, x.error, x.disable_reason,"                              \
    " x.disable_version_ms::bigint AS disable_version_ms, x.event::json AS event"                 \
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"        \
    " $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],"    \
    " $14::text[], $15::text[], $16::text[], $17::text[]) WITH ORDINALITY AS x(delivery_id,"      \
    " tenant, webhook_id, event_id, event_type, status, attempt_no, started_ms, finished_ms,"     \
    " http_status, next_attempt_ms, response_excerpt, error_class, error, disable_reason,"        \
    " disable_version_ms, event, ord)) "

/* The delivery's row: the latest record of each delivery in the batch. */
#define INSERT_DELIVERIES                                                                          \
    "INSERT INTO deliveries AS d (id, tenant_id, webhook_id, event_id, event_type, status,"       \
    " attempts, last_status_code, last_error, last_error_class, created_at, updated_at,"          \
    " next_attempt_at, payload)"                                                                   \
    " SELECT DISTINCT ON (delivery_id) delivery_id, tenant, webhook_id, event_id, event_type,"    \
    " status, attempt_no, nullif(http_status, 0), error, error_class,"                            \
    " to_timestamp(started_ms / 1000.0), to_timestamp(finished_ms / 1000.0),"                     \
    " CASE WHEN next_attempt_ms > 0 THEN to_timestamp(next_attempt_ms / 1000.0) END, event"       \
    " FROM r ORDER BY delivery_id, attempt_no DESC, finished_ms DESC, ord DESC"

#define UPSERT_DELIVERIES                                                                          \
    INSERT_DELIVERIES                                                                              \
    " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,"     \
    " last_status_code = EXCLUDED.last_status_code, last_error = EXCLUDED.last_error,"            \
    " last_error_class = EXCLUDED.last_error_class, updated_at = EXCLUDED.updated_at,"            \
    " next_attempt_at = EXCLUDED.next_attempt_at WHERE d.attempts < EXCLUDED.attempts"            \
    " OR (d.attempts = EXCLUDED.attempts AND d.updated_at <= EXCLUDED.updated_at)"

/* An attempt's row, for the records of attempts made. */
#define INSERT_ATTEMPTS                                                                            \
    "INSERT INTO delivery_attempts (delivery_id, attempt_no, started_at, finished_at,"            \
    " http_status, duration_ms, response_excerpt, error_class, error)"                            \
    " SELECT delivery_id, attempt_no, to_timestamp(started_ms / 1000.0),"                         \
    " to_timestamp(finished_ms / 1000.0), nullif(http_status, 0),"                                \
    " least(greatest(finished_ms - started_ms, 0), 2147483647), response_excerpt, error_class,"    \
    " error"                                                                                       \
    " FROM r WHERE attempt_no > 0 AND status <> 'skipped'"                                        \
    " AND error_class IS DISTINCT FROM 'circuit_open'"

/* One statement, so the sub-statements see the same snapshot; they touch different
 * tables. */
#define WRITES(deliveries, attempts)                                                               \
    RECORDSET ", ins_deliveries AS (" deliveries " RETURNING 1), ins_attempts AS (" attempts       \
    " RETURNING 1)"

#define COUNTS " SELECT (SELECT count(*) FROM ins_deliveries), (SELECT count(*) FROM ins_attempts)"

static const char BATCH_SQL[] =
    WRITES(UPSERT_DELIVERIES, INSERT_ATTEMPTS " ON CONFLICT DO NOTHING") COUNTS;

/* The same with the disables the batch's records carry, applied unless the webhook changed
 * since (dp_autodisable.h). Only for a batch that has one: the trigger on webhooks fires
 * for each UPDATE statement, rows or not, and advances the subscription version, so an
 * UPDATE in every batch made every dispatcher reload every webhook with each batch. */
static const char BATCH_DISABLES_SQL[] =
    WRITES(UPSERT_DELIVERIES, INSERT_ATTEMPTS " ON CONFLICT DO NOTHING")
    ", disables AS (" DP_AUTODISABLE_SQL " RETURNING 1)"
    " SELECT (SELECT count(*) FROM ins_deliveries), (SELECT count(*) FROM ins_attempts),"
    " (SELECT count(*) FROM disables)";

/* For a batch's records of first attempts (dp_attemptlog_batch_split): the rows as
 * INSERT_DELIVERIES and INSERT_ATTEMPTS would write them, loaded with COPY in PostgreSQL's
 * binary format (dp_attemptlog_batch_copy), before the other records' upsert in the same
 * transaction. Nothing is looked up first (before each row ON CONFLICT descends the
 * primary key's btree once more than the insert does, and for these rows there is nothing
 * to find), nothing is planned, unnested or sorted, and the heap takes each table's rows a
 * page at a time. Should a row be there after all (a delivery deferred while its breaker
 * was open, whose first record had attempt 0; records written again after a crash; one
 * first attempt twice in the batch), COPY fails with unique_violation and the whole batch
 * is written again with BATCH_SQL. */
static const char COPY_DELIVERIES_SQL[] =
    "COPY deliveries (id, tenant_id, webhook_id, event_id, event_type, status, attempts,"
    " last_status_code, last_error, last_error_class, created_at, updated_at, next_attempt_at,"
    " payload) FROM STDIN (FORMAT binary)";
static const char COPY_ATTEMPTS_SQL[] =
    "COPY delivery_attempts (delivery_id, attempt_no, started_at, finished_at, http_status,"
    " duration_ms, response_excerpt, error_class, error) FROM STDIN (FORMAT binary)";
enum { COPY_DELIVERY_FIELDS = 14, COPY_ATTEMPT_FIELDS = 9 };

/* After a COPY met a row already there: how many batches go straight to BATCH_SQL. Such
 * rows come in runs (a breaker's backlog, a replay after a crash), and each failed COPY
 * costs the work it did before it failed. */
#define FIRST_ATTEMPTS_PAUSE 16

struct dp_attemptlog {
    const struct dp_config *cfg;
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue; /* the consumer's, announced on wake */
    char topic[HL_TOPIC_MAX];
    pthread_t thread;
    atomic_bool stop;
    PGconn *conn;
    struct dp_attemptlog_batch batch;
    struct hl_buf arrays; /* the statement's parameters, or the deliveries' COPY rows */
    struct hl_buf attempt_rows; /* the attempts' COPY rows */
    rd_kafka_topic_partition_list_t *offsets; /* next offset per partition of the batch */
    int wake[2]; /* this thread's: librdkafka, the direct path and stop write to wake[1] */
    struct dp_direct *direct;
    int first_attempts_pause; /* batches left before COPY is tried again */
};

/* PostgreSQL's text cannot hold U+0000: the escape becomes \uFFFD (same length, in place)
 * in the log's copy only. */
static void replace_nul_escapes(char *p, size_t n)
{
    size_t i = 0;
    while ((i += hl_json_find_nul_escape(p + i, n - i)) < n) {
        memcpy(p + i + 2, "FFFD", 4);
        i += 6;
    }
}

/* An integer of at most max_digits digits, optionally negative: what the column's cast
 * takes without overflow. */
static bool integer_text(const char *p, size_t n, size_t max_digits)
{
    if (n && *p == '-') {
        p++;
        n--;
    }
    if (!n || n > max_digits)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static bool status_text(const char *p, size_t n)
{
    static const char *const statuses[] = {"pending", "succeeded", "failed", "skipped",
                                           "retrying"};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(*statuses); i++)
        if (n == strlen(statuses[i]) && memcmp(p, statuses[i], n) == 0)
            return true;
    return false;
}

/* Whether the member at sp holds what column c takes. */
static bool member_fits(const char *x, struct hl_json_span sp, enum dp_attemptlog_column c)
{
    enum kind k = column_kinds[c];
    if (!sp.len || hl_json_span_is_null(x, sp))
        return k == OPT_STRING || k == OPT_INT || k == OPT_BIGINT;
    const char *s;
    size_t n;
    switch (k) {
    case STRING:
    case OPT_STRING:
        if (x[sp.off] != '"')
            return false;
        if (c == DP_AL_DELIVERY_ID)
            return hl_json_plain_string(x, sp, &s, &n) && hl_delivery_id_like(s, n);
        if (c == DP_AL_WEBHOOK_ID)
            return hl_json_plain_string(x, sp, &s, &n) && hl_uuid_like(s, n);
        if (c == DP_AL_STATUS)
            return hl_json_plain_string(x, sp, &s, &n) && status_text(s, n);
        return true;
    case INT:
    case OPT_INT:
        return integer_text(x + sp.off, sp.len, 9);
    case BIGINT:
    case OPT_BIGINT:
        return integer_text(x + sp.off, sp.len, 18);
    case OBJECT:
        return x[sp.off] == '{';
    }
    return false;
}

/* Appends the record whose text begins at start, its members at sp. */
static void append_rec(struct dp_attemptlog_batch *b, size_t start,
                       const struct hl_json_span sp[DP_ATTEMPTLOG_COLUMNS])
{
    if (b->n == b->nalloc) {
        b->nalloc = b->nalloc ? 2 * b->nalloc : 64;
        b->recs = hl_xrealloc(b->recs, b->nalloc * sizeof(*b->recs));
    }
    struct dp_attemptlog_rec *r = &b->recs[b->n++];
    r->start = start;
    r->direct = NULL;
    memcpy(r->sp, sp, sizeof(r->sp));
}

bool dp_attemptlog_batch_add(struct dp_attemptlog_batch *b, const char *rec, size_t len)
{
    size_t start = b->text.len;
    hl_buf_add(&b->text, rec, len);
    char *x = b->text.ptr + start;
    replace_nul_escapes(x, len);
    struct hl_json_span sp[DP_ATTEMPTLOG_COLUMNS];
    bool ok = hl_json_valid_members(x, len, column_names, DP_ATTEMPTLOG_COLUMNS, sp);
    for (int c = 0; ok && c < DP_ATTEMPTLOG_COLUMNS; c++)
        ok = member_fits(x, sp[c], (enum dp_attemptlog_column)c);
    if (!ok) {
        b->text.len = start;
        return false;
    }
    append_rec(b, start, sp);
    return true;
}

void dp_attemptlog_batch_add_own(struct dp_attemptlog_batch *b, const char *rec, size_t len,
                                 const struct dp_record_spans *spans)
{
    size_t start = b->text.len;
    hl_buf_add(&b->text, rec, len);
    replace_nul_escapes(b->text.ptr + start, len);
    append_rec(b, start, spans->sp);
}

static void put_i32(struct hl_buf *out, size_t at, int32_t v)
{
    uint32_t be = htonl((uint32_t)v);
    memcpy(out->ptr + at, &be, 4);
}

static void add_i32(struct hl_buf *out, int32_t v)
{
    hl_buf_grow(out, 4);
    out->len += 4;
    put_i32(out, out->len - 4, v);
}

/* The member at sp as PostgreSQL's text takes it: a string unescaped (*decoded then holds
 * jansson's copy when it had escapes, for the caller to release), anything else (a number,
 * the event) as its JSON text. False for an absent or null member. */
static bool member_text(const char *x, struct hl_json_span sp, const char **s, size_t *n,
                        json_t **decoded)
{
    *decoded = NULL;
    if (!sp.len || hl_json_span_is_null(x, sp))
        return false;
    *s = x + sp.off;
    *n = sp.len;
    if (**s == '"' && !hl_json_plain_string(x, sp, s, n)) {
        *decoded = json_loadb(x + sp.off, sp.len, JSON_DECODE_ANY, NULL);
        *s = json_string_value(*decoded);
        *n = json_string_length(*decoded);
        if (!*s) { /* not after hl_json_valid; PostgreSQL refuses the NULL if it matters */
            json_decref(*decoded);
            *decoded = NULL;
            return false;
        }
    }
    return true;
}

/* Appends one array element: the member's text (member_text), or NULL. True for a NULL. */
static bool add_element(struct hl_buf *out, const char *x, struct hl_json_span sp)
{
    const char *s;
    size_t n;
    json_t *decoded;
    if (!member_text(x, sp, &s, &n, &decoded)) {
        add_i32(out, -1);
        return true;
    }
    add_i32(out, (int32_t)n);
    hl_buf_add(out, s, n);
    json_decref(decoded);
    return false;
}

void dp_attemptlog_batch_arrays(const struct dp_attemptlog_batch *b, size_t from, size_t to,
                                struct hl_buf *out, size_t off[DP_ATTEMPTLOG_COLUMNS],
                                int len[DP_ATTEMPTLOG_COLUMNS])
{
    hl_buf_clear(out);
    for (int c = 0; c < DP_ATTEMPTLOG_COLUMNS; c++) {
        off[c] = out->len;
        /* ndim, has nulls, element type, dimension, lower bound */
        add_i32(out, 1);
        size_t nulls_at = out->len;
        add_i32(out, 0);
        add_i32(out, TEXT_OID);
        add_i32(out, (int32_t)(to - from));
        add_i32(out, 1);
        bool nulls = false;
        for (size_t i = from; i < to; i++)
            nulls |= add_element(out, b->text.ptr + b->recs[i].start, b->recs[i].sp[c]);
        put_i32(out, nulls_at, nulls);
        len[c] = (int)(out->len - off[c]);
    }
}

/* --- a batch's first attempts as PostgreSQL's binary COPY ----------------------------- */

/* Binary COPY: this signature, flags and a header extension of 0 bytes; then per row the
 * field count (16 bits) and each field as its length (32 bits, -1 for NULL) and bytes, in
 * the column's binary form; then -1 (16 bits). */
static const char COPY_SIGNATURE[11] = "PGCOPY\n\377\r\n";
/* timestamptz's binary form counts microseconds from 2000-01-01 UTC. */
#define PG_EPOCH_MS 946684800000LL
/* Unix ms beyond which microseconds would overflow; such a time goes to PostgreSQL as one
 * it refuses ("timestamp out of range"), as to_timestamp refuses it in BATCH_SQL. */
#define TS_MS_MAX 9000000000000000LL

/* The rows are written through a cursor into room made for the whole row beforehand. */
static void put_u32(char **w, uint32_t v)
{
    v = htonl(v);
    memcpy(*w, &v, 4);
    *w += 4;
}

static void put_null(char **w)
{
    put_u32(w, UINT32_MAX); /* -1 */
}

static void put_int4(char **w, int64_t v)
{
    put_u32(w, 4);
    put_u32(w, (uint32_t)(int32_t)(v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v));
}

static void put_int4_or_null(char **w, bool has, int64_t v)
{
    if (has)
        put_int4(w, v);
    else
        put_null(w);
}

static void put_timestamp(char **w, int64_t unix_ms)
{
    uint64_t us = unix_ms > TS_MS_MAX || unix_ms < -TS_MS_MAX
                      ? (uint64_t)(INT64_MAX - 1)
                      : (uint64_t)((unix_ms - PG_EPOCH_MS) * 1000);
    put_u32(w, 8);
    put_u32(w, (uint32_t)(us >> 32));
    put_u32(w, (uint32_t)us);
}

/* A text (or json) member (member_text), NULL when absent or null. Never longer than the
 * member's JSON text. */
static void put_text(char **w, const char *x, struct hl_json_span sp)
{
    const char *s;
    size_t n;
    json_t *decoded;
    if (!member_text(x, sp, &s, &n, &decoded)) {
        put_null(w);
        return;
    }
    put_u32(w, (uint32_t)n);
    memcpy(*w, s, n);
    *w += n;
    json_decref(decoded);
}

/* The integer member at sp (its text checked by member_fits, or written by the record's
 * own encoder). False for an absent or null member. */
static bool span_int(const char *x, struct hl_json_span sp, int64_t *v)
{
    if (!sp.len || hl_json_span_is_null(x, sp))
        return false;
    const char *p = x + sp.off, *end = p + sp.len;
    bool neg = *p == '-';
    int64_t n = 0;
    for (p += neg; p < end && n < TS_MS_MAX; p++)
        n = n * 10 + (*p - '0');
    *v = neg ? -n : n;
    return true;
}

/* The UUID string member at sp (its shape checked by member_fits, or written by the
 * record's own encoder) as uuid's 16 bytes; NULL, which the column refuses, when it is not
 * one. */
static void put_uuid(char **w, const char *x, struct hl_json_span sp)
{
    char text[HL_UUID_LEN];
    unsigned char b[16];
    size_t n = 0;
    bool ok = sp.len == HL_UUID_LEN + 1 && x[sp.off] == '"';
    if (ok) {
        memcpy(text, x + sp.off + 1, HL_UUID_LEN - 1);
        text[HL_UUID_LEN - 1] = '\0';
        ok = OPENSSL_hexstr2buf_ex(b, sizeof(b), &n, text, '-') == 1 && n == sizeof(b);
    }
    if (!ok) {
        put_null(w);
        return;
    }
    put_u32(w, 16);
    memcpy(*w, b, 16);
    *w += 16;
}

static void copy_begin(struct hl_buf *out)
{
    hl_buf_clear(out);
    hl_buf_add(out, COPY_SIGNATURE, sizeof(COPY_SIGNATURE));
    static const char zeros[8] = {0}; /* flags, header extension length */
    hl_buf_add(out, zeros, sizeof(zeros));
}

static void copy_end(struct hl_buf *out)
{
    static const char trailer[2] = {'\377', '\377'}; /* -1 */
    hl_buf_add(out, trailer, 2);
}

/* Makes room for one row of either table and returns where it goes: the count, the
 * fields' lengths, fixed-size values, and at most every member's text. */
static char *row_room(struct hl_buf *out, const struct dp_attemptlog_rec *r, int fields)
{
    size_t n = 2 + 4 * (size_t)fields + 16 + 3 * 8 + 4 * 4;
    for (int c = 0; c < DP_ATTEMPTLOG_COLUMNS; c++)
        n += r->sp[c].len;
    hl_buf_grow(out, n);
    return out->ptr + out->len;
}

static void put_count(char **w, int fields)
{
    uint16_t be = htons((uint16_t)fields);
    memcpy(*w, &be, 2);
    *w += 2;
}

void dp_attemptlog_batch_copy(const struct dp_attemptlog_batch *b, size_t from, size_t to,
                              struct hl_buf *deliveries, struct hl_buf *attempts)
{
    copy_begin(deliveries);
    copy_begin(attempts);
    for (size_t i = from; i < to; i++) {
        const struct dp_attemptlog_rec *r = &b->recs[i];
        const char *x = b->text.ptr + r->start;
        const struct hl_json_span *sp = r->sp;
        int64_t started = 0, finished = 0, next = 0, attempt = 0, http = 0;
        span_int(x, sp[DP_AL_STARTED_MS], &started);
        span_int(x, sp[DP_AL_FINISHED_MS], &finished);
        bool has_attempt = span_int(x, sp[DP_AL_ATTEMPT_NO], &attempt);
        bool has_http = span_int(x, sp[DP_AL_HTTP_STATUS], &http) && http != 0;

        /* as INSERT_DELIVERIES writes the row */
        char *w = row_room(deliveries, r, COPY_DELIVERY_FIELDS);
        put_count(&w, COPY_DELIVERY_FIELDS);
        put_text(&w, x, sp[DP_AL_DELIVERY_ID]);
        put_text(&w, x, sp[DP_AL_TENANT]);
        put_uuid(&w, x, sp[DP_AL_WEBHOOK_ID]);
        put_text(&w, x, sp[DP_AL_EVENT_ID]);
        put_text(&w, x, sp[DP_AL_EVENT_TYPE]);
        put_text(&w, x, sp[DP_AL_STATUS]);
        put_int4_or_null(&w, has_attempt, attempt);
        put_int4_or_null(&w, has_http, http); /* nullif(http_status, 0) */
        put_text(&w, x, sp[DP_AL_ERROR]);
        put_text(&w, x, sp[DP_AL_ERROR_CLASS]);
        put_timestamp(&w, started);
        put_timestamp(&w, finished);
        if (span_int(x, sp[DP_AL_NEXT_ATTEMPT_MS], &next) && next > 0)
            put_timestamp(&w, next);
        else
            put_null(&w);
        put_text(&w, x, sp[DP_AL_EVENT]);
        deliveries->len = (size_t)(w - deliveries->ptr);

        /* as INSERT_ATTEMPTS writes the attempt: a first attempt's record is of an
         * attempt made */
        w = row_room(attempts, r, COPY_ATTEMPT_FIELDS);
        put_count(&w, COPY_ATTEMPT_FIELDS);
        put_text(&w, x, sp[DP_AL_DELIVERY_ID]);
        put_int4_or_null(&w, has_attempt, attempt);
        put_timestamp(&w, started);
        put_timestamp(&w, finished);
        put_int4_or_null(&w, has_http, http);
        put_int4(&w, finished > started ? finished - started : 0);
        put_text(&w, x, sp[DP_AL_RESPONSE_EXCERPT]);
        put_text(&w, x, sp[DP_AL_ERROR_CLASS]);
        put_text(&w, x, sp[DP_AL_ERROR]);
        attempts->len = (size_t)(w - attempts->ptr);
    }
    copy_end(deliveries);
    copy_end(attempts);
}

/* Whether record r carries a disable (a disable_reason that is not null). */
static bool carries_disable(const struct dp_attemptlog_batch *b, const struct dp_attemptlog_rec *r)
{
    return r->sp[DP_AL_DISABLE_REASON].len &&
           !hl_json_span_is_null(b->text.ptr + r->start, r->sp[DP_AL_DISABLE_REASON]);
}

/* Whether the string member at sp is exactly the JSON text want (quotes included). */
static bool member_is(const char *x, struct hl_json_span sp, const char *want)
{
    size_t n = strlen(want);
    return sp.len == n && memcmp(x + sp.off, want, n) == 0;
}

/* Whether record r is of a first attempt (dp_attemptlog_batch_split). */
static bool first_attempt(const struct dp_attemptlog_batch *b, const struct dp_attemptlog_rec *r)
{
    const char *x = b->text.ptr + r->start;
    return member_is(x, r->sp[DP_AL_ATTEMPT_NO], "1") &&
           !member_is(x, r->sp[DP_AL_STATUS], "\"skipped\"") &&
           !member_is(x, r->sp[DP_AL_ERROR_CLASS], "\"circuit_open\"") && !carries_disable(b, r);
}

size_t dp_attemptlog_batch_split(struct dp_attemptlog_batch *b, size_t from, size_t to)
{
    size_t mid = from, others = 0;
    if (b->nspare < to - from) {
        b->nspare = to - from;
        b->spare = hl_xrealloc(b->spare, b->nspare * sizeof(*b->spare));
    }
    for (size_t i = from; i < to; i++) {
        if (first_attempt(b, &b->recs[i]))
            b->recs[mid++] = b->recs[i];
        else
            b->spare[others++] = b->recs[i];
    }
    memcpy(&b->recs[mid], b->spare, others * sizeof(*b->spare));
    return mid;
}

void dp_attemptlog_batch_clear(struct dp_attemptlog_batch *b)
{
    hl_buf_clear(&b->text);
    b->n = 0;
}

void dp_attemptlog_batch_release(struct dp_attemptlog_batch *b)
{
    hl_buf_release(&b->text);
    free(b->recs);
    free(b->spare);
    b->recs = b->spare = NULL;
    b->n = b->nalloc = b->nspare = 0;
}

/* --- direct records ------------------------------------------------------------------ */

/* Moves the offered records into the batch. They are this process's own, so their spans
 * come from the encoder; a record PostgreSQL refused would be dropped all the same
 * (write_one_by_one). */
static void take_inbox(struct dp_attemptlog *l)
{
    size_t n;
    struct dp_direct_rec **v = dp_direct_take(l->direct, &n);
    for (size_t i = 0; i < n; i++) {
        dp_attemptlog_batch_add_own(&l->batch, v[i]->text, v[i]->len, &v[i]->spans);
        l->batch.recs[l->batch.n - 1].direct = v[i];
    }
    free(v);
}

/* After a failed write: takes no more direct records, and hands back those of the batch
 * and the inbox (the loop produces them to Kafka). The batch keeps its Kafka records.
 * Returns how many went back. */
static size_t hand_back(struct dp_attemptlog *l)
{
    dp_direct_set_accepting(l->direct, false);
    size_t n, kept = 0;
    struct dp_direct_rec **v = dp_direct_take(l->direct, &n);
    dp_direct_finish(l->direct, v, n, false);
    free(v);
    for (size_t i = 0; i < l->batch.n; i++) {
        struct dp_direct_rec *r = l->batch.recs[i].direct;
        if (r) {
            dp_direct_finish(l->direct, &r, 1, false);
            n++;
        } else {
            l->batch.recs[kept++] = l->batch.recs[i];
        }
    }
    l->batch.n = kept;
    return n;
}

/* After a committed write: the batch's direct records are finished, in one hand-over. */
static void report_written(struct dp_attemptlog *l)
{
    struct dp_direct_rec **done = hl_xmalloc((l->batch.n + 1) * sizeof(*done));
    size_t n = 0;
    for (size_t i = 0; i < l->batch.n; i++) {
        if (l->batch.recs[i].direct)
            done[n++] = l->batch.recs[i].direct;
        l->batch.recs[i].direct = NULL; /* the loop's again */
    }
    dp_direct_finish(l->direct, done, n, true);
    free(done);
}

struct dp_direct *dp_attemptlog_direct(struct dp_attemptlog *l)
{
    return l->direct;
}

/* --- the thread ---------------------------------------------------------------------- */

static void batch_add(struct dp_attemptlog *l, const rd_kafka_message_t *m)
{
    if (!m->payload || !dp_attemptlog_batch_add(&l->batch, m->payload, m->len))
        hl_log(HL_LOG_WARN, "log", "attempt record at [%d] offset %lld is not one: skipped",
               (int)m->partition, (long long)m->offset);
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_find(l->offsets, l->topic, m->partition);
    if (!tp)
        tp = rd_kafka_topic_partition_list_add(l->offsets, l->topic, m->partition);
    tp->offset = m->offset + 1;
}

/* Sends data as the rows of a COPY ... FROM STDIN, in pieces of at most 1 MB. The COPY's
 * result, for the caller to clear (NULL when the connection broke). */
static PGresult *copy_in(PGconn *conn, const char *sql, const struct hl_buf *data)
{
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return r;
    PQclear(r);
    bool sent = true;
    for (size_t at = 0; sent && at < data->len;) {
        size_t n = data->len - at < (1u << 20) ? data->len - at : (1u << 20);
        sent = PQputCopyData(conn, data->ptr + at, (int)n) == 1;
        at += n;
    }
    PQputCopyEnd(conn, sent ? NULL : "the rows could not be sent");
    r = PQgetResult(conn);
    /* then NULL; a COPY still open (the end never reached the server, whose connection is
     * then broken) would answer COPY_IN for ever */
    for (PGresult *more; PQresultStatus(r) != PGRES_COPY_IN && (more = PQgetResult(conn));)
        PQclear(more);
    return r;
}

/* Loads records [from, to), all of first attempts, with two binary COPYs in the open
 * transaction. The last result, for the caller to clear; *ok when both succeeded. */
static PGresult *copy_rows(struct dp_attemptlog *l, size_t from, size_t to, bool *ok)
{
    dp_attemptlog_batch_copy(&l->batch, from, to, &l->arrays, &l->attempt_rows);
    PGresult *r = copy_in(l->conn, COPY_DELIVERIES_SQL, &l->arrays);
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        r = copy_in(l->conn, COPY_ATTEMPTS_SQL, &l->attempt_rows);
    }
    *ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    return r;
}

/* Upserts records [from, to) with one statement in the open transaction. Its result, for
 * the caller to clear; *ok when it succeeded. */
static PGresult *upsert_rows(struct dp_attemptlog *l, size_t from, size_t to, bool *ok)
{
    size_t off[DP_ATTEMPTLOG_COLUMNS];
    int lens[DP_ATTEMPTLOG_COLUMNS], formats[DP_ATTEMPTLOG_COLUMNS];
    const char *values[DP_ATTEMPTLOG_COLUMNS];
    dp_attemptlog_batch_arrays(&l->batch, from, to, &l->arrays, off, lens);
    for (int c = 0; c < DP_ATTEMPTLOG_COLUMNS; c++) {
        values[c] = l->arrays.ptr + off[c];
        formats[c] = 1;
    }
    bool disables = false;
    for (size_t i = from; i < to && !disables; i++)
        disables = carries_disable(&l->batch, &l->batch.recs[i]);
    PGresult *r = PQexecParams(l->conn, disables ? BATCH_DISABLES_SQL : BATCH_SQL,
                               DP_ATTEMPTLOG_COLUMNS, NULL, values, lens, formats, 0);
    *ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    return r;
}

/* Writes records [from, to) of the batch in one transaction: [from, mid), first attempts,
 * with COPY, then [mid, to) with the upsert. HL_EINVAL when PostgreSQL refused their data
 * (SQLSTATE class 22, data exception, or 23, integrity constraint), HL_EIO otherwise;
 * *conflict set, and HL_EIO, when the COPY met a row already there. */
static hl_err write_rows(struct dp_attemptlog *l, size_t from, size_t mid, size_t to,
                         bool *conflict, char *errbuf, size_t errlen)
{
    if (!l->conn) {
        l->conn = hl_pg_connect(l->cfg->common.pg_dsn, errbuf, errlen);
        if (!l->conn)
            return HL_EIO;
    }
    hl_err rc = HL_EIO;
    bool data_error = false;
    PGresult *r = PQexec(l->conn, "BEGIN");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    for (int part = 0; part < 2 && ok; part++) {
        bool copy = part == 0;
        if (copy ? mid == from : to == mid)
            continue;
        r = copy ? copy_rows(l, from, mid, &ok) : upsert_rows(l, mid, to, &ok);
        const char *state = ok ? NULL : PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (copy && state && strcmp(state, "23505") == 0) /* unique_violation */
            *conflict = true;
        else if (state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0))
            data_error = true;
        PQclear(r);
    }
    if (ok) {
        r = PQexec(l->conn, "COMMIT");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (ok) {
        rc = HL_OK;
    } else {
        rc = data_error ? HL_EINVAL : HL_EIO;
        hl_pg_errmsg(l->conn, errbuf, errlen);
        if (PQstatus(l->conn) != CONNECTION_OK) {
            PQfinish(l->conn);
            l->conn = NULL;
        } else {
            PQclear(PQexec(l->conn, "ROLLBACK"));
        }
    }
    return rc;
}

/* Writes records [from, to) of the batch in one transaction: the first attempts among them
 * (moved first: dp_attemptlog_batch_split) with COPY unless one met a row already there
 * lately, the others with the upsert; all of them with the upsert when the COPY meets a row
 * already there. Returns as write_rows. */
static hl_err batch_write(struct dp_attemptlog *l, size_t from, size_t to, char *errbuf,
                          size_t errlen)
{
    size_t mid = from;
    bool conflict = false;
    if (to > from) {
        if (l->first_attempts_pause > 0)
            l->first_attempts_pause--;
        else
            mid = dp_attemptlog_batch_split(&l->batch, from, to);
    }
    hl_err rc = write_rows(l, from, mid, to, &conflict, errbuf, errlen);
    if (conflict) {
        l->first_attempts_pause = FIRST_ATTEMPTS_PAUSE;
        dp_metrics_log_batch(DP_METRICS_LOG_COPY_CONFLICT);
        mid = from;
        rc = write_rows(l, from, mid, to, &conflict, errbuf, errlen);
    }
    if (rc == HL_OK && mid > from)
        dp_metrics_log_batch(DP_METRICS_LOG_COPY);
    if (rc == HL_OK && to > mid)
        dp_metrics_log_batch(DP_METRICS_LOG_UPSERT);
    return rc;
}

/* After the batch was refused for its data: writes it a record at a time and drops those
 * refused. HL_EIO as soon as a write fails otherwise: the batch then holds every record
 * not refused so far, and is retried whole (what was written is written again, which
 * changes nothing). */
static hl_err write_one_by_one(struct dp_attemptlog *l, char *errbuf, size_t errlen)
{
    size_t kept = 0, n = l->batch.n;
    for (size_t i = 0; i < n; i++) {
        hl_err rc = batch_write(l, i, i + 1, errbuf, errlen);
        if (rc == HL_EIO) {
            memmove(&l->batch.recs[kept], &l->batch.recs[i], (n - i) * sizeof(*l->batch.recs));
            l->batch.n = kept + (n - i);
            return HL_EIO;
        }
        if (rc == HL_EINVAL) {
            const struct dp_attemptlog_rec *r = &l->batch.recs[i];
            const char *x = l->batch.text.ptr + r->start;
            hl_log(HL_LOG_WARN, "log", "attempt record of %.*s refused: %s",
                   (int)r->sp[DP_AL_DELIVERY_ID].len, x + r->sp[DP_AL_DELIVERY_ID].off, errbuf);
            if (r->direct) /* final, as for a Kafka record: never written */
                dp_direct_finish(l->direct, &r->direct, 1, true);
            continue;
        }
        l->batch.recs[kept++] = l->batch.recs[i];
    }
    l->batch.n = kept;
    return HL_OK;
}

static void pause_all(struct dp_attemptlog *l, bool pause)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(l->rk, &a) || !a)
        return;
    if (pause)
        rd_kafka_pause_partitions(l->rk, a);
    else
        rd_kafka_resume_partitions(l->rk, a);
    rd_kafka_topic_partition_list_destroy(a);
}

/* Writes the batch until it succeeds (or stop is asked and final is set), then commits.
 * A failed write hands the direct records back at once: only the Kafka ones are retried. */
static void flush(struct dp_attemptlog *l, bool final)
{
    char err[512];
    int64_t backoff = BACKOFF_MIN_MS;
    bool paused = false;
    hl_err rc;
    if (l->offsets->cnt == 0 && l->batch.n == 0)
        return;
    while ((rc = batch_write(l, 0, l->batch.n, err, sizeof(err))) != HL_OK) {
        if (rc == HL_EINVAL && (rc = write_one_by_one(l, err, sizeof(err))) == HL_OK)
            break;
        size_t back = hand_back(l);
        if (back)
            hl_log(HL_LOG_WARN, "log", "cannot write %zu attempt records: %s; they go through "
                   "Kafka until PostgreSQL answers again", back, err);
        if (l->offsets->cnt == 0)
            goto out;
        hl_log(HL_LOG_WARN, "log",
               "cannot write %zu attempt records: %s; deliveries go on, retrying in %lld ms",
               l->batch.n, err, (long long)backoff);
        if (final && atomic_load(&l->stop)) {
            hl_log(HL_LOG_WARN, "log", "stopping: %zu records left to the next writer",
                   l->batch.n);
            goto out;
        }
        if (!paused) {
            pause_all(l, true);
            paused = true;
        }
        for (int64_t waited = 0; waited < backoff; waited += 100) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(l->rk, 100); /* keeps the group */
            if (m)
                rd_kafka_message_destroy(m); /* paused: only errors arrive here */
            hand_back(l); /* offered before the failure was seen */
            if (atomic_load(&l->stop))
                final = true;
        }
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    hl_log(HL_LOG_DEBUG, "log", "wrote %zu attempt records", l->batch.n);
    dp_direct_set_accepting(l->direct, l->cfg->attempt_log_direct);
    report_written(l);
    if (l->offsets->cnt > 0) {
        rd_kafka_resp_err_t cerr = rd_kafka_commit(l->rk, l->offsets, 0);
        if (cerr)
            hl_log(HL_LOG_DEBUG, "log", "commit: %s", rd_kafka_err2str(cerr));
    }
out:
    if (paused)
        pause_all(l, false);
    dp_attemptlog_batch_clear(&l->batch);
    rd_kafka_topic_partition_list_destroy(l->offsets);
    l->offsets = rd_kafka_topic_partition_list_new(8);
}

/* With nothing to write and no direct records taken (a write failed): whether
 * PostgreSQL answers again. */
static void probe(struct dp_attemptlog *l)
{
    char err[512];
    if (batch_write(l, 0, 0, err, sizeof(err)) == HL_OK) {
        hl_log(HL_LOG_INFO, "log", "PostgreSQL answers again: attempt records are written "
               "directly");
        dp_direct_set_accepting(l->direct, true);
    }
}

/* Sleeps until the pipe is written to or timeout_ms passed, then empties it. */
static void sleep_on(struct dp_attemptlog *l, int64_t timeout_ms)
{
    struct pollfd pfd = {.fd = l->wake[0], .events = POLLIN};
    if (poll(&pfd, 1, (int)timeout_ms) > 0) {
        char buf[256];
        while (read(l->wake[0], buf, sizeof(buf)) > 0)
            ;
    }
}

static void *log_main(void *arg)
{
    struct dp_attemptlog *l = arg;
    int64_t first = -1, next_probe = 0;
    while (!atomic_load(&l->stop)) {
        /* librdkafka writes to the pipe only when its queue turns non-empty: drain it */
        int fetched = 0;
        rd_kafka_message_t *m;
        while (fetched < FETCH_BURST && l->batch.n < (size_t)l->cfg->log_batch_max &&
               (m = rd_kafka_consumer_poll(l->rk, 0)) != NULL) {
            fetched++;
            if (!m->err)
                batch_add(l, m);
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                hl_log(HL_LOG_WARN, "log", "consume: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        }
        take_inbox(l);
        int64_t now = hl_mono_ms();
        bool pending = l->offsets->cnt > 0 || l->batch.n > 0;
        bool hurried = dp_direct_hurried(l->direct); /* asked again while it is needed */
        if (pending && first < 0)
            first = now;
        if (pending && (l->batch.n >= (size_t)l->cfg->log_batch_max ||
                        now - first >= l->cfg->log_flush_ms || hurried)) {
            flush(l, false);
            first = -1;
            continue;
        }
        if (!pending && l->cfg->attempt_log_direct && !dp_direct_accepting(l->direct) &&
            now >= next_probe) {
            probe(l);
            next_probe = now + PROBE_EVERY_MS;
        }
        /* Idle, it looks at the inbox every log_flush_ms: offer pokes only for a full
         * batch, so the records that come one by one cost no system call each. */
        if (fetched < FETCH_BURST)
            sleep_on(l, pending ? first + l->cfg->log_flush_ms - now : l->cfg->log_flush_ms);
    }
    take_inbox(l);
    flush(l, true);
    return NULL;
}

struct dp_attemptlog *dp_attemptlog_start(const struct dp_config *cfg, int wake_fd,
                                          char *errbuf, size_t errlen)
{
    char group[512], session_timeout[32];
    struct dp_attemptlog *l = hl_xcalloc(1, sizeof(*l));
    rd_kafka_topic_partition_list_t *topics = NULL;
    l->cfg = cfg;
    l->wake[0] = l->wake[1] = -1;
    hl_topic_name(l->topic, cfg->common.topic_prefix, "attempts");
    snprintf(group, sizeof(group), "%s-log", cfg->group_id);
    snprintf(session_timeout, sizeof(session_timeout), "%lld",
             (long long)cfg->session_timeout_ms);
    /* Records are written in batches anyway (log_flush_ms): fetching each as it arrives
     * made the broker answer one fetch per delivery at low rates. The broker now answers
     * once FETCH_MIN_BYTES are there or half the flush window has passed. */
    char fetch_wait[32];
    snprintf(fetch_wait, sizeof(fetch_wait), "%lld", (long long)(cfg->log_flush_ms / 2));
    rd_kafka_conf_t *conf =
        hl_kafka_conf_new(cfg->common.brokers, "hookline-dispatcher-log", errbuf, errlen);
    if (!conf || hl_kafka_conf_set(conf, "group.id", group, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "enable.auto.commit", "false", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "auto.offset.reset", "earliest", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "session.timeout.ms", session_timeout, errbuf, errlen) ||
        /* prefetch: a few batches, not librdkafka's 64 MB of attempt records */
        hl_kafka_conf_set(conf, "queued.min.messages", "10000", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "queued.max.messages.kbytes", "16384", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "fetch.wait.max.ms", fetch_wait, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "fetch.min.bytes", FETCH_MIN_BYTES, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", errbuf,
                          errlen))
        goto fail;
    dp_metrics_kafka_conf(conf, DP_METRICS_LOG_CONSUMER);
    l->rk = hl_kafka_new(RD_KAFKA_CONSUMER, conf, errbuf, errlen);
    if (!l->rk)
        goto fail;
    conf = NULL;
    if (pipe2(l->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    l->direct = dp_direct_new((size_t)cfg->log_batch_max,
                              (size_t)cfg->log_batch_max * DIRECT_BATCHES, l->wake[1], wake_fd,
                              cfg->attempt_log_direct);
    rd_kafka_poll_set_consumer(l->rk);
    l->queue = rd_kafka_queue_get_consumer(l->rk);
    rd_kafka_queue_io_event_enable(l->queue, l->wake[1], "k", 1);
    topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, l->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(l->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        snprintf(errbuf, errlen, "cannot subscribe to '%s': %s", l->topic,
                 rd_kafka_err2str(err));
        goto fail;
    }
    l->offsets = rd_kafka_topic_partition_list_new(8);
    if (pthread_create(&l->thread, NULL, log_main, l) != 0) {
        snprintf(errbuf, errlen, "cannot start the attempt-log thread");
        goto fail;
    }
    hl_log(HL_LOG_INFO, "log", "writing '%s' to PostgreSQL in group '%s'", l->topic, group);
    return l;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (l->queue) {
        rd_kafka_queue_io_event_enable(l->queue, -1, NULL, 0);
        rd_kafka_queue_destroy(l->queue);
    }
    if (l->rk)
        rd_kafka_destroy(l->rk);
    if (l->offsets)
        rd_kafka_topic_partition_list_destroy(l->offsets);
    for (int i = 0; i < 2; i++)
        if (l->wake[i] >= 0)
            close(l->wake[i]);
    dp_direct_free(l->direct);
    free(l);
    return NULL;
}

void dp_attemptlog_stop(struct dp_attemptlog *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, true);
    if (write(l->wake[1], "s", 1) < 0)
        hl_log(HL_LOG_DEBUG, "log", "wake-up: %s", strerror(errno));
    pthread_join(l->thread, NULL);
    rd_kafka_queue_io_event_enable(l->queue, -1, NULL, 0);
    rd_kafka_queue_destroy(l->queue);
    bool closed = hl_kafka_consumer_close(l->rk, DP_CONSUMER_CLOSE_MS);
    rd_kafka_destroy_flags(l->rk, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    rd_kafka_topic_partition_list_destroy(l->offsets);
    dp_direct_free(l->direct);
    dp_attemptlog_batch_release(&l->batch);
    for (int i = 0; i < 2; i++)
        close(l->wake[i]);
    hl_buf_release(&l->arrays);
    hl_buf_release(&l->attempt_rows);
    PQfinish(l->conn);
    free(l);
}
