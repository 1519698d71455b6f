/* /api/v1/event-types: the catalog of event types a tenant's webhooks may subscribe to,
 * each with an optional JSON Schema for its payload (compiled here before it is stored, so
 * a schema using a keyword Hookline does not implement is refused, never half-applied).
 * Built-in types (system.*, webhook.*) have no tenant and are read-only. Also serves
 * GET /api/v1/webhooks/events/available (seed 003). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
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

static int create(struct gw_req *r)
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
        struct gw_errors e;
        gw_errors_init(&e);
        gw_errors_add(&e, "/name", "is required");
        status = gw_reply_invalid(r, &e, "the event type is not valid");
        gw_errors_release(&e);
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

static int list(struct gw_req *r)
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

static int one(struct gw_req *r, const char *name)
{
    const char *m = r->info->request_method;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    json_t *body = NULL;
    char *schema = NULL;
    int status;
    const char *params[5] = {r->who.tenant, name};

    if (strcmp(m, "GET") == 0) {
        res = gw_query_json(r, &conn,
                            "SELECT " EVENT_TYPE_JSON " FROM event_types WHERE name = $2 AND"
                            " (tenant_id = $1 OR tenant_id IS NULL)",
                            2, params);
    } else if (strcmp(m, "PATCH") == 0) {
        if ((status = gw_require(r, GW_PERM_WRITE)))
            return status;
        if (!(body = gw_body_object(r)))
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
        schema = dump_or_null(json_object_get(body, "schema"));
        params[2] = desc ? json_string_value(desc) : NULL;
        params[3] = has_schema ? "1" : NULL;
        params[4] = dep ? (json_is_true(dep) ? "true" : "false") : NULL;
        const char *p6[] = {params[0], params[1], params[2], params[3], params[4], schema};
        res = gw_query_json(
            r, &conn,
            "UPDATE event_types SET description = coalesce($3, description),"
            " schema = CASE WHEN $4::text IS NULL THEN schema ELSE $6::jsonb END,"
            " deprecated = coalesce($5::boolean, deprecated), updated_at = now()"
            " WHERE tenant_id = $1 AND name = $2 RETURNING " EVENT_TYPE_JSON,
            6, p6);
    } else if (strcmp(m, "DELETE") == 0) {
        if ((status = gw_require(r, GW_PERM_WRITE)))
            return status;
        res = gw_query_json(r, &conn,
                            "DELETE FROM event_types WHERE tenant_id = $1 AND name = $2"
                            " RETURNING name",
                            2, params);
    } else {
        return gw_method_not_allowed(r, "GET, PATCH, DELETE");
    }
    if (!res) {
        status = 503;
        goto out;
    }
    if (PQntuples(res) > 0 && strcmp(m, "GET") != 0)
        gw_event_schemas_clear(); /* this gateway must not wait for its own NOTIFY */
    if (PQntuples(res) == 0)
        status = gw_reply_problem(r, 404, "not-found", "Not found",
                                  "no event type '%s' of yours", name);
    else if (strcmp(m, "DELETE") == 0)
        status = gw_reply_no_content(r);
    else
        status = gw_reply_json(r, 200, gw_row_json(res, 0));
    PQclear(res);
out:
    free(schema);
    gw_db_release(r->ctx->db, conn);
    json_decref(body);
    return status;
}

int gw_route_event_types(struct gw_req *r, const char *rest)
{
    const char *m = r->info->request_method;
    int st = gw_require(r, strcmp(m, "GET") == 0 ? GW_PERM_READ : GW_PERM_WRITE);
    if (st)
        return st;
    if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
        if (strcmp(m, "GET") == 0)
            return list(r);
        if (strcmp(m, "POST") == 0)
            return create(r);
        return gw_method_not_allowed(r, "GET, POST");
    }
    const char *name = rest + 1;
    if (!hl_event_type_valid(name))
        return gw_reply_problem(r, 404, "not-found", "Not found", "no such event type");
    return one(r, name);
}

int gw_event_types_available(struct gw_req *r)
{
    if (strcmp(r->info->request_method, "GET") != 0)
        return gw_method_not_allowed(r, "GET");
    int st = gw_require(r, GW_PERM_READ);
    if (st)
        return st;
    return list(r);
}
