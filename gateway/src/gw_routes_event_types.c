/* /api/v1/event-types: the catalog of event types a tenant's webhooks may subscribe to,
 * each with an optional JSON Schema for its payload (compiled here before it is stored, so
 * a schema using a keyword Hookline does not implement is refused, never half-applied).
 * Built-in types (system.*, webhook.*) have no tenant and are read-only. Also serves
 * GET /api/v1/webhooks/events/available (seed 003). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "gw_body.h"
#include "gw_db.h"
#include "gw_event_schemas.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_routes_event_types.h"
#include "gw_schemas.h"
#include "gw_sql.h"
#include "hl/jsonschema.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/banned.h"

#define EVENT_TYPE_JSON                                                                            \
    "json_build_object('name', name, 'description', description, 'schema', schema,"              \
    " 'deprecated', deprecated, 'builtin', tenant_id IS NULL, 'created_at', "                      \
    GW_TS("created_at") ", 'updated_at', " GW_TS("updated_at") ")"

static char *dump_or_null(json_t *v)
{
    return v && !json_is_null(v) ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static int create(struct gw_req *r, const char *unused)
{
    int status;
    PGconn *conn = NULL;
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if ((status = gw_validate(r, "event-type", body, "the event type is not valid")))
        goto out;
    json_t *name = json_object_get(body, "name");
    if (!name) {
        status = gw_reply_invalid1(r, "/name", "is required", "the event type is not valid");
        goto out;
    }
    if ((status = gw_check_payload_schema(r, body)))
        goto out;
    json_t *desc = json_object_get(body, "description");
    json_t *dep = json_object_get(body, "deprecated");
    char *schema = dump_or_null(json_object_get(body, "schema"));
    const char *params[] = {r->who.tenant, json_string_value(name),
                            desc ? json_string_value(desc) : "", schema,
                            dep && json_is_true(dep) ? "true" : "false"};
    /* A tenant may not shadow a built-in type. */
    PGresult *res = gw_query_json(
        r, &conn,
        "INSERT INTO event_types (tenant_id, name, description, schema, deprecated)"
        " SELECT $1, $2, $3, $4::jsonb, $5::boolean WHERE NOT EXISTS (SELECT 1 FROM event_types"
        " WHERE name = $2 AND (tenant_id = $1 OR tenant_id IS NULL))"
        " RETURNING " EVENT_TYPE_JSON,
        5, params);
    free(schema);
    if (!res) {
        status = 503;
        goto out;
    }
    if (PQntuples(res) == 0)
        status = gw_reply_problem(r, 409, "conflict", "Conflict", "event type '%s' exists already",
                                  json_string_value(name));
    else {
        gw_event_schemas_clear(); /* this gateway must not wait for its own NOTIFY */
        status = gw_reply_json(r, 201, gw_row_json(res, 0));
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
out:
    json_decref(body);
    return status;
}

static int list(struct gw_req *r, const char *unused)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant};
    PGresult *res = gw_query_json(r, &conn,
                                  "SELECT " EVENT_TYPE_JSON " FROM event_types WHERE tenant_id = $1"
                                  " OR tenant_id IS NULL ORDER BY name",
                                  1, params);
    if (!res)
        return 503;
    json_t *data = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(data, gw_row_json(res, i));
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return gw_reply_json(r, 200, json_pack("{s:o, s:n}", "data", data, "next_cursor"));
}

/* The answer to a statement on one event type (res NULL: gw_query_json replied 503): 404
 * when it touched no type of the caller's, else the type (204 for a delete). A change
 * empties this gateway's schema cache at once: it must not wait for its own NOTIFY. */
static int answer(struct gw_req *r, PGconn *conn, PGresult *res, const char *name, bool change,
                  bool deleted)
{
    int status;
    if (!res)
        return 503;
    if (PQntuples(res) == 0) {
        status = gw_reply_not_found(r, "no event type '%s' of yours", name);
    } else {
        if (change)
            gw_event_schemas_clear();
        status = deleted ? gw_reply_no_content(r) : gw_reply_json(r, 200, gw_row_json(res, 0));
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

static int get_one(struct gw_req *r, const char *name)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant, name};
    PGresult *res = gw_query_json(r, &conn,
                                  "SELECT " EVENT_TYPE_JSON " FROM event_types WHERE name = $2"
                                  " AND (tenant_id = $1 OR tenant_id IS NULL)",
                                  2, params);
    return answer(r, conn, res, name, false, false);
}

static int patch_one(struct gw_req *r, const char *name)
{
    int status;
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if ((status = gw_validate(r, "event-type", body, "the event type update is not valid")))
        goto out;
    if (json_object_get(body, "name")) {
        status = gw_reply_problem(r, 400, "invalid-request", "Invalid request",
                                  "an event type cannot be renamed");
        goto out;
    }
    if ((status = gw_check_payload_schema(r, body)))
        goto out;
    json_t *desc = json_object_get(body, "description");
    json_t *dep = json_object_get(body, "deprecated");
    bool has_schema = json_object_get(body, "schema") != NULL;
    char *schema = dump_or_null(json_object_get(body, "schema"));
    const char *params[] = {r->who.tenant,
                            name,
                            desc ? json_string_value(desc) : NULL,
                            has_schema ? "1" : NULL,
                            dep ? (json_is_true(dep) ? "true" : "false") : NULL,
                            schema};
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(
        r, &conn,
        "UPDATE event_types SET description = coalesce($3, description),"
        " schema = CASE WHEN $4::text IS NULL THEN schema ELSE $6::jsonb END,"
        " deprecated = coalesce($5::boolean, deprecated), updated_at = now()"
        " WHERE tenant_id = $1 AND name = $2 RETURNING " EVENT_TYPE_JSON,
        6, params);
    free(schema);
    status = answer(r, conn, res, name, true, false);
out:
    json_decref(body);
    return status;
}

static int delete_one(struct gw_req *r, const char *name)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant, name};
    PGresult *res = gw_query_json(r, &conn,
                                  "DELETE FROM event_types WHERE tenant_id = $1 AND name = $2"
                                  " RETURNING name",
                                  2, params);
    return answer(r, conn, res, name, true, true);
}

static bool name_ok(const char *name)
{
    return hl_event_type_valid(name);
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_DB, list},
    {"POST", "", GW_PERM_NONE, GW_ROUTE_DB, create},
    {"GET", "/{name}", GW_PERM_NONE, GW_ROUTE_DB, get_one},
    {"PATCH", "/{name}", GW_PERM_NONE, GW_ROUTE_DB, patch_one},
    {"DELETE", "/{name}", GW_PERM_NONE, GW_ROUTE_DB, delete_one},
};

const struct gw_resource gw_res_event_types = {
    .prefix = "/api/v1/event-types",
    .read_perm = GW_PERM_READ,
    .write_perm = GW_PERM_WRITE,
    .param_ok = name_ok,
    .not_found = "no such event type",
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};

/* GET /api/v1/webhooks/events/available: the catalog, as seed 003 names it. The method is
 * checked before the role, as everywhere else under /webhooks it is not. */
static const struct gw_route available_routes[] = {
    {"GET", "", GW_PERM_READ, GW_ROUTE_DB, list},
};

const struct gw_resource gw_res_event_types_available = {
    .prefix = "/api/v1/webhooks/events/available",
    .routes = available_routes,
    .nroutes = GW_NROUTES(available_routes),
};
