/* /api/v1/extensions: extension registrations (seed 000's contract): extension_key
 * (unique per tenant), display_name, version, status (active by default), capabilities[],
 * and an optional webhook_id linking the extension to the webhook it receives events
 * through, which must be a webhook of the same tenant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "gw_body.h"
#include "gw_db.h"
#include "gw_page.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_routes_extensions.h"
#include "gw_schemas.h"
#include "gw_sql.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/banned.h"

#define EXTENSION_JSON                                                                             \
    "json_build_object('id', id, 'extension_key', extension_key, 'display_name', display_name,"  \
    " 'version', version, 'status', status, 'capabilities', capabilities,"                         \
    " 'webhook_id', webhook_id, 'created_at', " GW_TS("created_at") ", 'updated_at', "             \
    GW_TS("updated_at") ")"

/* $1 tenant, $2 id, $3 body: absent fields keep their value; webhook_id null unlinks.
 * The webhook must belong to the tenant, or the row is not written (reported as 422). */
#define WRITE_SQL                                                                                  \
    "UPDATE extensions SET display_name = coalesce(b->>'display_name', display_name),"           \
    " version = coalesce(b->>'version', version), status = coalesce(b->>'status', status),"       \
    " capabilities = CASE WHEN b ? 'capabilities' THEN"                                            \
    "   ARRAY(SELECT jsonb_array_elements_text(b->'capabilities')) ELSE capabilities END,"        \
    " webhook_id = CASE WHEN b ? 'webhook_id' THEN (b->>'webhook_id')::uuid ELSE webhook_id END,"  \
    " updated_at = now() FROM (SELECT $3::jsonb AS b) body"                                        \
    " WHERE tenant_id = $1 AND id = $2 AND (NOT b ? 'webhook_id' OR b->>'webhook_id' IS NULL"      \
    "   OR EXISTS (SELECT 1 FROM webhooks w WHERE w.id = (b->>'webhook_id')::uuid"                 \
    "   AND w.tenant_id = $1)) RETURNING " EXTENSION_JSON

static int unknown_webhook(struct gw_req *r)
{
    struct gw_errors e;
    gw_errors_init(&e);
    gw_errors_add(&e, "/webhook_id", "names no webhook of yours");
    int st = gw_reply_unprocessable(r, &e, "the extension links to an unknown webhook");
    gw_errors_release(&e);
    return st;
}

static int create(struct gw_req *r, const char *unused)
{
    int status;
    char err[256], id[HL_UUID_LEN];
    PGconn *conn = NULL;
    PGresult *res = NULL;
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if ((status = gw_validate(r, "extension", body, "the extension is not valid")))
        goto out;
    if (!(conn = gw_db_acquire(r->ctx->db, err, sizeof(err)))) {
        status = gw_reply_db_unreachable(r, "store");
        goto out;
    }
    hl_uuid_v7(id);
    const char *ins[] = {id, r->who.tenant,
                         json_string_value(json_object_get(body, "extension_key")),
                         json_string_value(json_object_get(body, "display_name")),
                         json_string_value(json_object_get(body, "version"))};
    PQclear(PQexec(conn, "BEGIN"));
    res = PQexecParams(conn,
                       "INSERT INTO extensions (id, tenant_id, extension_key, display_name,"
                       " version) VALUES ($1, $2, $3, $4, $5)"
                       " ON CONFLICT (tenant_id, extension_key) DO NOTHING",
                       5, NULL, ins, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        status = gw_reply_db_error(r, "extensions", "store", res);
        goto rollback;
    }
    if (strcmp(PQcmdTuples(res), "0") == 0) {
        status = gw_reply_problem(r, 409, "conflict", "Conflict",
                                  "extension_key '%s' is registered already", ins[2]);
        goto rollback;
    }
    PQclear(res);
    char *b = json_dumps(body, JSON_COMPACT);
    const char *upd[] = {r->who.tenant, id, b};
    res = PQexecParams(conn, WRITE_SQL, 3, NULL, upd, NULL, NULL, 0);
    free(b);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        status = gw_reply_db_error(r, "extensions", "store", res);
        goto rollback;
    }
    if (PQntuples(res) == 0) {
        status = unknown_webhook(r);
        goto rollback;
    }
    json_t *ext = gw_row_json(res, 0);
    PQclear(PQexec(conn, "COMMIT"));
    hl_log(HL_LOG_INFO, "extensions", "registered extension '%s' (%s)", ins[2], id);
    status = gw_reply_json(r, 201, ext);
    goto out;
rollback:
    PQclear(PQexec(conn, "ROLLBACK"));
out:
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    json_decref(body);
    return status;
}

static int list(struct gw_req *r, const char *unused)
{
    return gw_reply_page(r,
                         "SELECT " EXTENSION_JSON " FROM extensions WHERE tenant_id = $1"
                         " AND ($3::uuid IS NULL OR id > $3::uuid) ORDER BY id LIMIT $2",
                         r->who.tenant, NULL, 0);
}

/* The answer to a statement on one extension (res NULL: gw_query_json replied 503): the
 * extension (204 for a delete), or 404. A PATCH that links a webhook and touched nothing
 * says which of the two is missing. */
static int answer(struct gw_req *r, PGconn *conn, PGresult *res, const char *id,
                  const json_t *patch, bool deleted)
{
    int status;
    if (!res)
        return 503;
    const json_t *wh = patch ? json_object_get(patch, "webhook_id") : NULL;
    if (PQntuples(res) == 1)
        status = deleted ? gw_reply_no_content(r) : gw_reply_json(r, 200, gw_row_json(res, 0));
    else if (wh && !json_is_null(wh) && gw_query_exists(r, "extensions", id))
        status = unknown_webhook(r);
    else
        status = gw_reply_not_found(r, "no extension '%s'", id);
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

static int get_one(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant, id};
    PGresult *res = gw_query_json(r, &conn,
                                  "SELECT " EXTENSION_JSON " FROM extensions WHERE tenant_id = $1"
                                  " AND id = $2",
                                  2, params);
    return answer(r, conn, res, id, NULL, false);
}

static int patch_one(struct gw_req *r, const char *id)
{
    int status;
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if (!(status = gw_validate(r, "extension-patch", body, "the update is not valid"))) {
        char *b = json_dumps(body, JSON_COMPACT);
        const char *params[] = {r->who.tenant, id, b};
        PGconn *conn = NULL;
        PGresult *res = gw_query_json(r, &conn, WRITE_SQL, 3, params);
        free(b);
        status = answer(r, conn, res, id, body, false);
    }
    json_decref(body);
    return status;
}

static int delete_one(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant, id};
    PGresult *res = gw_query_json(r, &conn,
                                  "DELETE FROM extensions WHERE tenant_id = $1 AND id = $2"
                                  " RETURNING id",
                                  2, params);
    return answer(r, conn, res, id, NULL, true);
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_DB, list},
    {"POST", "", GW_PERM_NONE, GW_ROUTE_DB, create},
    {"GET", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, get_one},
    {"PATCH", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, patch_one},
    {"DELETE", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, delete_one},
};

const struct gw_resource gw_res_extensions = {
    .prefix = "/api/v1/extensions",
    .read_perm = GW_PERM_READ,
    .write_perm = GW_PERM_WRITE,
    .param_ok = gw_uuid_like,
    .not_found = "no such extension",
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};
