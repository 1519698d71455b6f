/* PostgreSQL connection pool for the civetweb worker threads.
 *
 * Connections are made lazily and kept; a connection found broken after use is closed
 * rather than pooled, so a PostgreSQL restart costs each thread one failed request at most
 * and the pool heals by itself. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "gw_db.h"
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
