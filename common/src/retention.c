/* Delivery-log retention (see hl/retention.h).
 *
 * Why batches and not one DELETE: a month of deliveries is millions of rows, each with its
 * payload; one statement would hold row locks on all of them for minutes, and the
 * attempt-log writer upserting a delivery among them would wait that long, so would the
 * readers of the deliveries API behind it. A batch of HL_RETENTION_BATCH rows locks them for
 * milliseconds, skips rows someone else holds (SKIP LOCKED: they are retried next time),
 * and the cleaner pauses between batches so that it never takes a whole core of
 * PostgreSQL. Attempts are deleted explicitly in the same statement as their deliveries
 * (not by the cascade) so that their count can be reported. */
#include "hl/retention.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl/log.h"
#include "hl/mem.h"
#include "hl/metrics.h"
#include "hl/pg.h"
#include "hl/time.h"
#include "hl/banned.h"

/* The advisory lock's key: any constant shared by every Hookline process; this one is
 * 'hlretent' in ASCII. */
#define LOCK_KEY "7524706479568270964"
#define FIRST_RUN_MAX_MS 60000
#define PAUSE_BETWEEN_BATCHES_MS 20
/* Client event ids are remembered this long (gw_routes_events.c, DEDUPE_RETENTION). */
#define EVENT_IDS_WINDOW "24 hours"

/* One batch of finished (or no longer due) deliveries and their attempts. $1: the window in
 * ms; $2: the batch size. */
static const char DELIVERIES_SQL[] =
    "WITH doomed AS ("
    "  SELECT id FROM deliveries"
    "  WHERE created_at < now() - make_interval(secs => $1::bigint / 1000.0)"
    "    AND updated_at < now() - make_interval(secs => $1::bigint / 1000.0)"
    "    AND (status IN ('succeeded', 'failed', 'skipped')"
    "         OR next_attempt_at IS NULL"
    "         OR next_attempt_at < now() - make_interval(secs => $1::bigint / 1000.0))"
    "  ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " a AS (DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM doomed)"
    "       RETURNING 1),"
    " d AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM doomed) RETURNING 1)"
    " SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM a)";

static const char EVENT_IDS_SQL[] =
    "DELETE FROM event_ids WHERE ctid IN ("
    "  SELECT ctid FROM event_ids WHERE created_at < now() - interval '" EVENT_IDS_WINDOW "'"
    "  ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)";

struct hl_retention {
    char *dsn;
    int64_t window_ms, interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static struct {
    struct hl_counter *deleted[3];
    struct hl_counter *runs_done, *runs_skipped, *runs_failed;
    struct hl_gauge *last_success;
} met;

static const char *const tables[3] = {"deliveries", "delivery_attempts", "event_ids"};

int64_t hl_retention_window_ms(const struct hl_common_cfg *c)
{
    if (c->retention_window_ms > 0)
        return c->retention_window_ms;
    return c->retention_days * INT64_C(86400000);
}

static hl_err exec_ok(PGconn *conn, PGresult *r, char *errbuf, size_t errlen)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return HL_OK;
    hl_pg_errmsg(conn, errbuf, errlen);
    return HL_EIO;
}

static void nap(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

hl_err hl_retention_run(PGconn *conn, int64_t window_ms, int64_t deleted[3], char *errbuf,
                        size_t errlen)
{
    hl_err err = HL_EIO;
    char window[32], batch[32];
    snprintf(window, sizeof(window), "%lld", (long long)window_ms);
    snprintf(batch, sizeof(batch), "%d", HL_RETENTION_BATCH);
    const char *params[2] = {window, batch};
    deleted[0] = deleted[1] = deleted[2] = 0;

    PGresult *r = PQexec(conn, "SELECT pg_try_advisory_lock(" LOCK_KEY ")");
    if (exec_ok(conn, r, errbuf, errlen)) {
        PQclear(r);
        return HL_EIO;
    }
    bool locked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!locked) {
        snprintf(errbuf, errlen, "another process is cleaning up");
        return HL_ECONFLICT;
    }
    for (;;) {
        r = PQexecParams(conn, DELIVERIES_SQL, 2, NULL, params, NULL, NULL, 0);
        if (exec_ok(conn, r, errbuf, errlen)) {
            PQclear(r);
            goto out;
        }
        int64_t d = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        int64_t a = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        PQclear(r);
        deleted[0] += d;
        deleted[1] += a;
        if (met.deleted[0]) {
            hl_counter_add(met.deleted[0], (uint64_t)d);
            hl_counter_add(met.deleted[1], (uint64_t)a);
        }
        if (d < HL_RETENTION_BATCH)
            break;
        nap(PAUSE_BETWEEN_BATCHES_MS);
    }
    for (;;) {
        r = PQexecParams(conn, EVENT_IDS_SQL, 1, NULL, params + 1, NULL, NULL, 0);
        if (exec_ok(conn, r, errbuf, errlen)) {
            PQclear(r);
            goto out;
        }
        int64_t e = strtoll(PQcmdTuples(r), NULL, 10);
        PQclear(r);
        deleted[2] += e;
        if (met.deleted[2])
            hl_counter_add(met.deleted[2], (uint64_t)e);
        if (e < HL_RETENTION_BATCH)
            break;
        nap(PAUSE_BETWEEN_BATCHES_MS);
    }
    err = HL_OK;
out:
    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" LOCK_KEY ")"));
    return err;
}

static void run_once(struct hl_retention *rt)
{
    char err[512];
    int64_t deleted[3];
    int64_t t0 = hl_mono_ms();
    PGconn *conn = hl_pg_connect(rt->dsn, err, sizeof(err));
    hl_err rc = conn ? hl_retention_run(conn, rt->window_ms, deleted, err, sizeof(err)) : HL_EIO;
    if (conn)
        PQfinish(conn); /* also releases the lock if the unlock could not be sent */
    if (rc == HL_OK) {
        hl_counter_inc(met.runs_done);
        hl_gauge_set(met.last_success, hl_now_ms() / 1000);
        hl_log(HL_LOG_INFO, "retention",
               "deleted %lld deliveries, %lld attempts and %lld expired event ids in %lld ms",
               (long long)deleted[0], (long long)deleted[1], (long long)deleted[2],
               (long long)(hl_mono_ms() - t0));
    } else if (rc == HL_ECONFLICT) {
        hl_counter_inc(met.runs_skipped);
        hl_log(HL_LOG_DEBUG, "retention", "skipped: %s", err);
    } else {
        hl_counter_inc(met.runs_failed);
        hl_log(HL_LOG_WARN, "retention", "cleanup failed, next try in %lld ms: %s",
               (long long)rt->interval_ms, err);
    }
}

static void *thread_main(void *arg)
{
    struct hl_retention *rt = arg;
    int64_t wait = rt->interval_ms < FIRST_RUN_MAX_MS ? rt->interval_ms : FIRST_RUN_MAX_MS;
    pthread_mutex_lock(&rt->mu);
    while (!rt->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(wait / 1000);
        until.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!rt->stop && pthread_cond_timedwait(&rt->cv, &rt->mu, &until) == 0)
            ;
        if (rt->stop)
            break;
        pthread_mutex_unlock(&rt->mu);
        run_once(rt);
        pthread_mutex_lock(&rt->mu);
        wait = rt->interval_ms;
    }
    pthread_mutex_unlock(&rt->mu);
    return NULL;
}

static void metrics_init(void)
{
    hl_metrics_family("hookline_retention_deleted_rows_total", HL_METRIC_COUNTER,
                      "Rows the delivery-log cleanup deleted, by table");
    for (int i = 0; i < 3; i++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "table=\"%s\"", tables[i]);
        met.deleted[i] = hl_metrics_counter("hookline_retention_deleted_rows_total", labels);
    }
    hl_metrics_family("hookline_retention_runs_total", HL_METRIC_COUNTER,
                      "Cleanup runs of this process by result: completed, skipped (another "
                      "process held the lock) or failed");
    met.runs_done = hl_metrics_counter("hookline_retention_runs_total", "result=\"completed\"");
    met.runs_skipped = hl_metrics_counter("hookline_retention_runs_total", "result=\"skipped\"");
    met.runs_failed = hl_metrics_counter("hookline_retention_runs_total", "result=\"failed\"");
    hl_metrics_family("hookline_retention_last_success_timestamp_seconds", HL_METRIC_GAUGE,
                      "When this process last completed a cleanup (Unix time; 0: never)");
    met.last_success = hl_metrics_gauge("hookline_retention_last_success_timestamp_seconds", NULL);
}

struct hl_retention *hl_retention_start(const struct hl_common_cfg *c)
{
    int64_t window = hl_retention_window_ms(c);
    if (window <= 0)
        return NULL;
    metrics_init();
    struct hl_retention *rt = hl_xcalloc(1, sizeof(*rt));
    rt->dsn = hl_xstrdup(c->pg_dsn);
    rt->window_ms = window;
    rt->interval_ms = c->retention_interval_ms;
    pthread_mutex_init(&rt->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&rt->thread, NULL, thread_main, rt) != 0)
        abort();
    hl_log(HL_LOG_INFO, "retention", "deliveries are kept %lld s; cleanup every %lld s",
           (long long)(window / 1000), (long long)(rt->interval_ms / 1000));
    return rt;
}

void hl_retention_stop(struct hl_retention *rt)
{
    if (!rt)
        return;
    pthread_mutex_lock(&rt->mu);
    rt->stop = true;
    pthread_cond_signal(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
    pthread_join(rt->thread, NULL);
    pthread_cond_destroy(&rt->cv);
    pthread_mutex_destroy(&rt->mu);
    free(rt->dsn);
    free(rt);
}
