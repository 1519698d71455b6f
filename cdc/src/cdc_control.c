/* Holding table sources and reporting their status (see cdc_control.h). */
#include "cdc_control.h"

#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "cdc_fence.h"
#include "cdc_metrics.h"
#include "cdc_pgoutput.h"
#include "cdc_source.h"
#include "cdc_stream.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/time.h"
#include "hl/banned.h"

#define LOCK_SQL "SELECT pg_try_advisory_lock(73126, hashtext($1))"
#define UNLOCK_SQL "SELECT pg_advisory_unlock(73126, hashtext($1))"

struct held {
    struct held *next;
    char id[37];
    char version[64]; /* the row's updated_at when started */
    struct cdc_stream *stream; /* NULL when the row could not be used (state says why) */
    bool deleting;
    bool seen; /* in the last scan */
    uint64_t run; /* which stream, for the metrics' counters */
};

struct control {
    const struct cdc_config *cfg;
    const struct hl_keyring *keyring;
    struct cdc_producer *prod;
    PGconn *conn;
    struct held *held;
    uint64_t runs; /* streams started */
    char worker[128];
};

static PGresult *query(struct control *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        hl_log(HL_LOG_ERROR, "control", "statement failed: %s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static void report(struct control *c, const char *id, const char *state, const char *detail,
                   const struct cdc_stream_status *st)
{
    char lsn[CDC_LSN_LEN] = "", lag[32] = "";
    if (st && st->confirmed) {
        cdc_lsn_format(st->confirmed, lsn);
        snprintf(lag, sizeof(lag), "%" PRIu64,
                 st->wal_end > st->confirmed ? st->wal_end - st->confirmed : 0);
    }
    const char *params[] = {id, state, detail, lsn[0] ? lsn : NULL, lag[0] ? lag : NULL,
                            c->worker};
    PGresult *r = query(c,
                        "UPDATE table_sources SET state = $2, state_detail = $3,"
                        " confirmed_lsn = coalesce($4, confirmed_lsn),"
                        " lag_bytes = coalesce($5::bigint, lag_bytes), worker = $6,"
                        " state_at = now() WHERE id = $1",
                        6, params);
    PQclear(r);
}

static void release(struct control *c, struct held *h, bool unlock)
{
    cdc_stream_stop(h->stream);
    h->stream = NULL;
    if (unlock && c->conn) {
        const char *params[] = {h->id};
        PQclear(query(c, UNLOCK_SQL, 1, params));
    }
}

static void release_all(struct control *c, bool unlock)
{
    /* All at once: a stream in a 5 s connection attempt must not delay the others. */
    for (struct held *h = c->held; h; h = h->next)
        cdc_stream_signal(h->stream);
    while (c->held) {
        struct held *h = c->held;
        c->held = h->next;
        release(c, h, unlock);
        free(h);
    }
}

static struct held *find(struct control *c, const char *id)
{
    for (struct held *h = c->held; h; h = h->next)
        if (strcmp(h->id, id) == 0)
            return h;
    return NULL;
}

/* Takes row i of a scan (lock already held): opens the connection string and starts the
 * stream, or reports why it cannot. */
static void take(struct control *c, PGresult *r, int i)
{
    const char *id = PQgetvalue(r, i, 0), *tenant = PQgetvalue(r, i, 1);
    const char *status = PQgetvalue(r, i, 2), *sealed = PQgetvalue(r, i, 3);
    struct held *h = hl_xcalloc(1, sizeof(*h));
    snprintf(h->id, sizeof(h->id), "%s", id);
    snprintf(h->version, sizeof(h->version), "%s", PQgetvalue(r, i, 6));
    h->deleting = strcmp(status, "deleting") == 0;
    h->seen = true;
    h->run = ++c->runs;
    h->next = c->held;
    c->held = h;

    char err[256], aad[HL_AAD_MAX];
    struct cdc_source src;
    struct hl_buf dsn = HL_BUF_INIT;
    hl_aad_table_source(aad, id);
    if (hl_keyring_open(c->keyring, aad, sealed, &dsn, err, sizeof(err))) {
        hl_log(HL_LOG_ERROR, "control", "table source '%s': cannot open its connection string: %s",
               id, err);
        report(c, id, "error", "the connection string cannot be opened with this worker's "
               "master key ring", NULL);
        hl_buf_release(&dsn);
        return;
    }
    if (cdc_source_init(&src, id, tenant, PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), err,
                        sizeof(err))) {
        report(c, id, "error", err, NULL);
        cdc_source_release(&src);
        OPENSSL_cleanse(dsn.ptr, dsn.len);
        hl_buf_release(&dsn);
        return;
    }
    if (!PQgetisnull(r, i, 7) && !cdc_lsn_parse(PQgetvalue(r, i, 7), &src.last_confirmed))
        src.last_confirmed = 0;
    hl_log(HL_LOG_INFO, "control", "holding table source '%s'%s", id,
           h->deleting ? " (to drop it)" : "");
    h->stream = cdc_stream_start(c->cfg, c->prod, &src, hl_buf_detach(&dsn, NULL), h->deleting);
}

static bool try_lock(struct control *c, const char *id)
{
    const char *params[] = {id};
    PGresult *r = query(c, LOCK_SQL, 1, params);
    bool got = r && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return got;
}

/* One pass over table_sources. False when the control connection failed. */
static bool scan(struct control *c)
{
    PGresult *r = query(c,
                        "SELECT id, tenant_id, status, connection, tables::text, event_name,"
                        " updated_at::text, confirmed_lsn FROM table_sources ORDER BY id",
                        0, NULL);
    if (!r)
        return PQstatus(c->conn) == CONNECTION_OK;
    for (struct held *h = c->held; h; h = h->next)
        h->seen = false;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(r, i, 0), *status = PQgetvalue(r, i, 2);
        struct held *h = find(c, id);
        if (h) {
            h->seen = true;
            if (strcmp(h->version, PQgetvalue(r, i, 6)) == 0)
                continue;
            hl_log(HL_LOG_INFO, "control", "table source '%s' changed (now %s)", id, status);
            release(c, h, true);
            h->seen = false; /* removed below, then maybe taken again */
            snprintf(h->id, sizeof(h->id), "%s", "");
        }
        if (strcmp(status, "paused") == 0) {
            continue;
        }
        if (try_lock(c, id))
            take(c, r, i);
    }
    PQclear(r);
    /* Rows gone (deleted through the database, or our placeholder above). */
    for (struct held **pp = &c->held; *pp;) {
        struct held *h = *pp;
        if (!h->seen) {
            *pp = h->next;
            if (h->id[0])
                release(c, h, true);
            free(h);
        } else {
            pp = &h->next;
        }
    }
    return true;
}

/* Writes changed statuses; finishes dropped sources; publishes the metrics. */
static void flush_status(struct control *c)
{
    size_t n = 0, cap = 0;
    struct cdc_metrics_source *rows = NULL;
    for (struct held *h = c->held; h; h = h->next)
        cap++;
    rows = hl_xcalloc(cap ? cap : 1, sizeof(*rows));
    for (struct held **pp = &c->held; *pp;) {
        struct held *h = *pp;
        if (!h->stream) {
            struct cdc_metrics_source *m = &rows[n++];
            snprintf(m->id, sizeof(m->id), "%s", h->id);
            snprintf(m->state, sizeof(m->state), "error");
            m->run = h->run;
            pp = &h->next;
            continue;
        }
        struct cdc_stream_status st;
        bool changed;
        cdc_stream_status(h->stream, &st, &changed);
        struct cdc_metrics_source *m = &rows[n++];
        snprintf(m->id, sizeof(m->id), "%s", h->id);
        snprintf(m->state, sizeof(m->state), "%s", st.state);
        m->confirmed = st.confirmed;
        m->lag_bytes = st.wal_end > st.confirmed ? st.wal_end - st.confirmed : 0;
        m->events = st.events;
        m->errors = st.errors;
        m->run = h->run;
        if (h->deleting && cdc_stream_dropped(h->stream)) {
            const char *params[] = {h->id};
            PGresult *r = query(c, "DELETE FROM table_sources WHERE id = $1 AND status = 'deleting'",
                                1, params);
            if (r) {
                hl_log(HL_LOG_INFO, "control", "table source '%s' deleted", h->id);
                PQclear(r);
                n--; /* not held any more */
                *pp = h->next;
                release(c, h, true);
                free(h);
                continue;
            }
        }
        if (changed)
            report(c, h->id, st.state, st.detail, &st);
        pp = &h->next;
    }
    cdc_metrics_publish(rows, n);
    free(rows);
}

static bool connect_control(struct control *c)
{
    char err[256];
    c->conn = hl_pg_connect(c->cfg->common.pg_dsn, err, sizeof(err));
    if (!c->conn) {
        hl_log(HL_LOG_WARN, "control", "cannot connect to PostgreSQL: %s", err);
        return false;
    }
    PGresult *r = PQexec(c->conn, "LISTEN hl_table_sources_changed; LISTEN " CDC_FENCE_CHANNEL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (ok) {
        /* After LISTEN: no change can fall between the two. */
        r = PQexec(c->conn, "SELECT version FROM subscription_version");
        ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (ok && PQntuples(r) == 1)
            cdc_fence_note_text(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    if (!ok) {
        hl_pg_errmsg(c->conn, err, sizeof(err));
        hl_log(HL_LOG_WARN, "control", "LISTEN failed: %s", err);
        PQfinish(c->conn);
        c->conn = NULL;
    }
    return ok;
}

/* Waits up to ms for a NOTIFY; true when a table source changed (or the connection needs
 * attention). Subscription versions are noted for the fence. */
static bool wait_notify(struct control *c, int ms)
{
    struct pollfd pfd = {.fd = PQsocket(c->conn), .events = POLLIN};
    if (poll(&pfd, 1, ms) <= 0)
        return false;
    if (!PQconsumeInput(c->conn))
        return true;
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(c->conn))) {
        if (strcmp(n->relname, CDC_FENCE_CHANNEL) == 0)
            cdc_fence_note_text(n->extra);
        else
            any = true;
        PQfreemem(n);
    }
    return any;
}

int cdc_control_run(const struct cdc_config *cfg, const struct hl_keyring *keyring,
                    struct cdc_producer *prod, volatile sig_atomic_t *stop)
{
    struct control c = {.cfg = cfg, .keyring = keyring, .prod = prod};
    if (cfg->worker_id && *cfg->worker_id) {
        snprintf(c.worker, sizeof(c.worker), "%s", cfg->worker_id);
    } else {
        char host[64] = "?";
        gethostname(host, sizeof(host) - 1);
        snprintf(c.worker, sizeof(c.worker), "%s-%d", host, (int)getpid());
    }
    int rc = 0;
    int64_t backoff = 500, next_scan = 0, next_status = 0;
    while (!*stop) {
        if (!cdc_producer_healthy(prod)) {
            rc = 1;
            break;
        }
        if (!c.conn) {
            if (!connect_control(&c)) {
                usleep((useconds_t)backoff * 1000);
                backoff = backoff * 2 > 10000 ? 10000 : backoff * 2;
                continue;
            }
            backoff = 500;
            next_scan = 0;
            cdc_metrics_control(true);
            hl_log(HL_LOG_INFO, "control", "worker '%s' watching table sources", c.worker);
        }
        int64_t now = hl_mono_ms();
        if (now >= next_scan) {
            if (!scan(&c))
                goto lost;
            next_scan = now + cfg->scan_interval_ms;
        }
        if (now >= next_status) {
            flush_status(&c);
            next_status = now + cfg->status_interval_ms;
        }
        if (PQstatus(c.conn) != CONNECTION_OK)
            goto lost;
        if (wait_notify(&c, 100))
            next_scan = 0;
        if (PQstatus(c.conn) != CONNECTION_OK)
            goto lost;
        continue;
    lost:
        /* Our locks went with the connection: another worker may take the sources now. */
        hl_log(HL_LOG_WARN, "control", "lost the connection to PostgreSQL; stopping every stream");
        release_all(&c, false);
        PQfinish(c.conn);
        c.conn = NULL;
        cdc_metrics_control(false);
        cdc_metrics_publish(NULL, 0);
    }
    if (c.conn) {
        flush_status(&c);
        /* Say so rather than leave 'streaming' behind: another worker takes it from here. */
        for (struct held *h = c.held; h; h = h->next)
            if (h->stream)
                report(&c, h->id, "pending", "its worker stopped", NULL);
    }
    release_all(&c, c.conn != NULL);
    if (c.conn)
        PQfinish(c.conn);
    return rc;
}
