/* /api/v1/sources: incoming webhook sources (the receiving side lives in
 * gw_routes_incoming.c).
 *
 * A source says how requests to /api/v1/incoming/{id} are authenticated (`verification`),
 * where the event type comes from (`event_type`) and, optionally, the JSON Schema the payload
 * must match. Shapes come from schemas/api/source.schema.json (create) and
 * source-patch.schema.json (PATCH).
 *
 * The credential of a verification scheme (`secret`, basic auth's `password`, an API key's
 * `value`) is taken out of the object before anything is stored: it is sealed with the
 * master key ring into its own column (AAD "source.secret:<id>"), returned once by create,
 * and never again, nor logged. A create without one generates it; a PATCH that replaces
 * `verification` without one keeps the stored credential. Rows are rendered to JSON by
 * PostgreSQL (SOURCE_JSON), which never selects the sealed column. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_body.h"
#include "gw_db.h"
#include "gw_page.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_routes_sources.h"
#include "gw_schemas.h"
#include "gw_secrets.h"
#include "gw_source_schemas.h"
#include "gw_sql.h"
#include "hl/id.h"
#include "hl/jsonschema.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/sign.h"
#include "hl/banned.h"

#define SOURCE_JSON                                                                                \
    "json_build_object('id', id, 'name', name, 'description', description, 'status', status,"    \
    " 'verification', verification, 'event_type', event_type, 'schema', schema,"                   \
    " 'rate_limit_per_s', rate_limit_per_s, 'incoming_path', '/api/v1/incoming/' || id,"         \
    " 'created_at', " GW_TS("created_at") ", 'updated_at', " GW_TS("updated_at") ")"

/* $1 tenant, $2 id, $3 the checked body (jsonb), $4 the new sealed secret or NULL. */
#define UPDATE_SQL                                                                                 \
    "UPDATE sources SET"                                                                           \
    " name = coalesce(b->>'name', name),"                                                          \
    " description = coalesce(b->>'description', description),"                                   \
    " status = coalesce(b->>'status', status),"                                                    \
    " verification = coalesce(b->'verification', verification),"                                 \
    " secret = coalesce($4, secret),"                                                              \
    " event_type = coalesce(b->'event_type', event_type),"                                        \
    " schema = CASE WHEN b ? 'schema' THEN nullif(b->'schema', 'null') ELSE schema END,"          \
    " rate_limit_per_s = CASE WHEN b ? 'rate_limit_per_s' THEN (b->>'rate_limit_per_s')::int"      \
    "   ELSE rate_limit_per_s END,"                                                                \
    " updated_at = now()"                                                                          \
    " FROM (SELECT $3::jsonb AS b) body WHERE tenant_id = $1 AND id = $2"                         \
    " RETURNING " SOURCE_JSON

/* $1 tenant, $2 id, $3 the checked body (jsonb, event_type filled in), $4 the sealed secret. */
#define INSERT_SQL                                                                                 \
    "INSERT INTO sources (id, tenant_id, name, description, status, verification, secret,"       \
    " event_type, schema, rate_limit_per_s)"                                                       \
    " SELECT $2, $1, coalesce(b->>'name', ''), coalesce(b->>'description', ''),"                 \
    " coalesce(b->>'status', 'active'), b->'verification', $4, b->'event_type',"                  \
    " nullif(b->'schema', 'null'), (b->>'rate_limit_per_s')::int"                                  \
    " FROM (SELECT $3::jsonb AS b) body RETURNING " SOURCE_JSON

#define DEFAULT_EVENT_TYPE "incoming.received"

/* The member of a verification object that holds its credential. */
static const char *credential_field(const char *type)
{
    if (strcmp(type, "basic") == 0)
        return "password";
    if (strcmp(type, "api_key") == 0)
        return "value";
    return "secret";
}

/* A checked body's verification, made ready to store: defaults filled in and the credential
 * moved out into *cred (malloc'd, NULL when the body gave none). */
static void take_credential(json_t *verification, char **cred)
{
    *cred = NULL;
    if (!verification)
        return;
    const char *type = json_string_value(json_object_get(verification, "type"));
    const char *field = credential_field(type);
    json_t *c = json_object_get(verification, field);
    if (c) {
        *cred = hl_xstrdup(json_string_value(c));
        json_object_del(verification, field);
    }
    if (strcmp(type, "hmac") == 0) {
        if (!json_object_get(verification, "algorithm"))
            json_object_set_new(verification, "algorithm", json_string("sha256"));
        if (!json_object_get(verification, "encoding"))
            json_object_set_new(verification, "encoding", json_string("hex"));
        if (!json_object_get(verification, "prefix"))
            json_object_set_new(verification, "prefix", json_string(""));
    } else if (strcmp(type, "stripe") == 0 || strcmp(type, "standard_webhooks") == 0) {
        if (!json_object_get(verification, "tolerance_s"))
            json_object_set_new(verification, "tolerance_s", json_integer(GW_SOURCE_TOLERANCE_S));
    }
}

static void free_credential(char *cred)
{
    if (cred) {
        OPENSSL_cleanse(cred, strlen(cred));
        free(cred);
    }
}

/* What the schema cannot check: a Standard Webhooks secret must decode. Appends to e. */
static void check_credential(const json_t *verification, const char *cred, struct gw_errors *e)
{
    char why[256];
    struct hl_secret s;
    const char *type = json_string_value(json_object_get(verification, "type"));
    if (cred && strcmp(type, "standard_webhooks") == 0 &&
        hl_whsec_decode(cred, &s, why, sizeof(why)) != HL_OK)
        gw_errors_add(e, "/verification/secret", "%s", why);
    OPENSSL_cleanse(&s, sizeof(s));
}

/* Whether the stored credential of the tenant's source id decodes as a whsec_ secret (for
 * a PATCH switching to Standard Webhooks without giving one). 1 yes, 0 no, -1 no such
 * source, -2 the store failed, -3 the stored credential does not open (logged with the
 * source and key ids). */
static int stored_is_whsec(struct gw_req *r, const char *id)
{
    char err[256], aad[GW_SOURCE_AAD_LEN], key_id[HL_KEYRING_ID_MAX + 1] = "?";
    PGconn *conn = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!conn)
        return -2;
    const char *params[] = {r->who.tenant, id};
    PGresult *res = PQexecParams(conn,
                                 "SELECT secret FROM sources WHERE tenant_id = $1 AND id = $2", 2,
                                 NULL, params, NULL, NULL, 0);
    int rc = -2;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 0) {
        rc = -1;
    } else if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        struct hl_buf plain = HL_BUF_INIT;
        struct hl_secret s;
        gw_source_aad(id, aad);
        if (hl_keyring_open(&r->ctx->keyring, aad, PQgetvalue(res, 0, 0), &plain, err,
                            sizeof(err)) != HL_OK) {
            hl_sealed_key_id(PQgetvalue(res, 0, 0), key_id);
            hl_log(HL_LOG_ERROR, "sources",
                   "cannot open the credential of source '%s' sealed under master key '%s': %s",
                   id, key_id, err);
            rc = -3;
        } else {
            rc = hl_whsec_decode(hl_buf_str(&plain), &s, err, sizeof(err)) == HL_OK;
        }
        OPENSSL_cleanse(&s, sizeof(s));
        hl_buf_wipe(&plain);
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return rc;
}

static int not_found(struct gw_req *r, const char *id)
{
    return gw_reply_not_found(r, "no source '%s'", id);
}

/* A PATCH that switches to Standard Webhooks without a secret keeps the stored one, which
 * must then be a whsec_ secret. Returns 0 (errors appended to e) or the status sent. */
static int check_kept_credential(struct gw_req *r, const char *id, struct gw_errors *e)
{
    int rc = stored_is_whsec(r, id);
    if (rc == -1)
        return not_found(r, id);
    if (rc == -2)
        return gw_reply_db_error(r, "sources", "source store", NULL);
    if (rc == -3) /* it cannot be kept: the caller resolves this by giving one */
        return gw_reply_problem(r, 409, "conflict", "Conflict",
                                "the stored credential of source '%s' cannot be opened, "
                                "so it cannot be kept: give a 'secret' with the verification",
                                id);
    if (rc == 0)
        gw_errors_add(e, "/verification/secret",
                      "the stored secret is not a 'whsec_' secret: give one");
    return 0;
}

/* The opening create and PATCH share: the body checked against its schema, the credential
 * taken out of its verification (into *cred) and checked, its payload schema compiled.
 * patch_id: the source whose stored credential a PATCH keeps when it gives none (NULL for
 * create). Returns 0, or the status of the reply sent; the caller frees *body and *cred
 * (free_credential) either way. */
static int take_body(struct gw_req *r, const char *schema, const char *what,
                     const char *patch_id, json_t **body, char **cred)
{
    struct gw_errors e;
    int status;
    *cred = NULL;
    if (!(*body = gw_body_object(r)))
        return 400;
    if ((status = gw_validate(r, schema, *body, what)))
        return status;
    gw_errors_init(&e);
    json_t *ver = json_object_get(*body, "verification");
    take_credential(ver, cred);
    if (patch_id && ver && !*cred &&
        strcmp(json_string_value(json_object_get(ver, "type")), "standard_webhooks") == 0 &&
        (status = check_kept_credential(r, patch_id, &e)))
        goto out;
    check_credential(ver, *cred, &e);
    if (gw_errors_any(&e))
        status = gw_reply_invalid(r, &e, what);
    else
        status = gw_check_payload_schema(r, *body);
out:
    gw_errors_release(&e);
    return status;
}

static int create(struct gw_req *r, const char *unused)
{
    char id[HL_UUID_LEN], aad[GW_SOURCE_AAD_LEN], generated[HL_WHSEC_MAX_LEN] = "";
    char *cred = NULL, *sealed = NULL, *b = NULL;
    json_t *body = NULL;
    int status;
    if ((status = take_body(r, "source", "the source is not valid", NULL, &body, &cred)))
        goto out;
    if (!json_object_get(body, "event_type"))
        json_object_set_new(body, "event_type", json_pack("{s:s, s:s}", "from", "fixed", "value",
                                                          DEFAULT_EVENT_TYPE));

    hl_uuid_v7(id);
    gw_source_aad(id, aad);
    if (!cred)
        hl_whsec_generate(generated);
    const char *plain = cred ? cred : generated;
    sealed = hl_keyring_seal(&r->ctx->keyring, aad, plain, strlen(plain));
    b = json_dumps(body, JSON_COMPACT);
    const char *params[] = {r->who.tenant, id, b, sealed};
    json_t *src;
    if ((status = gw_query_row(r, INSERT_SQL, 4, params, &src)))
        goto out;
    json_t *v = json_object_get(src, "verification");
    json_object_set_new(v, credential_field(json_string_value(json_object_get(v, "type"))),
                        json_string(plain));
    hl_log(HL_LOG_INFO, "sources", "created source '%s' for tenant '%s'", id, r->who.tenant);
    status = gw_reply_created(r, "/api/v1/sources", id, src);
out:
    OPENSSL_cleanse(generated, sizeof(generated));
    free_credential(cred);
    free(sealed);
    free(b);
    json_decref(body);
    return status;
}

static int patch(struct gw_req *r, const char *id)
{
    char aad[GW_SOURCE_AAD_LEN];
    char *cred = NULL, *sealed = NULL, *b = NULL;
    json_t *body = NULL;
    int status;
    if ((status = take_body(r, "source-patch", "the source update is not valid", id, &body,
                            &cred)))
        goto out;
    if (cred) {
        gw_source_aad(id, aad);
        sealed = hl_keyring_seal(&r->ctx->keyring, aad, cred, strlen(cred));
    }
    b = json_dumps(body, JSON_COMPACT);
    const char *params[] = {r->who.tenant, id, b, sealed};
    json_t *src;
    if ((status = gw_query_row(r, UPDATE_SQL, 4, params, &src)))
        goto out;
    if (!src) {
        status = not_found(r, id);
    } else {
        gw_source_schema_forget(id);
        hl_log(HL_LOG_INFO, "sources", "updated source '%s'%s", id,
               cred ? " (new credential)" : "");
        status = gw_reply_json(r, 200, src);
    }
out:
    free_credential(cred);
    free(sealed);
    free(b);
    json_decref(body);
    return status;
}

static int get_one(struct gw_req *r, const char *id)
{
    const char *params[] = {r->who.tenant, id};
    json_t *src;
    int status = gw_query_row(
        r, "SELECT " SOURCE_JSON " FROM sources WHERE tenant_id = $1 AND id = $2", 2, params,
        &src);
    if (status)
        return status;
    return src ? gw_reply_json(r, 200, src) : not_found(r, id);
}

static int delete_one(struct gw_req *r, const char *id)
{
    const char *params[] = {r->who.tenant, id};
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(
        r, &conn, "DELETE FROM sources WHERE tenant_id = $1 AND id = $2 RETURNING id", 2, params);
    if (!res)
        return 503;
    int status;
    if (PQntuples(res) == 0) {
        status = not_found(r, id);
    } else {
        gw_source_schema_forget(id);
        hl_log(HL_LOG_INFO, "sources", "deleted source '%s'", id);
        status = gw_reply_no_content(r);
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

static int list(struct gw_req *r, const char *unused)
{
    char status_f[16] = "";
    bool has_status = gw_query(r, "status", status_f, sizeof(status_f)) && status_f[0];
    if (has_status && strcmp(status_f, "active") && strcmp(status_f, "disabled"))
        return gw_reply_invalid1(r, "", "query parameter 'status' must be active or disabled",
                                 "invalid query parameter");
    const char *filters[] = {has_status ? status_f : NULL};
    return gw_reply_page(r,
                         "SELECT " SOURCE_JSON " FROM sources WHERE tenant_id = $1"
                         " AND ($3::uuid IS NULL OR id > $3::uuid)"
                         " AND ($4::text IS NULL OR status = $4) ORDER BY id LIMIT $2",
                         r->who.tenant, filters, 1);
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_DB, list},
    {"POST", "", GW_PERM_NONE, GW_ROUTE_DB, create},
    {"GET", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, get_one},
    {"PATCH", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, patch},
    {"DELETE", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, delete_one},
};

const struct gw_resource gw_res_sources = {
    .prefix = "/api/v1/sources",
    .read_perm = GW_PERM_READ,
    .write_perm = GW_PERM_WRITE,
    .param_ok = gw_uuid_like,
    .not_found = "no source '%s'",
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};
