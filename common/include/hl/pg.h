/* PostgreSQL plumbing: connections with notices bridged into hl_log, and the migration
 * runner behind `hookline-gateway migrate`. */
#ifndef HL_PG_H
#define HL_PG_H

#include <libpq-fe.h>
#include <stddef.h>

#include "hl/err.h"

/* Connects (blocking; connect_timeout 5 s unless the DSN sets its own). */
PGconn *hl_pg_connect(const char *dsn, char *errbuf, size_t errlen);

/* Applies every "NNNN_name.sql" file in dir, in order, that hl_schema_migrations does not
 * list yet, each in its own transaction, under an advisory lock so concurrent runs are
 * safe. *applied receives the count. */
hl_err hl_pg_migrate(PGconn *conn, const char *dir, int *applied, char *errbuf, size_t errlen);
/* The migrations directory compiled in (the source tree's schemas/migrations). */
const char *hl_pg_default_migrations_dir(void);

/* Copies PQerrorMessage without its trailing newline. */
void hl_pg_errmsg(PGconn *conn, char *errbuf, size_t errlen);

#endif
