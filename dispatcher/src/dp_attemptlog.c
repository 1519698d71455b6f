/* The attempt-log writer (see dp_attemptlog.h).
 *
 * One statement per batch: the batch goes to PostgreSQL as one JSON array, which
 * jsonb_array_elements WITH ORDINALITY spreads once for all three tables (data-modifying
 * CTEs), so a batch of 500 records is three round trips (BEGIN, the statement, COMMIT).
 * Within a batch only the latest record of a delivery updates its row (ON CONFLICT
 * cannot touch a row twice; the ordinality breaks ties between records of one attempt),
 * and across batches a record never moves a delivery back to fewer attempts.
 *
 * The records' texts are joined into the array as they came from Kafka: PostgreSQL parses
 * them once, and this thread never does (a parse and a re-serialization per record cost
 * more than the rest of the writer). A record that is not JSON fails the whole array with
 * a data exception; only then is each record parsed here and the bad ones dropped. */
#include "dp_attemptlog.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp_autodisable.h"
#include "dp_consumer.h"
#include "dp_metrics.h"
#include "hl/buf.h"
#include "hl/json.h"
#include "hl/kafka.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/time.h"
#include "hl/banned.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
/* What the broker gathers for one fetch of attempt records (about 100 of them). */
#define FETCH_MIN_BYTES "65536"

#define RECORDSET                                                                                  \
    "WITH r AS (SELECT e.ord, x.* FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY"           \
    " AS e(rec, ord), jsonb_to_record(e.rec) AS x(delivery_id text,"                               \
    " tenant text, webhook_id uuid, event_id text, event_type text, status text,"                 \
    " attempt_no int, started_ms bigint, finished_ms bigint, http_status int,"                    \
    " next_attempt_ms bigint, response_excerpt text, error_class text, error text,"               \
    " disable_reason text, disable_version_ms bigint, event jsonb)) "

/* One statement, so PostgreSQL parses the batch's array once (three statements parsed it
 * three times, event payloads included: most of the writer's cost in PostgreSQL). The
 * sub-statements see the same snapshot and touch different tables; the attempts' foreign
 * key is checked at the end of the statement, when the deliveries are in. */
static const char BATCH_SQL[] =
    RECORDSET
    ", ins_deliveries AS ("
    "INSERT INTO deliveries AS d (id, tenant_id, webhook_id, event_id, event_type, status,"
    " attempts, last_status_code, last_error, last_error_class, created_at, updated_at,"
    " next_attempt_at, payload)"
    " SELECT DISTINCT ON (delivery_id) delivery_id, tenant, webhook_id, event_id, event_type,"
    " status, attempt_no, nullif(http_status, 0), error, error_class,"
    " to_timestamp(started_ms / 1000.0), to_timestamp(finished_ms / 1000.0),"
    " CASE WHEN next_attempt_ms > 0 THEN to_timestamp(next_attempt_ms / 1000.0) END, event"
    " FROM r ORDER BY delivery_id, attempt_no DESC, ord DESC"
    " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,"
    " last_status_code = EXCLUDED.last_status_code, last_error = EXCLUDED.last_error,"
    " last_error_class = EXCLUDED.last_error_class, updated_at = EXCLUDED.updated_at,"
    " next_attempt_at = EXCLUDED.next_attempt_at WHERE d.attempts <= EXCLUDED.attempts"
    " RETURNING 1)"

    ", ins_attempts AS ("
    "INSERT INTO delivery_attempts (delivery_id, attempt_no, started_at, finished_at,"
    " http_status, duration_ms, response_excerpt, error_class, error)"
    " SELECT delivery_id, attempt_no, to_timestamp(started_ms / 1000.0),"
    " to_timestamp(finished_ms / 1000.0), nullif(http_status, 0),"
    " greatest(finished_ms - started_ms, 0), response_excerpt, error_class, error"
    " FROM r WHERE attempt_no > 0 AND status <> 'skipped'"
    " AND error_class IS DISTINCT FROM 'circuit_open'"
    " ON CONFLICT DO NOTHING RETURNING 1)"

    /* a disable decided by a dispatcher, unless the webhook changed since (dp_autodisable.h) */
    ", disables AS (" DP_AUTODISABLE_SQL " RETURNING 1)"
    " SELECT (SELECT count(*) FROM ins_deliveries), (SELECT count(*) FROM ins_attempts),"
    " (SELECT count(*) FROM disables)";

struct dp_attemptlog {
    const struct dp_config *cfg;
    rd_kafka_t *rk;
    char topic[HL_TOPIC_MAX];
    pthread_t thread;
    atomic_bool stop;
    PGconn *conn;
    struct hl_buf batch; /* JSON array under construction: '[' and the records' texts */
    size_t nbatch;
    size_t *ends; /* where each record's text ends in batch, for dp_attemptlog_batch_sanitize */
    size_t nends_alloc;
    rd_kafka_topic_partition_list_t *offsets; /* next offset per partition of the batch */
};

/* True when the text's first and last non-blank bytes are braces: a record that is JSON
 * at all is then an object. Cheap, and keeps a JSON scalar or array (which
 * jsonb_to_record would refuse) out of the array. */
static bool looks_like_object(const char *p, size_t n)
{
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == '\t'))
        n--;
    while (n && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
        n--;
    }
    return n >= 2 && p[0] == '{' && p[n - 1] == '}' && !memchr(p, '\0', n);
}

/* PostgreSQL's jsonb cannot hold U+0000, and one \u0000 anywhere would fail the whole
 * array: the escape becomes \uFFFD (same length, in place) in the log's copy only. */
static void replace_nul_escapes(char *p, size_t n)
{
    size_t i = 0;
    while ((i += hl_json_find_nul_escape(p + i, n - i)) < n) {
        memcpy(p + i + 2, "FFFD", 4);
        i += 6;
    }
}

bool dp_attemptlog_batch_append(struct hl_buf *batch, size_t **ends, size_t *nalloc, size_t *n,
                         const char *rec, size_t len)
{
    if (!looks_like_object(rec, len))
        return false;
    if (*n == *nalloc) {
        *nalloc = *nalloc ? 2 * *nalloc : 64;
        *ends = hl_xrealloc(*ends, *nalloc * sizeof(**ends));
    }
    hl_buf_addch(batch, *n ? ',' : '[');
    size_t start = batch->len;
    hl_buf_add(batch, rec, len);
    replace_nul_escapes(batch->ptr + start, len);
    (*ends)[(*n)++] = batch->len;
    return true;
}

size_t dp_attemptlog_batch_sanitize(struct hl_buf *batch, size_t *ends, size_t *n)
{
    size_t kept = 0, dropped = 0, start = 1, w = 1;
    for (size_t i = 0; i < *n; i++) {
        size_t len = ends[i] - start;
        json_t *rec = json_loadb(batch->ptr + start, len, 0, NULL);
        if (json_is_object(rec)) {
            batch->ptr[w - 1] = kept ? ',' : '[';
            memmove(batch->ptr + w, batch->ptr + start, len);
            w += len;
            ends[kept++] = w;
            w++; /* the separator's place */
        } else {
            dropped++;
        }
        json_decref(rec);
        start = ends[i] + 1;
    }
    batch->len = kept ? w - 1 : 0;
    *n = kept;
    return dropped;
}

static void batch_add(struct dp_attemptlog *l, const rd_kafka_message_t *m)
{
    if (!m->payload ||
        !dp_attemptlog_batch_append(&l->batch, &l->ends, &l->nends_alloc, &l->nbatch, m->payload,
                             m->len))
        hl_log(HL_LOG_WARN, "log", "attempt record at [%d] offset %lld is not JSON: skipped",
               (int)m->partition, (long long)m->offset);
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_find(l->offsets, l->topic, m->partition);
    if (!tp)
        tp = rd_kafka_topic_partition_list_add(l->offsets, l->topic, m->partition);
    tp->offset = m->offset + 1;
}

/* HL_EINVAL when PostgreSQL refused the batch's data (SQLSTATE class 22: a record that is
 * not JSON, or a field of the wrong type), HL_EIO otherwise. */
static hl_err batch_write(struct dp_attemptlog *l, char *errbuf, size_t errlen)
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
    if (l->nbatch) {
        hl_buf_addch(&l->batch, ']');
        const char *params[1] = {l->batch.ptr};
        r = PQexecParams(l->conn, BATCH_SQL, 1, NULL, params, NULL, NULL, 0);
        ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        const char *state = ok ? NULL : PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && strncmp(state, "22", 2) == 0)
            data_error = true;
        PQclear(r);
        l->batch.len--; /* the closing bracket again, in case of a retry */
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

/* Writes the batch until it succeeds (or stop is asked and final is set), then commits. */
static void flush(struct dp_attemptlog *l, bool final)
{
    char err[512];
    int64_t backoff = BACKOFF_MIN_MS;
    bool paused = false, sanitized = false;
    hl_err rc;
    if (l->offsets->cnt == 0)
        return;
    while ((rc = batch_write(l, err, sizeof(err))) != HL_OK) {
        if (rc == HL_EINVAL && !sanitized) {
            /* Some record is not JSON, or not the JSON of a record: drop what jansson
             * refuses and try again at once. */
            size_t dropped = dp_attemptlog_batch_sanitize(&l->batch, l->ends, &l->nbatch);
            hl_log(HL_LOG_WARN, "log", "attempt records refused (%s): %zu not JSON, skipped",
                   err, dropped);
            sanitized = true;
            continue;
        }
        hl_log(HL_LOG_WARN, "log",
               "cannot write %zu attempt records: %s; deliveries go on, retrying in %lld ms",
               l->nbatch, err, (long long)backoff);
        if (final && atomic_load(&l->stop)) {
            hl_log(HL_LOG_WARN, "log", "stopping: %zu records left to the next writer",
                   l->nbatch);
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
            if (atomic_load(&l->stop))
                final = true;
        }
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    hl_log(HL_LOG_DEBUG, "log", "wrote %zu attempt records", l->nbatch);
    rd_kafka_resp_err_t cerr = rd_kafka_commit(l->rk, l->offsets, 0);
    if (cerr)
        hl_log(HL_LOG_DEBUG, "log", "commit: %s", rd_kafka_err2str(cerr));
out:
    if (paused)
        pause_all(l, false);
    hl_buf_clear(&l->batch);
    l->nbatch = 0;
    rd_kafka_topic_partition_list_destroy(l->offsets);
    l->offsets = rd_kafka_topic_partition_list_new(8);
}

static void *log_main(void *arg)
{
    struct dp_attemptlog *l = arg;
    int64_t first = -1;
    while (!atomic_load(&l->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(l->rk, 50);
        if (m) {
            if (!m->err) {
                batch_add(l, m);
                if (first < 0)
                    first = hl_mono_ms();
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                hl_log(HL_LOG_WARN, "log", "consume: %s", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
        if (first >= 0 && ((size_t)l->offsets->cnt > 0) &&
            (l->nbatch >= (size_t)l->cfg->log_batch_max ||
             hl_mono_ms() - first >= l->cfg->log_flush_ms)) {
            flush(l, false);
            first = -1;
        }
    }
    flush(l, true);
    return NULL;
}

struct dp_attemptlog *dp_attemptlog_start(const struct dp_config *cfg, char *errbuf, size_t errlen)
{
    char group[512], session_timeout[32];
    struct dp_attemptlog *l = hl_xcalloc(1, sizeof(*l));
    rd_kafka_topic_partition_list_t *topics = NULL;
    l->cfg = cfg;
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
    rd_kafka_poll_set_consumer(l->rk);
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
    if (l->rk)
        rd_kafka_destroy(l->rk);
    if (l->offsets)
        rd_kafka_topic_partition_list_destroy(l->offsets);
    free(l);
    return NULL;
}

void dp_attemptlog_stop(struct dp_attemptlog *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    bool closed = hl_kafka_consumer_close(l->rk, DP_CONSUMER_CLOSE_MS);
    rd_kafka_destroy_flags(l->rk, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    rd_kafka_topic_partition_list_destroy(l->offsets);
    hl_buf_release(&l->batch);
    free(l->ends);
    PQfinish(l->conn);
    free(l);
}
