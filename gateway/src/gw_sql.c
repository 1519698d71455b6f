/* The route handlers' SQL: queries whose rows are JSON texts that PostgreSQL renders (so
 * the gateway never formats a row itself), and the one pair of 503 answers for a store that
 * cannot be reached or failed a statement. */
#include <stdio.h>
#include <stdlib.h>

#include "gw_db.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_sql.h"
#include "hl/log.h"
#include "hl/pg.h"
#include "hl/banned.h"

int gw_reply_db_unreachable(struct gw_req *r, const char *store)
{
    return gw_reply_problem(r, 503, "database-unavailable", "Database unavailable",
                            "the %s cannot be reached; retry later", store);
}

int gw_reply_db_error(struct gw_req *r, const char *facility, const char *store,
                      const PGresult *res)
{
    /* The primary message only: a DETAIL line may quote the row. */
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    hl_log(HL_LOG_ERROR, facility, "statement failed: %s", msg ? msg : "no result");
    return gw_reply_problem(r, 503, "database-unavailable", "Database unavailable",
                            "the %s failed the request; retry later", store);
}

PGresult *gw_query_json(struct gw_req *r, PGconn **conn, const char *sql, int nparams,
                        const char *const *params)
{
    char err[256];
    *conn = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!*conn) {
        gw_reply_db_unreachable(r, "store");
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


int gw_query_row(struct gw_req *r, const char *sql, int nparams, const char *const *params,
                 json_t **row)
{
    PGconn *conn = NULL;
    *row = NULL;
    PGresult *res = gw_query_json(r, &conn, sql, nparams, params);
    if (!res)
        return 503;
    if (PQntuples(res) > 0)
        *row = gw_row_json(res, 0);
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return 0;
}

int gw_reply_created(struct gw_req *r, const char *prefix, const char *id, json_t *row)
{
    char location[256];
    snprintf(location, sizeof(location), "Location: %s/%s\r\n", prefix, id);
    return gw_reply_json_hdr(r, 201, row, location);
}
