/* /api/v1/api-keys: API key management.
 *
 * Admins manage every key; a tenant_admin manages its own tenant's non-admin keys. A key is
 * returned once, at creation; afterwards only its prefix identifies it. Revocation
 * (DELETE) takes effect on every gateway at once (see gw_auth.c). */
#include <openssl/rand.h>
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
#include "gw_routes_api_keys.h"
#include "gw_schemas.h"
#include "gw_sql.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/sign.h"
#include "hl/banned.h"

#define KEY_RANDOM_BYTES 24
#define KEY_PREFIX_LEN 11 /* "hl_" + 8 characters, enough to tell keys apart in a list */

#define KEY_JSON                                                                                   \
    "json_build_object('id', id, 'tenant_id', tenant_id, 'name', name, 'role', role,"            \
    " 'key_prefix', key_prefix, 'rate_limit_per_s', rate_limit_per_s,"                            \
    " 'created_at', " GW_TS("created_at") ", 'revoked_at', "                                      \
    "CASE WHEN revoked_at IS NULL THEN NULL ELSE " GW_TS("revoked_at") " END)"

/* "hl_" + base64url of 24 random bytes. */
static void key_generate(char out[64])
{
    unsigned char raw[KEY_RANDOM_BYTES];
    char b64[64];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        abort();
    size_t n = hl_base64_encode(raw, sizeof(raw), b64);
    for (size_t i = 0; i < n; i++)
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    memcpy(out, "hl_", 3);
    memcpy(out + 3, b64, n + 1);
}

static void hex32(const unsigned char h[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[64] = '\0';
}

static int create(struct gw_req *r, const char *unused)
{
    struct gw_errors e;
    PGconn *conn = NULL;
    int status;
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    gw_errors_init(&e);
    if ((status = gw_validate(r, "api-key", body, "the API key request is not valid")))
        goto out;
    json_t *name = json_object_get(body, "name");
    gw_role role = gw_role_parse(json_string_value(json_object_get(body, "role")));

    /* Which tenant the key belongs to: a tenant_admin's own; an admin names it (in the body
     * or with X-Hookline-Tenant); admin keys belong to none. */
    json_t *jt = json_object_get(body, "tenant_id");
    const char *tenant = r->who.tenant[0] ? r->who.tenant : NULL;
    if (jt && r->who.role == GW_ROLE_ADMIN)
        tenant = json_string_value(jt);
    else if (jt && strcmp(json_string_value(jt), r->who.tenant) != 0)
        gw_errors_add(&e, "/tenant_id", "must be your own tenant");
    if (role == GW_ROLE_ADMIN) {
        if (r->who.role != GW_ROLE_ADMIN) {
            status = gw_reply_problem(r, 403, "forbidden", "Forbidden",
                                      "only admin keys may create admin keys");
            goto out;
        }
        if (jt)
            gw_errors_add(&e, "/tenant_id", "admin keys belong to no tenant");
        tenant = NULL;
    } else if (!tenant) {
        gw_errors_add(&e, "/tenant_id", "is required for a %s key", gw_role_name(role));
    }
    if (gw_errors_any(&e)) {
        status = gw_reply_invalid(r, &e, "the API key request is not valid");
        goto out;
    }

    char id[HL_UUID_LEN], secret[64], prefix[KEY_PREFIX_LEN + 1], hash_hex[65];
    unsigned char hash[32];
    hl_uuid_v7(id);
    key_generate(secret);
    memcpy(prefix, secret, KEY_PREFIX_LEN);
    prefix[KEY_PREFIX_LEN] = '\0';
    gw_key_hash(secret, hash);
    hex32(hash, hash_hex);
    char rate[24];
    json_t *jrate = json_object_get(body, "rate_limit_per_s");
    if (jrate)
        snprintf(rate, sizeof(rate), "%lld", (long long)json_number_value(jrate));
    const char *params[] = {id, tenant, name ? json_string_value(name) : "", gw_role_name(role),
                            prefix, hash_hex, jrate ? rate : NULL};
    PGresult *res = gw_query_json(
        r, &conn,
        "INSERT INTO api_keys (id, tenant_id, name, role, key_prefix, key_hash, rate_limit_per_s)"
        " SELECT $1, $2, $3, $4, $5, decode($6, 'hex'), $7::integer"
        " WHERE $2::text IS NULL OR EXISTS (SELECT 1 FROM tenants WHERE id = $2)"
        " RETURNING " KEY_JSON,
        7, params);
    if (!res) {
        status = 503;
        goto out;
    }
    if (PQntuples(res) == 0) {
        gw_errors_add(&e, "/tenant_id", "names no tenant");
        status = gw_reply_invalid(r, &e, "the API key request is not valid");
    } else {
        json_t *out = gw_row_json(res, 0);
        json_object_set_new(out, "key", json_string(secret));
        hl_log(HL_LOG_INFO, "api-keys", "created %s key '%s' (%s)", gw_role_name(role), id,
               prefix);
        status = gw_reply_json(r, 201, out);
    }
    PQclear(res);
out:
    gw_db_release(r->ctx->db, conn);
    gw_errors_release(&e);
    json_decref(body);
    return status;
}

/* Admins without a tenant see every key; everyone else only their tenant's. */
static const char *scope(struct gw_req *r)
{
    return r->who.role == GW_ROLE_ADMIN && !r->who.tenant[0] ? NULL : r->who.tenant;
}

static int list(struct gw_req *r, const char *unused)
{
    return gw_reply_page(r,
                         "SELECT " KEY_JSON " FROM api_keys WHERE ($1::text IS NULL OR"
                         " tenant_id = $1) AND ($3::uuid IS NULL OR id > $3::uuid)"
                         " ORDER BY id LIMIT $2",
                         scope(r), NULL, 0);
}

static int get_one(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {scope(r), id};
    PGresult *res = gw_query_json(r, &conn,
                                  "SELECT " KEY_JSON " FROM api_keys WHERE ($1::text IS NULL OR"
                                  " tenant_id = $1) AND id = $2",
                                  2, params);
    if (!res)
        return 503;
    int status = PQntuples(res) ? gw_reply_json(r, 200, gw_row_json(res, 0))
                                : gw_reply_not_found(r, "no API key '%s'", id);
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

/* Revocation: every gateway's cache forgets the key (this one at once, the others on the
 * NOTIFY the api_keys trigger sends). */
static int revoke(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {scope(r), id};
    PGresult *res = gw_query_json(r, &conn,
                                  "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
                                  " WHERE ($1::text IS NULL OR tenant_id = $1) AND id = $2"
                                  " RETURNING id",
                                  2, params);
    if (!res)
        return 503;
    int status;
    if (PQntuples(res) == 0) {
        status = gw_reply_not_found(r, "no API key '%s'", id);
    } else {
        gw_auth_forget(r->ctx->auth);
        hl_log(HL_LOG_INFO, "api-keys", "revoked key '%s'", id);
        status = gw_reply_no_content(r);
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

/* Keys are managed by admins and tenant admins, whatever the path. */
static int gate(struct gw_req *r, const char *rest)
{
    (void)rest;
    if (r->who.role != GW_ROLE_ADMIN && r->who.role != GW_ROLE_TENANT_ADMIN)
        return gw_reply_problem(r, 403, "forbidden", "Forbidden",
                                "a %s key may not manage API keys", gw_role_name(r->who.role));
    return 0;
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_DB, list},
    {"POST", "", GW_PERM_NONE, GW_ROUTE_DB, create},
    {"GET", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, get_one},
    {"DELETE", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, revoke},
};

const struct gw_resource gw_res_api_keys = {
    .prefix = "/api/v1/api-keys",
    .gate = gate,
    .param_ok = gw_uuid_like,
    .not_found = "no API key '%s'",
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};
