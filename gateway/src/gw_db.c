/* PostgreSQL connection pool for the civetweb worker threads.
 *
 * Connections are made lazily and kept; a connection found broken after use is closed
 * rather than pooled, so a PostgreSQL restart costs each thread one failed request at most
 * and the pool heals by itself. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "gw.h"
#include "gw_fence.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/time.h"
#include <stdio.h>
#include "hl/banned.h"

/* After a failed connection attempt, requests fail at once for this long instead of each
 * trying (and, against an unreachable host, waiting connect_timeout) again. */
#define DOWN_HOLD_MS 1000

struct gw_db {
    pthread_mutex_t mu;
    char *dsn;
    PGconn **idle; /* a stack of at most cap idle connections */
    int nidle;
    int cap;
    atomic_int_fast64_t down_until_ms; /* monotonic; 0 while connections succeed */
};

struct gw_db *gw_db_new(const char *dsn, int size)
{
    struct gw_db *db = hl_xcalloc(1, sizeof(*db));
    pthread_mutex_init(&db->mu, NULL);
    db->dsn = hl_xstrdup(dsn);
    db->cap = size;
    db->idle = hl_xcalloc((size_t)size, sizeof(PGconn *));
    return db;
}

void gw_db_free(struct gw_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->nidle; i++)
        PQfinish(db->idle[i]);
    free(db->idle);
    free(db->dsn);
    pthread_mutex_destroy(&db->mu);
    free(db);
}

PGconn *gw_db_acquire(struct gw_db *db, char *errbuf, size_t errlen)
{
    PGconn *c = NULL;
    pthread_mutex_lock(&db->mu);
    if (db->nidle > 0)
        c = db->idle[--db->nidle];
    pthread_mutex_unlock(&db->mu);
    if (!c) {
        if (hl_mono_ms() < atomic_load(&db->down_until_ms)) {
            snprintf(errbuf, errlen, "postgresql unreachable (the last attempt failed)");
            return NULL;
        }
        c = hl_pg_connect(db->dsn, errbuf, errlen);
        if (!c) {
            hl_log(HL_LOG_WARN, "db", "cannot connect to postgresql: %s", errbuf);
            atomic_store(&db->down_until_ms, hl_mono_ms() + DOWN_HOLD_MS);
            return NULL;
        }
        atomic_store(&db->down_until_ms, 0);
        char why[256];
        if (gw_fence_listen(c, why, sizeof(why)))
            hl_log(HL_LOG_WARN, "db", "cannot follow the subscription version: %s", why);
    }
    gw_fence_hold(c);
    return c;
}

void gw_db_release(struct gw_db *db, PGconn *conn)
{
    if (!conn)
        return;
    gw_fence_unhold(conn);
    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQfinish(conn);
        return;
    }
    pthread_mutex_lock(&db->mu);
    if (db->nidle < db->cap) {
        db->idle[db->nidle++] = conn;
        conn = NULL;
    }
    pthread_mutex_unlock(&db->mu);
    if (conn)
        PQfinish(conn);
}

PGresult *gw_query_json(struct gw_req *r, PGconn **conn, const char *sql, int nparams,
                        const char *const *params)
{
    char err[256];
    *conn = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!*conn) {
        gw_reply_problem(r, 503, "database-unavailable", "Database unavailable",
                         "the store cannot be reached; retry later");
        return NULL;
    }
    PGresult *res = PQexecParams(*conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        hl_pg_errmsg(*conn, err, sizeof(err));
        hl_log(HL_LOG_ERROR, "db", "query failed: %s", err);
        PQclear(res);
        gw_db_release(r->ctx->db, *conn);
        *conn = NULL;
        gw_reply_problem(r, 503, "database-unavailable", "Database unavailable",
                         "the store failed the request; retry later");
        return NULL;
    }
    return res;
}

json_t *gw_row_json(PGresult *res, int row)
{
    json_t *j = json_loads(PQgetvalue(res, row, 0), 0, NULL);
    if (!j)
        abort(); /* PostgreSQL rendered it: not being JSON is a bug */
    return j;
}

json_t *gw_page_json(PGresult *res, long limit)
{
    int n = PQntuples(res);
    json_t *data = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(data, gw_row_json(res, i));
    json_t *next = json_null();
    if (n > limit)
        next = json_incref(json_object_get(json_array_get(data, (size_t)limit - 1), "id"));
    return json_pack("{s:o, s:o}", "data", data, "next_cursor", next);
}

bool gw_query_exists(struct gw_req *r, const char *table, const char *id)
{
    char err[256], sql[160];
    PGconn *c = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!c)
        return false;
    /* table is one of the callers' literals, never client input. */
    snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE tenant_id = $1 AND id = $2", table);
    const char *params[] = {r->who.tenant, id};
    PGresult *res = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
    bool found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    PQclear(res);
    gw_db_release(r->ctx->db, c);
    return found;
}

int gw_reply_page(struct gw_req *r, const char *sql, const char *scope,
                  const char *const *extra, int nextra)
{
    char cursor[64] = "", fetch[24];
    long limit;
    bool has_cursor;
    int st = gw_page_params(r, &limit, cursor, sizeof(cursor), &has_cursor);
    if (st)
        return st;
    snprintf(fetch, sizeof(fetch), "%ld", limit + 1);
    const char *params[8] = {scope, fetch, has_cursor ? cursor : NULL};
    for (int i = 0; i < nextra && i < 5; i++)
        params[3 + i] = extra[i];
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(r, &conn, sql, 3 + nextra, params);
    if (!res)
        return 503;
    json_t *page = gw_page_json(res, limit);
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return gw_reply_json(r, 200, page);
}
