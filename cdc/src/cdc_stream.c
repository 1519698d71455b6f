/* A table source's replication stream (see cdc_stream.h).
 *
 * The loop's order of work, each turn: stop if asked; take what Kafka acknowledged and, when
 * the confirmable LSN moved or the status interval passed, send a standby status update;
 * read one message if fewer than max_in_flight events await Kafka (back-pressure: the WAL
 * waits in the slot, not in memory); else wait up to 100 ms for the socket. */
#include "cdc_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "cdc_acks.h"
#include "cdc_event.h"
#include "cdc_pgoutput.h"
#include "hl/buf.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/ssrf.h"
#include "hl/time.h"
#include "hl/banned.h"

/* Session settings the value conversions rely on (cdc_types.h). */
#define SESSION_OPTIONS                                                                            \
    "-c client_encoding=UTF8 -c datestyle=ISO -c timezone=UTC -c intervalstyle=iso_8601 -c extra_float_digits=3 "        \
    "-c bytea_output=hex"

/* A path that does not exist, for the file options of a tenant's connection. */
#define NO_FILE "/nonexistent/hookline-cdc"

struct cdc_stream {
    const struct cdc_config *cfg;
    struct cdc_producer *prod;
    struct cdc_source src;
    char *dsn;
    bool drop;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t lock; /* guards status, changed */
    struct cdc_stream_status status;
    bool changed;
    atomic_bool dropped;
};

static void set_state(struct cdc_stream *s, const char *state, const char *detail)
{
    pthread_mutex_lock(&s->lock);
    if (strcmp(s->status.state, state) || strcmp(s->status.detail, detail ? detail : "")) {
        snprintf(s->status.state, sizeof(s->status.state), "%s", state);
        snprintf(s->status.detail, sizeof(s->status.detail), "%s", detail ? detail : "");
        s->changed = true;
    }
    pthread_mutex_unlock(&s->lock);
}

/* A new state that keeps the last error's detail (an error stays visible while retrying). */
static void keep_detail(struct cdc_stream *s, const char *state)
{
    pthread_mutex_lock(&s->lock);
    if (strcmp(s->status.state, state)) {
        snprintf(s->status.state, sizeof(s->status.state), "%s", state);
        s->changed = true;
    }
    pthread_mutex_unlock(&s->lock);
}

static void set_positions(struct cdc_stream *s, uint64_t confirmed, uint64_t wal_end,
                          uint64_t events)
{
    pthread_mutex_lock(&s->lock);
    if (s->status.confirmed != confirmed || s->status.wal_end != wal_end ||
        s->status.events != events)
        s->changed = true;
    s->status.confirmed = confirmed;
    s->status.wal_end = wal_end;
    s->status.events = events;
    pthread_mutex_unlock(&s->lock);
}

/* Sleeps ms in slices, returning early when asked to stop. */
static void nap(struct cdc_stream *s, int64_t ms)
{
    int64_t until = hl_mono_ms() + ms;
    while (!atomic_load(&s->stop) && hl_mono_ms() < until)
        usleep(50000);
}

/* The address actually connected must pass SSRF protection, like every delivery: a tenant
 * must not make the worker replicate the operator's own databases. Unix sockets are never
 * allowed. Checked before any command is sent. */
static bool ssrf_ok(PGconn *conn, char *errbuf, size_t errlen)
{
    const char *addr = PQhostaddr(conn);
    const char *host = PQhost(conn);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (!addr || !*addr) {
        snprintf(errbuf, errlen, "refusing to connect to '%s' through a Unix socket",
                 host ? host : "?");
        return false;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
    } else {
        snprintf(errbuf, errlen, "cannot read the connected address '%s'", addr);
        return false;
    }
    char why[200];
    if (hl_ssrf_blocked((struct sockaddr *)&ss, &hl_ssrf_allow, why, sizeof(why))) {
        snprintf(errbuf, errlen, "refusing to replicate from %s (ssrf_allowlist does not allow "
                 "it)", why);
        return false;
    }
    return true;
}

static PGconn *connect_user_db(struct cdc_stream *s, char *errbuf, size_t errlen)
{
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%lld", (long long)s->cfg->connect_timeout_s);
    /* Later entries override the DSN's own (expand_dbname), except connect_timeout, which
     * comes first so that the DSN may set its own. No file of this machine may serve the
     * tenant's server: no password file, no client certificate (a path that does not
     * exist is skipped by libpq). Root certificates (sslmode verify-*) are the worker's. */
    const char *const keys[] = {"connect_timeout", "dbname", "replication", "options",
                                "application_name", "passfile", "sslcert", "sslkey", NULL};
    const char *const vals[] = {timeout, s->dsn, "database", SESSION_OPTIONS, "hookline-cdc",
                                NO_FILE, NO_FILE, NO_FILE, NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        char msg[256];
        hl_pg_errmsg(conn, msg, sizeof(msg));
        snprintf(errbuf, errlen, "cannot connect to the database: %s", msg);
        PQfinish(conn);
        return NULL;
    }
    PQsetErrorVerbosity(conn, PQERRORS_TERSE);
    if (!ssrf_ok(conn, errbuf, errlen)) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Sends sql and waits for its first result, giving up when the stream is asked to stop:
 * CREATE_REPLICATION_SLOT waits for every transaction open on the server to end, which can
 * take as long as the tenant's longest transaction. NULL when stopped or the connection
 * failed (the caller closes it). */
static PGresult *exec(struct cdc_stream *s, PGconn *conn, const char *sql)
{
    if (!PQsendQuery(conn, sql))
        return NULL;
    for (;;) {
        if (!PQconsumeInput(conn))
            return NULL;
        if (!PQisBusy(conn))
            break;
        if (atomic_load(&s->stop)) {
            char ignore[64];
            PGcancel *c = PQgetCancel(conn);
            if (c)
                PQcancel(c, ignore, sizeof(ignore));
            PQfreeCancel(c);
            return NULL;
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        poll(&pfd, 1, 100);
    }
    PGresult *r = PQgetResult(conn);
    if (PQresultStatus(r) != PGRES_COPY_BOTH) {
        PGresult *rest;
        while ((rest = PQgetResult(conn)))
            PQclear(rest);
    }
    return r;
}

/* Runs a command; true when it gave want. On failure errbuf gets the server's message and
 * *sqlstate (when asked) its SQLSTATE. */
static bool run(struct cdc_stream *s, PGconn *conn, const char *sql, ExecStatusType want,
                PGresult **out, char sqlstate[6], char *errbuf, size_t errlen)
{
    PGresult *r = exec(s, conn, sql);
    bool ok = r && PQresultStatus(r) == want;
    if (!ok) {
        const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (sqlstate)
            snprintf(sqlstate, 6, "%s", st ? st : "");
        char msg[256];
        if (!r && atomic_load(&s->stop))
            snprintf(msg, sizeof(msg), "stopped");
        else
            snprintf(msg, sizeof(msg), "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
        msg[strcspn(msg, "\n")] = '\0';
        snprintf(errbuf, errlen, "%s", msg);
    }
    if (ok && out)
        *out = r;
    else
        PQclear(r);
    return ok;
}

/* The publication lists exactly the configured tables. */
static bool ensure_publication(struct cdc_stream *s, PGconn *conn, char *errbuf, size_t errlen)
{
    struct hl_buf sql = HL_BUF_INIT;
    PGresult *r = NULL;
    bool ok = false;
    hl_buf_addf(&sql, "SELECT 1 FROM pg_publication WHERE pubname = '%s'", s->src.slot);
    if (!run(s, conn, hl_buf_str(&sql), PGRES_TUPLES_OK, &r, NULL, errbuf, errlen))
        goto out;
    bool exists = PQntuples(r) > 0;
    PQclear(r);
    hl_buf_clear(&sql);
    hl_buf_addf(&sql, exists ? "ALTER PUBLICATION %s SET TABLE " : "CREATE PUBLICATION %s FOR TABLE ",
                s->src.slot);
    for (size_t i = 0; i < s->src.nrules; i++) {
        const struct cdc_table_rule *rule = &s->src.rules[i];
        char *schema = PQescapeIdentifier(conn, rule->schema, strlen(rule->schema));
        char *table = PQescapeIdentifier(conn, rule->table, strlen(rule->table));
        hl_buf_addf(&sql, "%s%s.%s", i ? ", " : "", schema ? schema : "\"\"",
                    table ? table : "\"\"");
        PQfreemem(schema);
        PQfreemem(table);
    }
    ok = run(s, conn, hl_buf_str(&sql), PGRES_COMMAND_OK, NULL, NULL, errbuf, errlen);
out:
    hl_buf_release(&sql);
    return ok;
}

/* Creates the slot when missing; *confirmed gets where streaming resumes. A slot missing
 * after the source has streamed was lost (PostgreSQL 15 does not fail logical slots over to
 * a standby): the new one starts now, so *gap gets what to tell the operator (else ""). */
static bool ensure_slot(struct cdc_stream *s, PGconn *conn, uint64_t *confirmed, char *gap,
                        size_t gaplen, char *errbuf, size_t errlen)
{
    char sql[256];
    PGresult *r = NULL;
    snprintf(sql, sizeof(sql),
             "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '%s'",
             s->src.slot);
    if (!run(s, conn, sql, PGRES_TUPLES_OK, &r, NULL, errbuf, errlen))
        return false;
    if (PQntuples(r) > 0) {
        bool ok = cdc_lsn_parse(PQgetvalue(r, 0, 0), confirmed);
        PQclear(r);
        if (!ok)
            *confirmed = 0;
        return true;
    }
    PQclear(r);
    snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput NOEXPORT_SNAPSHOT",
             s->src.slot);
    if (!run(s, conn, sql, PGRES_TUPLES_OK, &r, NULL, errbuf, errlen))
        return false;
    /* columns: slot_name, consistent_point, snapshot_name, output_plugin */
    if (!cdc_lsn_parse(PQgetvalue(r, 0, 1), confirmed))
        *confirmed = 0;
    PQclear(r);
    pthread_mutex_lock(&s->lock);
    uint64_t last = s->status.confirmed ? s->status.confirmed : s->src.last_confirmed;
    pthread_mutex_unlock(&s->lock);
    if (last) {
        char from[CDC_LSN_LEN], to[CDC_LSN_LEN];
        cdc_lsn_format(last, from);
        cdc_lsn_format(*confirmed, to);
        snprintf(gap, gaplen, "the replication slot was missing (a fail-over of the "
                 "database?); made a new one at %s: changes after %s and before it may be "
                 "missing", to, from);
        hl_log(HL_LOG_WARN, "stream", "table source '%s': %s", s->src.id, gap);
        return true;
    }
    hl_log(HL_LOG_INFO, "stream", "created replication slot '%s' for table source '%s'",
           s->src.slot, s->src.id);
    return true;
}

static bool send_status(PGconn *conn, uint64_t lsn, char *errbuf, size_t errlen)
{
    unsigned char msg[CDC_STATUS_LEN];
    cdc_status_update(msg, lsn, hl_now_ms() * 1000, false);
    if (PQputCopyData(conn, (const char *)msg, sizeof(msg)) != 1 || PQflush(conn) != 0) {
        hl_pg_errmsg(conn, errbuf, errlen);
        return false;
    }
    return true;
}

struct run_state {
    struct cdc_acks *acks;
    struct cdc_parser parser;
    struct cdc_txn *txn; /* open transaction, NULL between Commit and Begin */
    uint64_t final_lsn;
    int64_t commit_ts_us;
    uint32_t xid;
    uint32_t seq;
    uint64_t wal_end;
    uint64_t events;
    bool reply_now;
    struct hl_buf value, key;
};

static cdc_op op_of(cdc_msg_kind k)
{
    return k == CDC_MSG_INSERT ? CDC_OP_INSERT : k == CDC_MSG_UPDATE ? CDC_OP_UPDATE : CDC_OP_DELETE;
}

/* One pgoutput message. */
static bool handle(struct cdc_stream *s, struct run_state *st, const unsigned char *data,
                   size_t len, char *errbuf, size_t errlen)
{
    struct cdc_msg m;
    if (cdc_pgoutput_parse(&st->parser, data, len, &m, errbuf, errlen))
        return false;
    switch (m.kind) {
    case CDC_MSG_BEGIN:
        if (st->txn) {
            snprintf(errbuf, errlen, "pgoutput Begin inside a transaction");
            return false;
        }
        st->txn = cdc_acks_begin(st->acks);
        st->final_lsn = m.final_lsn;
        st->commit_ts_us = m.commit_ts_us;
        st->xid = m.xid;
        st->seq = 0;
        return true;
    case CDC_MSG_COMMIT:
        if (!st->txn) {
            snprintf(errbuf, errlen, "pgoutput Commit outside a transaction");
            return false;
        }
        cdc_acks_commit(st->acks, st->txn, m.end_lsn);
        st->txn = NULL;
        return true;
    case CDC_MSG_INSERT:
    case CDC_MSG_UPDATE:
    case CDC_MSG_DELETE: {
        if (!st->txn) {
            snprintf(errbuf, errlen, "pgoutput change outside a transaction");
            return false;
        }
        /* Every change counts, published or not, so that ids stay put whatever the rules. */
        uint32_t seq = st->seq++;
        cdc_op op = op_of(m.kind);
        const struct cdc_table_rule *rule = cdc_source_rule(&s->src, m.rel->schema, m.rel->name);
        if (!rule || !rule->ops[op])
            return true;
        struct cdc_change c = {
            .src = &s->src, .rule = rule, .msg = &m, .op = op, .commit_lsn = st->final_lsn,
            .commit_ts_us = st->commit_ts_us, .xid = st->xid, .seq = seq,
            .now_ms = hl_now_ms(),
        };
        cdc_event_build(&c, &st->value, &st->key);
        if (cdc_produce(s->prod, st->key.ptr, st->key.len, st->value.ptr, st->value.len,
                        st->acks, st->txn, &s->stop, errbuf, errlen))
            return false;
        st->events++;
        return true;
    }
    default:
        return true; /* Relation (cached by the parser), Truncate, Origin, Type */
    }
}

/* Streams until stop (true) or a failure (false, errbuf set). */
static bool stream(struct cdc_stream *s, PGconn *conn, uint64_t confirmed, char *errbuf,
                   size_t errlen)
{
    struct run_state st;
    memset(&st, 0, sizeof(st));
    st.acks = cdc_acks_new(confirmed);
    pthread_mutex_lock(&s->lock);
    st.events = s->status.events; /* counted over the stream's whole life */
    pthread_mutex_unlock(&s->lock);
    cdc_parser_init(&st.parser);
    uint64_t sent = confirmed;
    int64_t last_status = hl_mono_ms();
    bool ok = false;

    for (;;) {
        if (atomic_load(&s->stop)) {
            ok = true;
            break;
        }
        bool failed;
        uint64_t c = cdc_acks_advance(st.acks, &failed);
        if (failed) {
            snprintf(errbuf, errlen, "Kafka did not acknowledge an event; replaying from %s",
                     "the last confirmed LSN");
            break;
        }
        int64_t now = hl_mono_ms();
        if (c != sent || st.reply_now || now - last_status >= s->cfg->status_interval_ms) {
            if (!send_status(conn, c, errbuf, errlen))
                break;
            sent = c;
            st.reply_now = false;
            last_status = now;
            set_positions(s, c, st.wal_end, st.events);
        }
        if (cdc_acks_in_flight(st.acks) >= (size_t)s->cfg->max_in_flight) {
            usleep(10000);
            continue;
        }
        char *buf = NULL;
        int n = PQgetCopyData(conn, &buf, 1);
        if (n > 0) {
            struct cdc_copy cp;
            bool good = cdc_copy_parse((unsigned char *)buf, (size_t)n, &cp, errbuf, errlen) == HL_OK;
            if (good) {
                if (cp.wal_end > st.wal_end)
                    st.wal_end = cp.wal_end;
                if (cp.kind == 'k') {
                    if (!st.txn)
                        cdc_acks_idle(st.acks, cp.wal_end);
                    st.reply_now |= cp.reply_requested;
                } else {
                    good = handle(s, &st, cp.data, cp.len, errbuf, errlen);
                }
            }
            PQfreemem(buf);
            if (!good)
                break;
            continue;
        }
        if (n == 0) {
            struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
            poll(&pfd, 1, 100);
            if (PQconsumeInput(conn) == 0) {
                hl_pg_errmsg(conn, errbuf, errlen);
                break;
            }
            continue;
        }
        if (n == -1) {
            PGresult *r = PQgetResult(conn);
            snprintf(errbuf, errlen, "the server ended replication: %s",
                     r ? PQresultErrorMessage(r) : "no reason");
            errbuf[strcspn(errbuf, "\n")] = '\0';
            PQclear(r);
        } else {
            hl_pg_errmsg(conn, errbuf, errlen);
        }
        break;
    }
    /* Confirm what Kafka has by now, so a pause or a restart replays little. */
    if (ok) {
        int64_t until = hl_mono_ms() + 2000;
        while (cdc_acks_in_flight(st.acks) && hl_mono_ms() < until)
            usleep(10000);
        bool failed;
        uint64_t c = cdc_acks_advance(st.acks, &failed);
        char ignore[128];
        if (c != sent && send_status(conn, c, ignore, sizeof(ignore)))
            set_positions(s, c, st.wal_end, st.events);
    }
    cdc_acks_orphan(st.acks);
    cdc_parser_release(&st.parser);
    hl_buf_release(&st.value);
    hl_buf_release(&st.key);
    return ok;
}

/* Drops the slot and the publication; true when both are gone. */
static bool drop_all(struct cdc_stream *s, PGconn *conn, char *errbuf, size_t errlen)
{
    char sql[256], state[6] = "";
    snprintf(sql, sizeof(sql), "DROP_REPLICATION_SLOT %s", s->src.slot);
    if (!run(s, conn, sql, PGRES_COMMAND_OK, NULL, state, errbuf, errlen) &&
        strcmp(state, "42704") != 0) /* undefined_object: already gone */
        return false;
    snprintf(sql, sizeof(sql), "DROP PUBLICATION IF EXISTS %s", s->src.slot);
    return run(s, conn, sql, PGRES_COMMAND_OK, NULL, NULL, errbuf, errlen);
}

static void *stream_main(void *arg)
{
    struct cdc_stream *s = arg;
    char err[512], gap[256] = "";
    int64_t backoff = s->cfg->reconnect_min_ms;
    while (!atomic_load(&s->stop)) {
        keep_detail(s, s->drop ? "dropping" : "connecting");
        PGconn *conn = connect_user_db(s, err, sizeof(err));
        bool ok = false;
        if (conn && s->drop) {
            ok = drop_all(s, conn, err, sizeof(err));
            if (ok) {
                hl_log(HL_LOG_INFO, "stream", "dropped slot and publication '%s' of table "
                       "source '%s'", s->src.slot, s->src.id);
                set_state(s, "dropped", "");
                atomic_store(&s->dropped, true);
                PQfinish(conn);
                break;
            }
        } else if (conn) {
            uint64_t confirmed = 0;
            char start[512], lsn[CDC_LSN_LEN];
            char lost[256] = "";
            if (ensure_publication(s, conn, err, sizeof(err)) &&
                ensure_slot(s, conn, &confirmed, lost, sizeof(lost), err, sizeof(err))) {
                if (lost[0]) { /* kept for the life of this stream */
                    snprintf(gap, sizeof(gap), "%s", lost);
                    pthread_mutex_lock(&s->lock);
                    s->status.errors++;
                    pthread_mutex_unlock(&s->lock);
                }
                snprintf(start, sizeof(start),
                         "START_REPLICATION SLOT %s LOGICAL 0/0 (proto_version '1', "
                         "publication_names '%s')",
                         s->src.slot, s->src.slot);
                if (run(s, conn, start, PGRES_COPY_BOTH, NULL, NULL, err, sizeof(err))) {
                    cdc_lsn_format(confirmed, lsn);
                    hl_log(HL_LOG_INFO, "stream", "table source '%s' streaming from %s",
                           s->src.id, lsn);
                    pthread_mutex_lock(&s->lock);
                    s->status.confirmed = confirmed;
                    pthread_mutex_unlock(&s->lock);
                    set_state(s, "streaming", gap); /* the gap stays in view */
                    backoff = s->cfg->reconnect_min_ms;
                    ok = stream(s, conn, confirmed, err, sizeof(err));
                }
            }
        }
        if (conn)
            PQfinish(conn);
        if (ok || atomic_load(&s->stop))
            break;
        hl_log(HL_LOG_WARN, "stream", "table source '%s': %s; retrying in %lld ms", s->src.id,
               err, (long long)backoff);
        set_state(s, "error", err);
        pthread_mutex_lock(&s->lock);
        s->status.errors++;
        s->changed = true;
        pthread_mutex_unlock(&s->lock);
        nap(s, backoff);
        backoff = backoff * 2 > s->cfg->reconnect_max_ms ? s->cfg->reconnect_max_ms : backoff * 2;
    }
    return NULL;
}

struct cdc_stream *cdc_stream_start(const struct cdc_config *cfg, struct cdc_producer *prod,
                                    struct cdc_source *src, char *dsn, bool drop)
{
    struct cdc_stream *s = hl_xcalloc(1, sizeof(*s));
    s->cfg = cfg;
    s->prod = prod;
    s->src = *src;
    memset(src, 0, sizeof(*src));
    s->dsn = dsn;
    s->drop = drop;
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->status.state, sizeof(s->status.state), "%s", drop ? "dropping" : "connecting");
    s->changed = true;
    if (pthread_create(&s->thread, NULL, stream_main, s) != 0)
        abort(); /* like an allocation failure: nothing sensible to do without threads */
    return s;
}

void cdc_stream_signal(struct cdc_stream *s)
{
    if (s)
        atomic_store(&s->stop, 1);
}

void cdc_stream_stop(struct cdc_stream *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    cdc_source_release(&s->src);
    OPENSSL_cleanse(s->dsn, strlen(s->dsn));
    free(s->dsn);
    free(s);
}

void cdc_stream_status(struct cdc_stream *s, struct cdc_stream_status *out, bool *changed)
{
    pthread_mutex_lock(&s->lock);
    *out = s->status;
    *changed = s->changed;
    s->changed = false;
    pthread_mutex_unlock(&s->lock);
}

bool cdc_stream_dropped(struct cdc_stream *s)
{
    return atomic_load(&s->dropped);
}
