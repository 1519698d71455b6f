/* /api/admin/developer/webhooks: seed 000's developer-platform route, for tenant admins,
 * translated onto the webhook model so both APIs see the same subscriptions:
 *   GET                  supported events, subscriptions and recent deliveries
 *   POST action=create   {url, events, secret?, active?, description?}  -> webhook create
 *   POST action=test     {id}                                           -> test delivery
 *   PUT                  {id, url|endpoint?, events?, active?, secret?} -> update (+ rotate)
 *   DELETE               ?id= or {id}                                   -> delete
 * "active": true/false maps to status active/paused. Subscriptions are created in the
 * "stacksos" delivery format unless the body names another `format`, so receivers get
 * seed 000's body and x-stacksos-* headers; a `secret` that is not a "whsec_..." one is
 * the plain shared secret of x-stacksos-signature (format.secret, sealed at rest). */
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
#include "gw_routes_deliveries.h"
#include "gw_routes_developer.h"
#include "gw_routes_webhooks.h"
#include "gw_sql.h"
#include "hl/log.h"
#include "hl/sign.h"
#include "hl/banned.h"

/* Swaps the request body for a translated one (owned by the request from now on). */
static void set_body(struct gw_req *r, json_t *body)
{
    free(r->body);
    r->body = json_dumps(body, JSON_COMPACT);
    r->body_len = strlen(r->body);
}

static int overview(struct gw_req *r, const char *unused)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant};
    PGresult *res = gw_query_json(
        r, &conn,
        "SELECT json_build_object("
        " 'supportedEvents', (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM"
        "   event_types WHERE tenant_id = $1 OR tenant_id IS NULL),"
        " 'subscriptions', (SELECT coalesce(json_agg(json_build_object('id', id, 'url', url,"
        "   'events', events, 'active', status = 'active', 'status', status,"
        "   'description', description) ORDER BY id), '[]') FROM webhooks WHERE tenant_id = $1),"
        " 'deliveries', (SELECT coalesce(json_agg(x ORDER BY x.created_at DESC), '[]') FROM ("
        "   SELECT id, webhook_id, event_type AS event, status, attempts, last_status_code,"
        "   created_at FROM deliveries WHERE tenant_id = $1 ORDER BY created_at DESC"
        "   LIMIT 50) x))",
        1, params);
    if (!res)
        return 503;
    int status = gw_reply_json(r, 200, gw_row_json(res, 0));
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

static int bad(struct gw_req *r, const char *pointer, const char *detail)
{
    struct gw_errors e;
    gw_errors_init(&e);
    gw_errors_add(&e, pointer, "%s", detail);
    int st = gw_reply_invalid(r, &e, "the request is not valid");
    gw_errors_release(&e);
    return st;
}

/* A plain shared secret (anything but "whsec_...") keys x-stacksos-signature: it moves
 * into the stacksos format. On create, a body without a format gets the stacksos one. */
static void stacksos_format(json_t *b, bool create)
{
    json_t *secret = json_object_get(b, "secret");
    bool plain = json_is_string(secret) && strncmp(json_string_value(secret), "whsec_", 6) != 0;
    if (plain) {
        json_object_set_new(b, "format", json_pack("{s:s, s:O}", "name", "stacksos", "secret",
                                                   secret));
        json_object_del(b, "secret");
    } else if (create && !json_object_get(b, "format")) {
        json_object_set_new(b, "format", json_string("stacksos"));
    }
}

/* Moves "active" (bool) to "status" and "endpoint" to "url". Returns false on a bad type. */
static bool translate(json_t *b)
{
    json_t *active = json_object_get(b, "active");
    if (active) {
        if (!json_is_boolean(active))
            return false;
        json_object_set_new(b, "status", json_string(json_is_true(active) ? "active" : "paused"));
        json_object_del(b, "active");
    }
    json_t *endpoint = json_object_get(b, "endpoint");
    if (endpoint) {
        json_object_set(b, "url", endpoint);
        json_object_del(b, "endpoint");
    }
    return true;
}

static int post(struct gw_req *r, const char *unused)
{
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    int status;
    json_t *action = json_object_get(body, "action");
    char a[16];
    snprintf(a, sizeof(a), "%s", json_is_string(action) ? json_string_value(action) : "");
    json_object_del(body, "action");
    if (strcmp(a, "create") == 0) {
        if (!translate(body)) {
            status = bad(r, "/active", "must be a boolean");
        } else {
            stacksos_format(body, true);
            set_body(r, body);
            status = gw_webhook_create(r);
        }
    } else if (strcmp(a, "test") == 0) {
        json_t *id = json_object_get(body, "id");
        if (!json_is_string(id) || !gw_uuid_like(json_string_value(id)))
            status = bad(r, "/id", "is required: the subscription to test");
        else
            status = gw_webhook_test(r, json_string_value(id));
    } else {
        status = bad(r, "/action", "must be 'create' or 'test'");
    }
    json_decref(body);
    return status;
}

static int put(struct gw_req *r, const char *unused)
{
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    int status;
    char id[40], why[256];
    json_t *jid = json_object_get(body, "id");
    if (!json_is_string(jid) || !gw_uuid_like(json_string_value(jid))) {
        status = bad(r, "/id", "is required: the subscription to update");
        goto out;
    }
    snprintf(id, sizeof(id), "%s", json_string_value(jid));
    json_object_del(body, "id");
    if (!translate(body)) {
        status = bad(r, "/active", "must be a boolean");
        goto out;
    }
    stacksos_format(body, false);
    /* A new secret replaces the old one, which keeps signing for the usual overlap. */
    json_t *secret = json_object_get(body, "secret");
    if (secret) {
        struct hl_secret s;
        if (!json_is_string(secret) || hl_whsec_decode(json_string_value(secret), &s, why,
                                                       sizeof(why))) {
            status = bad(r, "/secret", json_is_string(secret) ? why : "must be a string");
            goto out;
        }
        json_t *wh = NULL;
        status = gw_webhook_rotate(r, id, json_string_value(secret), 86400, true, &wh);
        json_decref(wh);
        if (status)
            goto out;
        json_object_del(body, "secret");
    }
    if (json_object_size(body) == 0) {
        /* Only the secret changed: answer with the webhook. */
        status = gw_webhook_get(r, id);
        goto out;
    }
    set_body(r, body);
    status = gw_webhook_patch(r, id);
out:
    json_decref(body);
    return status;
}

static int del(struct gw_req *r, const char *unused)
{
    char id[64] = "";
    if (!gw_query(r, "id", id, sizeof(id)) && r->body) {
        json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
        json_t *jid = json_object_get(body, "id");
        if (json_is_string(jid))
            snprintf(id, sizeof(id), "%s", json_string_value(jid));
        json_decref(body);
    }
    if (!gw_uuid_like(id))
        return bad(r, "/id", "is required (query parameter or body): the subscription to delete");
    return gw_webhook_delete(r, id);
}

static int gate(struct gw_req *r, const char *rest)
{
    (void)rest;
    if (r->who.role < GW_ROLE_TENANT_ADMIN)
        return gw_reply_problem(r, 403, "forbidden", "Forbidden",
                                "the developer platform needs a tenant_admin key");
    return gw_require(r, GW_PERM_WRITE);
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_DB, overview},
    {"POST", "", GW_PERM_NONE, GW_ROUTE_DB, post},
    {"PUT", "", GW_PERM_NONE, GW_ROUTE_DB, put},
    {"DELETE", "", GW_PERM_NONE, GW_ROUTE_DB, del},
};

const struct gw_resource gw_res_developer_webhooks = {
    .prefix = "/api/admin/developer/webhooks",
    .gate = gate,
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};
