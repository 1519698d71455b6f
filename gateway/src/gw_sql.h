/* The route handlers' SQL (gw_sql.c): queries whose rows are JSON texts that PostgreSQL
 * renders, and the one answer for a store that failed a request. */
#ifndef GW_SQL_H
#define GW_SQL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

struct gw_req;

/* A timestamp column as the API renders it: RFC 3339, UTC, milliseconds. */
#define GW_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Runs a query whose rows are single JSON texts. NULL after replying 503. The caller
 * releases *conn with gw_db_release. */
PGresult *gw_query_json(struct gw_req *r, PGconn **conn, const char *sql, int nparams,
                        const char *const *params);
json_t *gw_row_json(PGresult *res, int row);
/* gw_query_json for a statement of at most one row (a create's INSERT, an UPDATE or a read
 * of one resource), the connection handed back: *row gets the row (NULL: none). Returns
 * 0, or 503 after replying. */
int gw_query_row(struct gw_req *r, const char *sql, int nparams, const char *const *params,
                 json_t **row);
/* 201 with row (stolen) and `Location: <prefix>/<id>`. */
int gw_reply_created(struct gw_req *r, const char *prefix, const char *id, json_t *row);
/* True when the tenant's row `id` exists in `table` (a literal of the caller's). */
bool gw_query_exists(struct gw_req *r, const char *table, const char *id);
/* The two 503 database-unavailable answers; store names what failed ("store", "webhook
 * store", ...). _unreachable: no connection could be had. _error: a statement failed; its
 * primary message (never the DETAIL, which may quote a row) is logged under facility.
 * Both return 503. */
int gw_reply_db_unreachable(struct gw_req *r, const char *store);
int gw_reply_db_error(struct gw_req *r, const char *facility, const char *store,
                      const PGresult *res);

#endif
