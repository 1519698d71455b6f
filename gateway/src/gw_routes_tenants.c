/* /api/v1/tenants: tenant management, for admins. A tenant key may read its own tenant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "gw_auth.h"
#include "gw_body.h"
#include "gw_db.h"
#include "gw_page.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_routes_tenants.h"
#include "gw_schemas.h"
#include "gw_sql.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/banned.h"

#define TENANT_JSON                                                                                \
    "json_build_object('id', id, 'name', name, 'metadata', metadata,"                             \
    " 'allow_unlisted_event_types', allow_unlisted_event_types, 'created_at', "                   \
    GW_TS("created_at") ", 'updated_at', " GW_TS("updated_at") ")"

static int create(struct gw_req *r, const char *unused)
{
    PGconn *conn = NULL;
    int status;
    char idbuf[HL_UUID_LEN];
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if ((status = gw_validate(r, "tenant", body, "the tenant is not valid")))
        goto out;
    json_t *jid = json_object_get(body, "id");
    if (!jid)
        hl_uuid_v7(idbuf);
    const char *id = jid ? json_string_value(jid) : idbuf;
    json_t *meta = json_object_get(body, "metadata");
    char *meta_s = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_t *unlisted = json_object_get(body, "allow_unlisted_event_types");
    const char *params[] = {id, json_string_value(json_object_get(body, "name")),
                            meta_s ? meta_s : "{}", json_is_true(unlisted) ? "true" : "false"};
    PGresult *res = gw_query_json(r, &conn,
                                  "INSERT INTO tenants (id, name, metadata,"
                                  " allow_unlisted_event_types) VALUES ($1, $2, $3, $4)"
                                  " ON CONFLICT (id) DO NOTHING RETURNING " TENANT_JSON,
                                  4, params);
    free(meta_s);
    if (!res) {
        status = 503;
        goto out;
    }
    if (PQntuples(res) == 0) {
        status = gw_reply_problem(r, 409, "conflict", "Conflict", "tenant '%s' exists already",
                                  id);
    } else {
        hl_log(HL_LOG_INFO, "tenants", "created tenant '%s'", id);
        status = gw_reply_json(r, 201, gw_row_json(res, 0));
    }
    PQclear(res);
out:
    gw_db_release(r->ctx->db, conn);
    json_decref(body);
    return status;
}

static int list(struct gw_req *r, const char *unused)
{
    char cursor[80] = "", limit_s[24];
    long limit;
    bool has_cursor;
    /* Tenant ids are not UUIDs, so page by id without gw_page_params's cursor check. */
    int st = gw_page_params(r, &limit, NULL, 0, &has_cursor);
    if (st)
        return st;
    has_cursor = gw_query(r, "cursor", cursor, sizeof(cursor)) && cursor[0];
    snprintf(limit_s, sizeof(limit_s), "%ld", limit + 1);
    const char *params[] = {limit_s, has_cursor ? cursor : NULL};
    return gw_reply_page_query(r,
                               "SELECT " TENANT_JSON " FROM tenants WHERE ($2::text IS NULL"
                               " OR id > $2) ORDER BY id LIMIT $1",
                               2, params, limit);
}

/* The answer to a statement on one tenant (res NULL: gw_query_json replied 503). */
static int answer(struct gw_req *r, PGconn *conn, PGresult *res, const char *id, bool deleted)
{
    int status;
    if (!res)
        return 503;
    if (PQntuples(res) == 0) {
        status = gw_reply_not_found(r, "no tenant '%s'", id);
    } else if (deleted) {
        gw_auth_forget(r->ctx->auth); /* its keys went with it */
        status = gw_reply_no_content(r);
    } else {
        status = gw_reply_json(r, 200, gw_row_json(res, 0));
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

static int get_one(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {id};
    PGresult *res = gw_query_json(r, &conn, "SELECT " TENANT_JSON " FROM tenants WHERE id = $1",
                                  1, params);
    return answer(r, conn, res, id, false);
}

static int patch_one(struct gw_req *r, const char *id)
{
    int status;
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if (!(status = gw_validate(r, "tenant-patch", body, "the tenant update is not valid"))) {
        json_t *name = json_object_get(body, "name");
        json_t *meta = json_object_get(body, "metadata");
        char *meta_s = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
        json_t *unlisted = json_object_get(body, "allow_unlisted_event_types");
        const char *params[] = {id, name ? json_string_value(name) : NULL, meta_s,
                                unlisted ? (json_is_true(unlisted) ? "true" : "false") : NULL};
        PGconn *conn = NULL;
        PGresult *res = gw_query_json(r, &conn,
                                      "UPDATE tenants SET name = coalesce($2, name),"
                                      " metadata = coalesce($3::jsonb, metadata),"
                                      " allow_unlisted_event_types = coalesce($4::boolean,"
                                      " allow_unlisted_event_types),"
                                      " updated_at = now() WHERE id = $1 RETURNING " TENANT_JSON,
                                      4, params);
        free(meta_s);
        status = answer(r, conn, res, id, false);
    }
    json_decref(body);
    return status;
}

static int delete_one(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {id};
    PGresult *res = gw_query_json(r, &conn, "DELETE FROM tenants WHERE id = $1 RETURNING id", 1,
                                  params);
    return answer(r, conn, res, id, true);
}

/* The collection is for admins. A tenant's own readers may see their tenant; anyone else
 * gets 404 for another tenant, not 403. */
static int gate(struct gw_req *r, const char *rest)
{
    if (gw_allowed(r, GW_PERM_ADMIN))
        return 0;
    if (rest[0] == '\0' || strcmp(rest, "/") == 0)
        return gw_require(r, GW_PERM_ADMIN);
    const char *id = rest + 1;
    bool own = strcmp(id, r->who.tenant) == 0;
    if (strcmp(r->info->request_method, "GET") != 0 || !own || !gw_allowed(r, GW_PERM_READ))
        return own ? gw_require(r, GW_PERM_ADMIN) : gw_reply_not_found(r, "no tenant '%s'", id);
    return 0;
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_DB, list},
    {"POST", "", GW_PERM_NONE, GW_ROUTE_DB, create},
    {"GET", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, get_one},
    {"PATCH", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, patch_one},
    {"DELETE", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, delete_one},
};

const struct gw_resource gw_res_tenants = {
    .prefix = "/api/v1/tenants",
    .gate = gate,
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};
