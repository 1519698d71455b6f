/* PostgreSQL connection pool for the civetweb worker threads.
 *
 * Connections are made lazily and kept; a connection found broken after use is closed
 * rather than pooled, so a PostgreSQL restart costs each thread one failed request at most
 * and the pool heals by itself. */
#include <pthread.h>
#include <stdlib.h>

#include "gw_db.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/banned.h"

struct gw_db {
    pthread_mutex_t mu;
    char *dsn;
    PGconn **idle; /* a stack of at most cap idle connections */
    int nidle;
    int cap;
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
    if (c)
        return c;
    c = hl_pg_connect(db->dsn, errbuf, errlen);
    if (!c)
        hl_log(HL_LOG_WARN, "db", "cannot connect to postgresql: %s", errbuf);
    return c;
}

void gw_db_release(struct gw_db *db, PGconn *conn)
{
    if (!conn)
        return;
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
