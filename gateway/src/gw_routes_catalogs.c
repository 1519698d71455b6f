/* Built-in event-type catalogs: the event names of the systems Hookline replaces (the
 * seeds), so that a tenant moving from one gets its catalog in one call instead of one
 * POST /api/v1/event-types per name.
 *
 * The catalogs are the files schemas/catalogs/<name>.json, compiled into the binary at
 * build time (gateway/embed_file.cmake, as the OpenAPI document is): the list served is
 * the one this binary was built with and needs no file at run time. They are read-only;
 * importing copies a catalog's names into the tenant's own catalog (event_types), where
 * they are ordinary tenant types from then on. Importing is idempotent: names the tenant
 * has already are reported as existing, names of built-in types (system.webhook.test) as
 * builtin, and neither is touched. */
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
#include "gw_routes_catalogs.h"
#include "gw_schemas.h"
#include "gw_sql.h"
#include "hl/log.h"
#include "hl/banned.h"

#define CATALOG(n)                                                                                 \
    extern const unsigned char gw_catalog_##n[];                                                   \
    extern const size_t gw_catalog_##n##_len;
CATALOG(stacksos)
CATALOG(systemprompt)
CATALOG(epic81)
CATALOG(xavyo)
#undef CATALOG

static const struct {
    const char *name;
    const unsigned char *text;
    const size_t *len;
} catalogs[] = {
#define CATALOG(n) {#n, gw_catalog_##n, &gw_catalog_##n##_len}
    CATALOG(stacksos),
    CATALOG(systemprompt),
    CATALOG(epic81),
    CATALOG(xavyo),
#undef CATALOG
};

/* The catalog called name, parsed (the caller owns it), or NULL. */
static json_t *catalog_load(const char *name)
{
    for (size_t i = 0; i < sizeof(catalogs) / sizeof(catalogs[0]); i++) {
        if (strcmp(catalogs[i].name, name) != 0)
            continue;
        json_error_t je;
        json_t *c = json_loadb((const char *)catalogs[i].text, *catalogs[i].len, 0, &je);
        if (!c)
            hl_log(HL_LOG_ERROR, "catalogs", "built-in catalog '%s' does not parse: %s", name,
                   je.text);
        return c;
    }
    return NULL;
}

static int list(struct gw_req *r, const char *unused)
{
    json_t *data = json_array();
    for (size_t i = 0; i < sizeof(catalogs) / sizeof(catalogs[0]); i++) {
        json_t *c = catalog_load(catalogs[i].name);
        if (c)
            json_array_append_new(data, c);
    }
    return gw_reply_json(r, 200, json_pack("{s:o, s:n}", "data", data, "next_cursor"));
}

static bool catalog_name_ok(const char *name)
{
    for (size_t i = 0; i < sizeof(catalogs) / sizeof(catalogs[0]); i++)
        if (strcmp(catalogs[i].name, name) == 0)
            return true;
    return false;
}

static int get_one(struct gw_req *r, const char *name)
{
    json_t *c = catalog_load(name);
    if (!c)
        return gw_reply_not_found(r, "no built-in catalog '%s'", name);
    return gw_reply_json(r, 200, c);
}

/* One statement: what the tenant lacks is inserted (ON CONFLICT: a concurrent import of
 * the same name is no error), and the answer sorts every name of the catalog into
 * created, existing (the tenant's already) and builtin, in the catalog's order. */
#define IMPORT_SQL                                                                                 \
    "WITH c AS (SELECT e->>'name' AS name, coalesce(e->>'description', '') AS description, n"    \
    "   FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(e, n)),"                         \
    " ins AS (INSERT INTO event_types (tenant_id, name, description)"                              \
    "   SELECT $1, c.name, c.description FROM c WHERE NOT EXISTS (SELECT 1 FROM event_types et"    \
    "   WHERE et.name = c.name AND (et.tenant_id = $1 OR et.tenant_id IS NULL))"                   \
    "   ORDER BY c.n ON CONFLICT DO NOTHING RETURNING name)"                                       \
    " SELECT json_build_object('catalog', $3::text,"                                               \
    " 'created', coalesce((SELECT json_agg(c.name ORDER BY c.n) FROM c"                            \
    "   WHERE c.name IN (SELECT name FROM ins)), '[]'),"                                           \
    " 'existing', coalesce((SELECT json_agg(c.name ORDER BY c.n) FROM c WHERE EXISTS (SELECT 1"    \
    "   FROM event_types et WHERE et.name = c.name AND et.tenant_id = $1)), '[]'),"               \
    " 'builtin', coalesce((SELECT json_agg(c.name ORDER BY c.n) FROM c WHERE EXISTS (SELECT 1"     \
    "   FROM event_types et WHERE et.name = c.name AND et.tenant_id IS NULL)), '[]'))"

static int import(struct gw_req *r, const char *unused)
{
    int status;
    PGconn *conn = NULL;
    json_t *cat = NULL;
    char *types = NULL;
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if ((status = gw_validate(r, "event-type-import", body, "the import request is not valid")))
        goto out;
    const char *name = json_string_value(json_object_get(body, "catalog"));
    if (!(cat = catalog_load(name))) {
        status = gw_reply_invalid1(r, "/catalog", "is not a built-in catalog (see "
                                   "GET /api/v1/event-type-catalogs)",
                                   "the import request is not valid");
        goto out;
    }
    types = json_dumps(json_object_get(cat, "event_types"), JSON_COMPACT);
    const char *params[] = {r->who.tenant, types, name};
    PGresult *res = gw_query_json(r, &conn, IMPORT_SQL, 3, params);
    if (!res) {
        status = 503;
        goto out;
    }
    json_t *report = gw_row_json(res, 0);
    PQclear(res);
    size_t created = json_array_size(json_object_get(report, "created"));
    if (created) {
        gw_event_schemas_clear(); /* this gateway must not wait for its own NOTIFY */
        hl_log(HL_LOG_INFO, "catalogs", "tenant '%s' imported %zu event types of '%s'",
               r->who.tenant, created, name);
    }
    status = gw_reply_json(r, 200, report);
out:
    gw_db_release(r->ctx->db, conn);
    free(types);
    json_decref(cat);
    json_decref(body);
    return status;
}

static const struct gw_route catalog_routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_HEAD, list},
    {"GET", "/{name}", GW_PERM_NONE, GW_ROUTE_HEAD, get_one},
};

const struct gw_resource gw_res_event_type_catalogs = {
    .prefix = "/api/v1/event-type-catalogs",
    .read_perm = GW_PERM_READ,
    .write_perm = GW_PERM_WRITE,
    .param_ok = catalog_name_ok,
    .not_found = "no built-in catalog '%s'",
    .routes = catalog_routes,
    .nroutes = GW_NROUTES(catalog_routes),
};

/* Before gw_res_event_types in gw_routes.c, whose /{name} would claim "import". */
static const struct gw_route import_routes[] = {
    {"POST", "", GW_PERM_NONE, GW_ROUTE_DB, import},
};

const struct gw_resource gw_res_event_types_import = {
    .prefix = "/api/v1/event-types/import",
    .read_perm = GW_PERM_READ,
    .write_perm = GW_PERM_WRITE,
    .routes = import_routes,
    .nroutes = GW_NROUTES(import_routes),
};
