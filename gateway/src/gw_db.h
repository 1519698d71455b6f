/* A pool of PostgreSQL connections shared by the civetweb worker threads (gw_db.c).
 * @locks its own mutex; any thread may call. */
#ifndef GW_DB_H
#define GW_DB_H

#include <libpq-fe.h>
#include <stddef.h>

struct gw_db;
struct gw_db *gw_db_new(const char *dsn, int size);
void gw_db_free(struct gw_db *db);
/* Borrows a connection, connecting if needed; NULL (errbuf set) when PostgreSQL is down. */
PGconn *gw_db_acquire(struct gw_db *db, char *errbuf, size_t errlen);
/* Returns a borrowed connection; a broken one is closed instead of pooled. */
void gw_db_release(struct gw_db *db, PGconn *conn);

#endif
