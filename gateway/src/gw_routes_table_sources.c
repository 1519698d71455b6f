/* /api/v1/table-sources: change data capture from a tenant's PostgreSQL tables (the
 * streaming itself is hookline-cdc's; docs/table-events.md).
 *
 * The connection string is checked (libpq must parse it; its host must not be a Unix
 * socket nor an address SSRF protection blocks), then sealed with the master key ring into
 * its own column (AAD "table_source.connection:<id>") and never returned: the API shows
 * only its host, port, dbname and user (`connection`). Rows are rendered to JSON by
 * PostgreSQL (TABLE_SOURCE_JSON), which never selects the sealed column.
 *
 * Pause, resume, PATCH and delete only change the row; the worker holding the source hears the
 * NOTIFY and acts: a paused source keeps its slot (the user's server retains WAL until it
 * resumes), a deleted one is 'deleting' until the worker has dropped slot and publication
 * on the user's database and removed the row. Shapes: schemas/api/table-source.schema.json. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "gw_body.h"
#include "gw_db.h"
#include "gw_page.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_routes_table_sources.h"
#include "gw_schemas.h"
#include "gw_sql.h"
#include "hl/buf.h"
#include "hl/id.h"
#include "hl/keyring.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/ssrf.h"
#include "hl/banned.h"

#define TABLE_SOURCE_JSON                                                                          \
    "json_build_object('id', id, 'name', name, 'status', status, 'connection', connection_info," \
    " 'tables', tables, 'event_name', event_name,"                                                 \
    " 'created_at', " GW_TS("created_at") ", 'updated_at', " GW_TS("updated_at") ")"

#define STATUS_JSON                                                                                \
    "json_build_object('id', id, 'status', status, 'state', CASE WHEN status = 'paused'"         \
    " THEN 'paused' ELSE state END, 'detail', state_detail, 'confirmed_lsn', confirmed_lsn,"      \
    " 'lag_bytes', lag_bytes, 'worker', worker, 'reported_at', " GW_TS("state_at") ")"

/* $1 tenant, $2 id, $3 the checked body, $4 the sealed connection, $5 connection_info. */
#define INSERT_SQL                                                                                 \
    "INSERT INTO table_sources (id, tenant_id, name, status, connection, connection_info,"       \
    " tables, event_name)"                                                                         \
    " SELECT $2, $1, coalesce(b->>'name', ''), coalesce(b->>'status', 'active'), $4, $5::jsonb," \
    " b->'tables', coalesce(b->>'event_name', '{table}.{action}')"                               \
    " FROM (SELECT $3::jsonb AS b) body RETURNING " TABLE_SOURCE_JSON

/* What a PATCH checks against: the stored tables, pattern and status, and the version the
 * update then requires. $1 tenant, $2 id. */
#define CURRENT_SQL                                                                                \
    "SELECT json_build_object('tables', tables, 'event_name', event_name, 'status', status,"     \
    " 'version', updated_at::text) FROM table_sources WHERE tenant_id = $1 AND id = $2"

/* $1 tenant, $2 id, $3 the checked body, $4 the version it was checked against. The stream
 * restarts: its state is pending again until the worker reports. */
#define UPDATE_SQL                                                                                 \
    "UPDATE table_sources SET name = coalesce(b->>'name', name),"                                \
    " tables = coalesce(b->'tables', tables), event_name = coalesce(b->>'event_name', event_name)," \
    " updated_at = now(), state = CASE WHEN status = 'paused' THEN 'paused' ELSE 'pending' END,"  \
    " state_detail = ''"                                                                           \
    " FROM (SELECT $3::jsonb AS b) body WHERE tenant_id = $1 AND id = $2"                         \
    " AND status <> 'deleting' AND updated_at::text = $4 RETURNING " TABLE_SOURCE_JSON

#define EVENT_TYPE_RE "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$"

static int not_found(struct gw_req *r, const char *id)
{
    return gw_reply_problem(r, 404, "not-found", "Not found", "no table source '%s'", id);
}

/* The connection-string keywords a tenant may set. The others name files on the worker's
 * machine (passfile, sslcert, sslkey, sslrootcert, sslcrl, service...) that libpq would
 * read, and a client certificate or a password from them would go to the tenant's server. */
static bool keyword_allowed(const char *k)
{
    static const char *const ok[] = {
        "host", "hostaddr", "port", "dbname", "user", "password", "connect_timeout",
        "sslmode", "sslsni", "sslcompression", "channel_binding", "application_name",
        "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
        "tcp_user_timeout", "target_session_attrs", "options", "client_encoding",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(k, ok[i]) == 0)
            return true;
    return false;
}

/* Parses the connection string into its non-secret parts (*info, a new object, or NULL),
 * adding to e what makes it invalid (400) and to e422 a host that is not allowed. */
static void check_connection(const char *dsn, json_t **info, struct gw_errors *e,
                             struct gw_errors *e422)
{
    char *why = NULL;
    *info = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &why);
    if (!opts) {
        /* libpq's message may quote the string, password and all: say less. */
        gw_errors_add(e, "/connection", "is not a libpq connection string");
        PQfreemem(why);
        return;
    }
    *info = json_object();
    const char *host = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (!keyword_allowed(o->keyword)) {
            gw_errors_add(e, "/connection", "'%s' is not allowed in a table source's connection "
                          "string (nothing that names a file on the worker's machine)",
                          o->keyword);
            continue;
        }
        if (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0 ||
            strcmp(o->keyword, "port") == 0 || strcmp(o->keyword, "dbname") == 0 ||
            strcmp(o->keyword, "user") == 0)
            json_object_set_new(*info, o->keyword, json_string(o->val));
        if (strcmp(o->keyword, "hostaddr") == 0 || (!host && strcmp(o->keyword, "host") == 0))
            host = o->val;
        if (strcmp(o->keyword, "replication") == 0)
            gw_errors_add(e, "/connection", "must not set 'replication' (the worker does)");
    }
    char reason[256];
    if (!host || !*host) {
        gw_errors_add(e, "/connection", "must name a host (a Unix socket is never used)");
    } else if (host[0] == '/' || host[0] == '@' || strchr(host, ',')) {
        gw_errors_add(e, "/connection", "must name one TCP host, not a Unix socket or a list");
    } else if (hl_ssrf_host_blocked(host, &hl_ssrf_allow, reason, sizeof(reason))) {
        gw_errors_add(e422, "/connection", "the host is not allowed: %s", reason);
    }
    PQconninfoFree(opts);
}

/* An event type: dot-separated non-empty segments of letters, digits, '_' and '-' (the
 * pattern of schemas/event.schema.json), at most 128 characters. */
static bool event_type_ok(const char *s)
{
    size_t n = strlen(s), seg = 0;
    if (n == 0 || n > 128)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (seg == 0)
                return false;
            seg = 0;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-') {
            seg++;
        } else {
            return false;
        }
    }
    return seg > 0;
}

/* What the schema cannot check: table names unique, the event-name pattern valid for
 * every table and action. */
static void check_tables(const json_t *body, struct gw_errors *e)
{
    static const char *const actions[] = {"created", "updated", "deleted"};
    const char *pattern = json_string_value(json_object_get(body, "event_name"));
    json_t *tables = json_object_get(body, "tables");
    size_t i, j;
    json_t *t;
    json_array_foreach(tables, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        for (j = 0; j < i; j++)
            if (strcmp(name, json_string_value(json_object_get(json_array_get(tables, j),
                                                                "name"))) == 0) {
                char ptr[64];
                snprintf(ptr, sizeof(ptr), "/tables/%zu/name", i);
                gw_errors_add(e, ptr, "table '%s' is listed twice", name);
            }
        if (!pattern)
            continue;
        const char *dot = strchr(name, '.');
        for (int a = 0; a < 3; a++) {
            struct hl_buf b = HL_BUF_INIT;
            hl_buf_adds(&b, "");
            for (const char *p = pattern; *p;) {
                if (strncmp(p, "{schema}", 8) == 0) {
                    hl_buf_add(&b, name, (size_t)(dot - name));
                    p += 8;
                } else if (strncmp(p, "{table}", 7) == 0) {
                    hl_buf_adds(&b, dot + 1);
                    p += 7;
                } else if (strncmp(p, "{action}", 8) == 0) {
                    hl_buf_adds(&b, actions[a]);
                    p += 8;
                } else {
                    hl_buf_addch(&b, *p++);
                }
            }
            bool ok = event_type_ok(hl_buf_str(&b));
            if (!ok)
                gw_errors_add(e, "/event_name",
                              "gives '%s' for table '%s', which is not a valid event type "
                              "(dot-separated letters, digits, '_' and '-'; placeholders "
                              "{schema}, {table}, {action})",
                              hl_buf_str(&b), name);
            hl_buf_release(&b);
            if (!ok)
                return;
        }
    }
}

static int create(struct gw_req *r, const char *unused)
{
    char id[HL_UUID_LEN], aad[HL_AAD_MAX];
    char *sealed = NULL, *b = NULL, *info_s = NULL;
    json_t *info = NULL, *src;
    struct gw_errors e, e422;
    int status;
    gw_errors_init(&e);
    gw_errors_init(&e422);
    json_t *body = gw_body_object(r);
    if (!body) {
        status = 400;
        goto out;
    }
    if ((status = gw_validate(r, "table-source", body, "the table source is not valid")))
        goto out;
    const char *dsn = json_string_value(json_object_get(body, "connection"));
    check_connection(dsn, &info, &e, &e422);
    check_tables(body, &e);
    if (gw_errors_any(&e)) {
        status = gw_reply_invalid(r, &e, "the table source is not valid");
        goto out;
    }
    if (gw_errors_any(&e422)) {
        status = gw_reply_unprocessable(r, &e422, "the table source's database is not allowed");
        goto out;
    }
    hl_uuid_v7(id);
    hl_aad_table_source(aad, id);
    sealed = hl_keyring_seal(&r->ctx->keyring, aad, dsn, strlen(dsn));
    json_object_del(body, "connection"); /* the plain text goes no further */
    b = json_dumps(body, JSON_COMPACT);
    info_s = json_dumps(info, JSON_COMPACT);
    const char *params[] = {r->who.tenant, id, b, sealed, info_s};
    if ((status = gw_query_row(r, INSERT_SQL, 5, params, &src)))
        goto out;
    hl_log(HL_LOG_INFO, "table-sources", "created table source '%s' for tenant '%s'", id,
           r->who.tenant);
    status = gw_reply_created(r, "/api/v1/table-sources", id, src);
out:
    free(sealed);
    free(b);
    free(info_s);
    json_decref(info);
    gw_errors_release(&e);
    gw_errors_release(&e422);
    json_decref(body);
    return status;
}

/* PATCH: name, tables, event_name. The tables and the pattern are checked together, the
 * one the body leaves out as stored; the worker holding the source restarts its stream
 * (updated_at moved), sets the publication to the new tables and applies the new rules
 * from the slot's confirmed LSN on. The update only applies to the row as read (its
 * updated_at), so a concurrent change is a 409, never a mix of two checks. */
static int patch(struct gw_req *r, const char *id)
{
    char *b = NULL;
    json_t *cur = NULL, *merged = NULL, *src = NULL;
    struct gw_errors e;
    int status;
    gw_errors_init(&e);
    json_t *body = gw_body_object(r);
    if (!body) {
        status = 400;
        goto out;
    }
    if ((status = gw_validate(r, "table-source-patch", body,
                              "the table source update is not valid")))
        goto out;
    const char *read[] = {r->who.tenant, id};
    if ((status = gw_query_row(r, CURRENT_SQL, 2, read, &cur)))
        goto out;
    if (!cur) {
        status = not_found(r, id);
        goto out;
    }
    if (strcmp(json_string_value(json_object_get(cur, "status")), "deleting") == 0) {
        status = gw_reply_problem(r, 409, "conflict", "Conflict",
                                  "table source '%s' is being deleted", id);
        goto out;
    }
    merged = json_pack("{s:O, s:O}", "tables",
                       json_object_get(body, "tables") ? json_object_get(body, "tables")
                                                       : json_object_get(cur, "tables"),
                       "event_name",
                       json_object_get(body, "event_name") ? json_object_get(body, "event_name")
                                                           : json_object_get(cur, "event_name"));
    check_tables(merged, &e);
    if (gw_errors_any(&e)) {
        status = gw_reply_invalid(r, &e, "the table source update is not valid");
        goto out;
    }
    b = json_dumps(body, JSON_COMPACT);
    const char *params[] = {r->who.tenant, id, b,
                            json_string_value(json_object_get(cur, "version"))};
    if ((status = gw_query_row(r, UPDATE_SQL, 4, params, &src)))
        goto out;
    if (!src) {
        status = gw_reply_problem(r, 409, "conflict", "Conflict",
                                  "table source '%s' changed while this update was checked; "
                                  "read it again and retry", id);
        goto out;
    }
    hl_log(HL_LOG_INFO, "table-sources", "updated table source '%s'", id);
    status = gw_reply_json(r, 200, src);
out:
    free(b);
    json_decref(cur);
    json_decref(merged);
    gw_errors_release(&e);
    json_decref(body);
    return status;
}

/* One row as JSON: sql selects one JSON column from table_sources with $1 tenant, $2 id. */
static int reply_one(struct gw_req *r, const char *id, const char *sql, int ok_status)
{
    const char *params[] = {r->who.tenant, id};
    json_t *src;
    int status = gw_query_row(r, sql, 2, params, &src);
    if (status)
        return status;
    return src ? gw_reply_json(r, ok_status, src) : not_found(r, id);
}

static int get_one(struct gw_req *r, const char *id)
{
    return reply_one(r, id,
                     "SELECT " TABLE_SOURCE_JSON " FROM table_sources"
                     " WHERE tenant_id = $1 AND id = $2",
                     200);
}

static int get_status(struct gw_req *r, const char *id)
{
    return reply_one(r, id,
                     "SELECT " STATUS_JSON " FROM table_sources WHERE tenant_id = $1 AND id = $2",
                     200);
}

/* pause, resume: the worker restarts or stops the stream when updated_at moves. A source
 * being deleted stays so (409). */
static int set_status(struct gw_req *r, const char *id, const char *to)
{
    const char *params[] = {r->who.tenant, id, to};
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(
        r, &conn,
        "WITH cur AS (SELECT status FROM table_sources WHERE tenant_id = $1 AND id = $2),"
        " upd AS (UPDATE table_sources SET status = $3, updated_at = now(),"
        "  state = CASE WHEN $3 = 'paused' THEN 'paused' ELSE 'pending' END, state_detail = ''"
        "  WHERE tenant_id = $1 AND id = $2 AND status <> 'deleting' RETURNING " TABLE_SOURCE_JSON
        " AS j)"
        " SELECT coalesce((SELECT j FROM upd), 'null'::json), (SELECT status FROM cur)",
        3, params);
    if (!res)
        return 503;
    int status;
    if (PQgetisnull(res, 0, 1)) {
        status = not_found(r, id);
    } else if (strcmp(PQgetvalue(res, 0, 0), "null") == 0) {
        status = gw_reply_problem(r, 409, "conflict", "Conflict",
                                  "table source '%s' is being deleted", id);
    } else {
        hl_log(HL_LOG_INFO, "table-sources", "table source '%s' now %s", id, to);
        status = gw_reply_json(r, 200, gw_row_json(res, 0));
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

/* 202: the worker drops slot and publication, then the row; until then it is 'deleting'. */
static int delete_one(struct gw_req *r, const char *id)
{
    return reply_one(r, id,
                     "UPDATE table_sources SET status = 'deleting', updated_at = now(),"
                     " state = 'dropping', state_detail = ''"
                     " WHERE tenant_id = $1 AND id = $2 RETURNING " TABLE_SOURCE_JSON,
                     202);
}

static int list(struct gw_req *r, const char *unused)
{
    char status_f[16] = "";
    bool has_status = gw_query(r, "status", status_f, sizeof(status_f)) && status_f[0];
    if (has_status && strcmp(status_f, "active") && strcmp(status_f, "paused") &&
        strcmp(status_f, "deleting"))
        return gw_reply_invalid1(r, "", "query parameter 'status' must be active, paused or "
                                 "deleting", "invalid query parameter");
    const char *filters[] = {has_status ? status_f : NULL};
    return gw_reply_page(r,
                         "SELECT " TABLE_SOURCE_JSON " FROM table_sources WHERE tenant_id = $1"
                         " AND ($3::uuid IS NULL OR id > $3::uuid)"
                         " AND ($4::text IS NULL OR status = $4) ORDER BY id LIMIT $2",
                         r->who.tenant, filters, 1);
}

static int pause(struct gw_req *r, const char *id)
{
    return set_status(r, id, "paused");
}

static int resume(struct gw_req *r, const char *id)
{
    return set_status(r, id, "active");
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_DB, list},
    {"POST", "", GW_PERM_NONE, GW_ROUTE_DB, create},
    {"GET", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, get_one},
    {"PATCH", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, patch},
    {"DELETE", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, delete_one},
    {"GET", "/{id}/status", GW_PERM_NONE, GW_ROUTE_DB, get_status},
    {"POST", "/{id}/pause", GW_PERM_NONE, GW_ROUTE_DB, pause},
    {"POST", "/{id}/resume", GW_PERM_NONE, GW_ROUTE_DB, resume},
};

const struct gw_resource gw_res_table_sources = {
    .prefix = "/api/v1/table-sources",
    .read_perm = GW_PERM_READ,
    .write_perm = GW_PERM_WRITE,
    .param_ok = gw_uuid_like,
    .not_found = "no table source '%s'",
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};
