/* /api/v1/webhooks: webhook (subscription) management.
 *
 * Shapes come from schemas/api/webhook.schema.json (create, PUT) and
 * webhook-patch.schema.json (PATCH), checked before anything else. One SQL statement
 * (UPDATE_SQL) maps a validated JSON body onto the columns (PATCH merges `signature` and
 * `retry_policy` key by key; `headers`, `auth` and `metadata` are replaced whole); create is "insert the
 * identity, then apply the body", PUT is "reset to defaults, then apply the body", so the
 * field mapping exists once. Rows are rendered to JSON by PostgreSQL (WEBHOOK_JSON): the
 * secret and credentials never leave the database except the secret on create and rotate.
 *
 * Secrets are sealed here before they reach a statement (gw_secrets.c): the signing
 * secret, the v1a private key, the credentials inside `auth`. The v1a key pair is made
 * when a write turns signature.v1a on for a webhook that has none yet; its public half is
 * stored in clear and shown as `public_key`.
 *
 * The dispatchers see every committed change at once (a trigger NOTIFYs them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include <civetweb.h>

#include "gw_body.h"
#include "gw_db.h"
#include "gw_page.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_routes_deliveries.h"
#include "gw_routes_webhooks.h"
#include "gw_schemas.h"
#include "gw_secrets.h"
#include "gw_sql.h"
#include "gw_webhook_checks.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/pg.h"
#include "hl/sign.h"
#include "hl/url.h"
#include "hl/banned.h"

#define DEFAULT_OVERLAP_S 86400 /* old secret keeps signing this long after a rotation */

#define WEBHOOK_JSON                                                                               \
    "json_build_object('id', id, 'name', name, 'description', description, 'url', url,"          \
    " 'events', events, 'status', status, 'disabled_reason', disabled_reason,"                     \
    " 'active', status = 'active', 'filter', filter,"                                             \
    " 'method', method, 'headers', headers,"                                                       \
    " 'auth', " HL_AUTH_SHOWN_SQL("auth") ","                                   \
    " 'signature', signature, 'retry_policy', retry_policy, 'timeout_ms', timeout_ms,"             \
    " 'rate_limit_per_s', rate_limit_per_s, 'max_concurrency', max_concurrency,"                   \
    " 'metadata', metadata,"                                                                       \
    " 'public_key', CASE WHEN (signature->>'v1a')::boolean THEN public_key END,"                  \
    " 'previous_public_key', CASE WHEN (signature->>'v1a')::boolean AND"                          \
    "   previous_secret_expires_at > now() THEN previous_public_key END,"                          \
    " 'previous_secret_expires_at', CASE WHEN previous_secret_expires_at > now() THEN "            \
    GW_TS("previous_secret_expires_at") " END,"                                                    \
    " 'created_at', " GW_TS("created_at") ", 'updated_at', " GW_TS("updated_at") ")"

/* $1 tenant, $2 id, $3 the validated body (jsonb, credentials sealed), $4 and $5 a fresh
 * sealed v1a private key and its public key (used only if the webhook has none and the
 * update turns v1a on). Absent fields keep their value; nested objects merge; explicit
 * nulls clear the nullable limits. */
#define UPDATE_SQL                                                                                 \
    "UPDATE webhooks SET"                                                                          \
    " url = coalesce(b->>'url', url),"                                                             \
    " events = CASE WHEN b ? 'events' THEN"                                                        \
    "   ARRAY(SELECT jsonb_array_elements_text(b->'events')) ELSE events END,"                    \
    " name = coalesce(b->>'name', name),"                                                          \
    " description = coalesce(b->>'description', description),"                                   \
    " status = coalesce(b->>'status', status),"                                                    \
    " disabled_reason = CASE WHEN NOT b ? 'status' THEN disabled_reason"                           \
    "   WHEN b->>'status' = 'disabled' THEN coalesce(disabled_reason, 'disabled through the API')" \
    "   ELSE NULL END,"                                                                            \
    " method = coalesce(b->>'method', method),"                                                    \
    " headers = coalesce(b->'headers', headers),"                                                  \
    " auth = coalesce(b->'auth', auth),"                                                           \
    " signature = signature || coalesce(b->'signature', '{}'),"                                    \
    " signing_key = CASE WHEN signing_key IS NULL AND"                                            \
    "   ((signature || coalesce(b->'signature', '{}'))->>'v1a')::boolean THEN $4 ELSE signing_key END," \
    " public_key = CASE WHEN signing_key IS NULL AND"                                             \
    "   ((signature || coalesce(b->'signature', '{}'))->>'v1a')::boolean THEN $5 ELSE public_key END," \
    " retry_policy = jsonb_strip_nulls(retry_policy || coalesce(b->'retry_policy', '{}')),"        \
    " timeout_ms = coalesce((b->>'timeout_ms')::int, timeout_ms),"                                 \
    " rate_limit_per_s = CASE WHEN b ? 'rate_limit_per_s' THEN (b->>'rate_limit_per_s')::int"      \
    "   ELSE rate_limit_per_s END,"                                                                \
    " max_concurrency = CASE WHEN b ? 'max_concurrency' THEN (b->>'max_concurrency')::int"         \
    "   ELSE max_concurrency END,"                                                                 \
    " metadata = coalesce(b->'metadata', metadata),"                                               \
    " filter = CASE WHEN b ? 'filter' THEN nullif(b->'filter', 'null') ELSE filter END,"          \
    " updated_at = now()"                                                                          \
    " FROM (SELECT $3::jsonb AS b) body WHERE tenant_id = $1 AND id = $2"                         \
    " RETURNING " WEBHOOK_JSON

#define RESET_SQL                                                                                  \
    "UPDATE webhooks SET name = DEFAULT, description = DEFAULT, status = DEFAULT,"               \
    " disabled_reason = NULL, method = DEFAULT, headers = DEFAULT, auth = DEFAULT,"               \
    " signature = DEFAULT, retry_policy = DEFAULT, timeout_ms = DEFAULT,"                         \
    " rate_limit_per_s = NULL, max_concurrency = NULL, metadata = DEFAULT, filter = NULL"         \
    " WHERE tenant_id = $1 AND id = $2"

/* Headers the dispatcher sets itself, or that would break HTTP if a user set them. */
static const char *const reserved_headers[] = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "host", "content-length", "content-type",
    "authorization", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature",
};

/* The legacy form's headers besides its signature, whose name is the webhook's own
 * legacy_header (X-Webhook-Signature unless moved, e.g. so that seed 002's receivers get
 * an HMAC auth header there). */
static const char *const legacy_headers[] = {"x-webhook-event", "x-webhook-id",
                                             "x-webhook-timestamp"};

static bool header_reserved(const char *name, const char *legacy_header)
{
    for (size_t i = 0; i < sizeof(reserved_headers) / sizeof(reserved_headers[0]); i++)
        if (strcasecmp(name, reserved_headers[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof(legacy_headers) / sizeof(legacy_headers[0]); i++)
        if (strcasecmp(name, legacy_headers[i]) == 0)
            return true;
    return legacy_header && strcasecmp(name, legacy_header) == 0;
}

/* What JSON Schema cannot check. Appends to e. stored_legacy is the webhook's current
 * legacy signature header (PATCH), which custom headers and auth.header must not collide
 * with either. */
static void check_semantics(json_t *body, const char *stored_legacy, struct gw_errors *e)
{
    char why[256];
    json_t *url = json_object_get(body, "url");
    if (url && hl_url_validate(json_string_value(url), why, sizeof(why)))
        gw_errors_add(e, "/url", "%s", why);

    json_t *secret = json_object_get(body, "secret");
    struct hl_secret s;
    if (secret && hl_whsec_decode(json_string_value(secret), &s, why, sizeof(why)))
        gw_errors_add(e, "/secret", "%s", why);

    json_t *sig = json_object_get(body, "signature");
    json_t *lh = sig ? json_object_get(sig, "legacy_header") : NULL;
    const char *legacy = lh ? json_string_value(lh) : "X-Webhook-Signature";
    if (lh && header_reserved(legacy, NULL) && strcasecmp(legacy, "X-Webhook-Signature") != 0 &&
        strncasecmp(legacy, "x-webhook-", 10) != 0)
        gw_errors_add(e, "/signature/legacy_header", "'%s' is a reserved header", legacy);

    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(body, "headers"), name, v) {
        if (header_reserved(name, legacy) ||
            (stored_legacy && strcasecmp(name, stored_legacy) == 0)) {
            char ptr[128];
            snprintf(ptr, sizeof(ptr), "/headers/%s", name);
            gw_errors_add(e, ptr, "'%s' is set by Hookline or is hop-by-hop; use 'auth' for "
                                  "credentials", name);
        }
    }

    /* The api_key and hmac types name the header their credential travels in: the same
     * names are off limits there, or auth could overwrite a signature or break framing. */
    const char *ah = json_string_value(json_object_get(json_object_get(body, "auth"), "header"));
    if (ah && (header_reserved(ah, legacy) ||
               (stored_legacy && strcasecmp(ah, stored_legacy) == 0)))
        gw_errors_add(e, "/auth/header", "'%s' is set by Hookline or is hop-by-hop", ah);

    gw_webhook_check_extras(body, e); /* active, filter, retry_policy.schedule_ms */
}

/* Every non-wildcard pattern must name a catalog event type (the tenant's or a built-in
 * one), unless the tenant allows unlisted types (migration 0016). Returns 0, or the status of the reply sent (422 naming the unknown ones). */
static int check_catalog(struct gw_req *r, PGconn *conn, json_t *events)
{
    if (!events)
        return 0;
    struct hl_buf lit = HL_BUF_INIT;
    size_t i;
    json_t *ev;
    hl_buf_addch(&lit, '{');
    json_array_foreach(events, i, ev) {
        if (i)
            hl_buf_addch(&lit, ',');
        hl_buf_adds(&lit, json_string_value(ev)); /* pattern chars need no quoting */
    }
    hl_buf_addch(&lit, '}');
    const char *params[] = {r->who.tenant, hl_buf_str(&lit)};
    PGresult *res = PQexecParams(
        conn,
        "SELECT p FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) WHERE p NOT LIKE '%*'"
        " AND NOT EXISTS (SELECT 1 FROM event_types et WHERE et.name = p"
        " AND (et.tenant_id = $1 OR et.tenant_id IS NULL))"
        " AND NOT EXISTS (SELECT 1 FROM tenants WHERE id = $1 AND allow_unlisted_event_types)"
        " ORDER BY n",
        2, NULL, params, NULL, NULL, 0);
    hl_buf_release(&lit);
    int status = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        status = gw_reply_problem(r, 503, "database-unavailable", "Database unavailable",
                                  "the event-type catalog cannot be read; retry later");
    } else if (PQntuples(res) > 0) {
        json_t *errs = json_array();
        for (int k = 0; k < PQntuples(res); k++) {
            const char *p = PQgetvalue(res, k, 0);
            size_t idx;
            json_t *x;
            json_array_foreach(events, idx, x) {
                if (strcmp(json_string_value(x), p) == 0) {
                    char ptr[32];
                    snprintf(ptr, sizeof(ptr), "/events/%zu", idx);
                    json_array_append_new(errs, json_pack("{s:s, s:s}", "pointer", ptr, "detail",
                                                          "is not in the event-type catalog"));
                }
            }
        }
        struct gw_errors e = {.list = errs};
        status = gw_reply_unprocessable(r, &e, "subscribed event types must exist in the "
                                               "catalog (/api/v1/event-types) or be wildcards");
        gw_errors_release(&e);
    }
    PQclear(res);
    return status;
}

/* Maps a failed statement to a reply: a CHECK violation is the client's fault (400 with the
 * field it concerns), anything else is 503. */
static int reply_write_error(struct gw_req *r, PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (state && strcmp(state, "23514") == 0 && constraint) {
        struct gw_errors e;
        gw_errors_init(&e);
        if (strcmp(constraint, "webhooks_retry_delays") == 0)
            gw_errors_add(&e, "/retry_policy/max_delay_ms",
                          "must be at least initial_delay_ms");
        else if (strcmp(constraint, "webhooks_signature_any") == 0)
            gw_errors_add(&e, "/signature",
                          "at least one of standard, legacy and v1a must be true");
        else
            gw_errors_add(&e, "", "violates '%s'", constraint);
        int st = gw_reply_invalid(r, &e, "the webhook is not valid");
        gw_errors_release(&e);
        return st;
    }
    return gw_reply_db_error(r, "webhooks", "webhook store", res);
}

static bool exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

/* Runs UPDATE_SQL for a validated body: seals its credentials, and makes a v1a key pair
 * when the body turns v1a on (the statement keeps an existing one). */
static PGresult *apply_body(struct gw_req *r, PGconn *conn, const char *id, json_t *body)
{
    const struct hl_keyring *kr = &r->ctx->keyring;
    char whsk[HL_V1A_KEY_LEN], whpk[HL_V1A_KEY_LEN];
    char *sealed_sk = NULL;
    json_t *auth = json_object_get(body, "auth");
    if (auth)
        gw_seal_auth(kr, auth, id);
    if (json_is_true(json_object_get(json_object_get(body, "signature"), "v1a"))) {
        hl_v1a_generate(whsk, whpk);
        sealed_sk = gw_seal(kr, "signing_key", id, whsk);
        OPENSSL_cleanse(whsk, sizeof(whsk));
    }
    char *b = json_dumps(body, JSON_COMPACT);
    const char *params[] = {r->who.tenant, id, b, sealed_sk, sealed_sk ? whpk : NULL};
    PGresult *res = PQexecParams(conn, UPDATE_SQL, 5, NULL, params, NULL, NULL, 0);
    free(b);
    free(sealed_sk);
    return res;
}

/* Creates (id == NULL: a new id and secret) or replaces (PUT) a webhook from a validated
 * body, in one transaction. */
static int write_full(struct gw_req *r, json_t *body, const char *replace_id)
{
    char err[256], id[HL_UUID_LEN], secret[HL_WHSEC_MAX_LEN];
    int status;
    PGresult *res = NULL;
    PGconn *conn = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!conn)
        return gw_reply_db_unreachable(r, "webhook store");
    if ((status = check_catalog(r, conn, json_object_get(body, "events"))))
        goto out;
    if (!exec_ok(conn, "BEGIN")) {
        status = reply_write_error(r, NULL);
        goto out;
    }

    if (replace_id) {
        snprintf(id, sizeof(id), "%s", replace_id);
        const char *params[] = {r->who.tenant, id};
        res = PQexecParams(conn, RESET_SQL, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            status = reply_write_error(r, res);
            goto rollback;
        }
        if (strcmp(PQcmdTuples(res), "0") == 0) {
            status = gw_reply_not_found(r, "no webhook '%s'", id);
            goto rollback;
        }
    } else {
        json_t *js = json_object_get(body, "secret");
        if (js)
            snprintf(secret, sizeof(secret), "%s", json_string_value(js));
        else
            hl_whsec_generate(secret);
        hl_uuid_v7(id);
        char *sealed = gw_seal(&r->ctx->keyring, "secret", id, secret);
        const char *params[] = {id, r->who.tenant, sealed,
                                json_string_value(json_object_get(body, "url"))};
        res = PQexecParams(conn,
                           "INSERT INTO webhooks (id, tenant_id, secret, url, events)"
                           " VALUES ($1, $2, $3, $4, '{*}')",
                           4, NULL, params, NULL, NULL, 0);
        free(sealed);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            status = reply_write_error(r, res);
            goto rollback;
        }
    }
    PQclear(res);

    json_object_del(body, "secret");
    res = apply_body(r, conn, id, body);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        status = reply_write_error(r, res);
        goto rollback;
    }
    json_t *wh = gw_row_json(res, 0);
    if (!exec_ok(conn, "COMMIT")) {
        json_decref(wh);
        status = reply_write_error(r, NULL);
        goto out;
    }
    if (replace_id) {
        hl_log(HL_LOG_INFO, "webhooks", "replaced webhook '%s'", id);
        status = gw_reply_json(r, 200, wh);
    } else {
        json_object_set_new(wh, "secret", json_string(secret));
        OPENSSL_cleanse(secret, sizeof(secret));
        hl_log(HL_LOG_INFO, "webhooks", "created webhook '%s' for tenant '%s'", id,
               r->who.tenant);
        char location[128];
        snprintf(location, sizeof(location), "Location: /api/v1/webhooks/%s\r\n", id);
        status = gw_reply_json_hdr(r, 201, wh, location);
    }
    goto out;
rollback:
    PQclear(PQexec(conn, "ROLLBACK"));
out:
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

static int create_or_replace(struct gw_req *r, const char *replace_id)
{
    struct gw_errors e;
    int status;
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if ((status = gw_validate(r, "webhook", body, "the webhook is not valid")))
        goto out;
    gw_errors_init(&e);
    check_semantics(body, NULL, &e);
    if (gw_errors_any(&e))
        status = gw_reply_invalid(r, &e, "the webhook is not valid");
    else if (replace_id && json_object_get(body, "secret"))
        status = gw_reply_problem(r, 400, "invalid-request", "Invalid request",
                                  "a secret is changed with POST .../rotate-secret, not PUT");
    else
        status = write_full(r, body, replace_id);
    gw_errors_release(&e);
out:
    json_decref(body);
    return status;
}

static int patch(struct gw_req *r, const char *id)
{
    struct gw_errors e;
    int status;
    char err[256];
    PGconn *conn = NULL;
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if ((status = gw_validate(r, "webhook-patch", body, "the webhook update is not valid")))
        goto out;
    if (!(conn = gw_db_acquire(r->ctx->db, err, sizeof(err)))) {
        status = gw_reply_db_unreachable(r, "webhook store");
        goto out;
    }
    /* New custom headers must not collide with the legacy header kept from before. */
    char stored_legacy[128] = "";
    const char *lp[] = {r->who.tenant, id};
    PGresult *lr = PQexecParams(conn, "SELECT signature->>'legacy_header' FROM webhooks"
                                      " WHERE tenant_id = $1 AND id = $2",
                                2, NULL, lp, NULL, NULL, 0);
    if (PQresultStatus(lr) == PGRES_TUPLES_OK && PQntuples(lr) == 1)
        snprintf(stored_legacy, sizeof(stored_legacy), "%s", PQgetvalue(lr, 0, 0));
    PQclear(lr);
    gw_errors_init(&e);
    json_t *sig = json_object_get(body, "signature");
    check_semantics(body, sig && json_object_get(sig, "legacy_header") ? NULL : stored_legacy,
                    &e);
    if (gw_errors_any(&e)) {
        status = gw_reply_invalid(r, &e, "the webhook update is not valid");
        gw_errors_release(&e);
        goto out;
    }
    gw_errors_release(&e);
    if ((status = check_catalog(r, conn, json_object_get(body, "events"))))
        goto out;
    PGresult *res = apply_body(r, conn, id, body);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        status = reply_write_error(r, res);
    else if (PQntuples(res) == 0)
        status = gw_reply_not_found(r, "no webhook '%s'", id);
    else
        status = gw_reply_json(r, 200, gw_row_json(res, 0));
    PQclear(res);
out:
    gw_db_release(r->ctx->db, conn);
    json_decref(body);
    return status;
}

/* Runs a statement returning WEBHOOK_JSON for ($1 tenant, $2 id, ...) and replies with the
 * webhook, or 404. */
static int reply_one(struct gw_req *r, const char *sql, int nparams, const char *const *params)
{
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(r, &conn, sql, nparams, params);
    if (!res)
        return 503;
    int status;
    if (PQntuples(res) == 0)
        status = gw_reply_not_found(r, "no webhook '%s'", params[1]);
    else
        status = gw_reply_json(r, 200, gw_row_json(res, 0));
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

static int list(struct gw_req *r, const char *unused)
{
    char status_f[16] = "", event_f[HL_EVENT_TYPE_MAX + 1] = "";
    bool has_status = gw_query(r, "status", status_f, sizeof(status_f)) && status_f[0];
    bool has_event = gw_query(r, "event", event_f, sizeof(event_f)) && event_f[0];
    if ((has_status && strcmp(status_f, "active") && strcmp(status_f, "paused") &&
         strcmp(status_f, "disabled")) ||
        (has_event && !hl_event_type_valid(event_f)))
        return gw_reply_invalid1(r, "",
                                 has_event && !hl_event_type_valid(event_f)
                                     ? "query parameter 'event' must be an event type"
                                     : "query parameter 'status' must be active, paused or disabled",
                                 "invalid query parameter");
    const char *filters[] = {has_status ? status_f : NULL, has_event ? event_f : NULL};
    /* ?event= lists the webhooks that would receive that event type. */
    return gw_reply_page(
        r,
        "SELECT " WEBHOOK_JSON " FROM webhooks WHERE tenant_id = $1"
        " AND ($3::uuid IS NULL OR id > $3::uuid) AND ($4::text IS NULL OR status = $4)"
        " AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM unnest(events) p WHERE p = '*'"
        "   OR p = $5 OR (p LIKE '%.*' AND starts_with($5, left(p, -1)) AND $5 <> left(p, -2))))"
        " ORDER BY id LIMIT $2",
        r->who.tenant, filters, 2);
}

static int delete_one(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant, id};
    PGresult *res = gw_query_json(
        r, &conn, "DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2 RETURNING id", 2,
        params);
    if (!res)
        return 503;
    int status;
    if (PQntuples(res) == 0) {
        status = gw_reply_not_found(r, "no webhook '%s'", id);
    } else {
        hl_log(HL_LOG_INFO, "webhooks", "deleted webhook '%s'", id);
        status = gw_reply_no_content(r);
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

/* The rotation statement: $3 the new sealed secret, $4 the old one re-sealed as the
 * previous secret, $5 the overlap in seconds, $6..$9 the new sealed signing key, the old
 * one re-sealed, the new and the old public key (all NULL when v1a is off). */
#define ROTATE_SQL                                                                                 \
    "UPDATE webhooks SET previous_secret = $4, secret = $3,"                                      \
    " previous_secret_expires_at = now() + make_interval(secs => $5::int),"                       \
    " signing_key = coalesce($6, signing_key), previous_signing_key = CASE WHEN $6 IS NULL THEN"  \
    "   previous_signing_key ELSE $7 END,"                                                         \
    " public_key = coalesce($8, public_key), previous_public_key = CASE WHEN $6 IS NULL THEN"     \
    "   previous_public_key ELSE $9 END,"                                                          \
    " updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING " WEBHOOK_JSON

/* Locks the row and, when need_old, opens its current secret and signing key into *secret
 * and *sk (without an overlap the old ones are dropped unopened, which is how webhooks
 * are recovered after the master key was lost). Returns 0, or the status of the error
 * reply sent. */
static int read_current(struct gw_req *r, PGconn *conn, const char *id, bool need_old,
                        struct hl_buf *secret, struct hl_buf *sk, char *pk, size_t pklen,
                        bool *v1a)
{
    char err[256];
    const char *params[] = {r->who.tenant, id};
    PGresult *res = PQexecParams(conn,
                                 "SELECT secret, signing_key, public_key,"
                                 " coalesce((signature->>'v1a')::boolean, false)"
                                 " FROM webhooks WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                                 2, NULL, params, NULL, NULL, 0);
    int status = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        status = reply_write_error(r, res);
    } else if (PQntuples(res) == 0) {
        status = gw_reply_not_found(r, "no webhook '%s'", id);
    } else {
        *v1a = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        snprintf(pk, pklen, "%s", PQgetvalue(res, 0, 2));
        if (need_old && (gw_unseal(&r->ctx->keyring, "secret", id, PQgetvalue(res, 0, 0), secret, err,
                      sizeof(err)) ||
            (*v1a && !PQgetisnull(res, 0, 1) &&
             gw_unseal(&r->ctx->keyring, "signing_key", id, PQgetvalue(res, 0, 1), sk, err,
                       sizeof(err))))) {
            hl_log(HL_LOG_ERROR, "webhooks", "%s", err);
            status = gw_reply_problem(r, 503, "secret-unavailable", "Secret unavailable",
                                      "the stored secret cannot be opened with this gateway's "
                                      "master key ring; retry later");
        }
    }
    PQclear(res);
    return status;
}

int gw_webhook_rotate(struct gw_req *r, const char *id, const char *secret, long long overlap_s,
                      bool unless_same, json_t **out)
{
    const struct hl_keyring *kr = &r->ctx->keyring;
    char err[256], fresh[HL_WHSEC_MAX_LEN], overlap[24], whsk[HL_V1A_KEY_LEN],
        whpk[HL_V1A_KEY_LEN], old_pk[HL_V1A_KEY_LEN + 8] = "";
    struct hl_buf cur = HL_BUF_INIT, cur_sk = HL_BUF_INIT;
    char *sealed[4] = {0}; /* secret, previous secret, signing key, previous signing key */
    bool v1a = false;
    int status;
    PGresult *res = NULL;
    *out = NULL;
    PGconn *conn = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!conn)
        return gw_reply_db_unreachable(r, "webhook store");
    snprintf(fresh, sizeof(fresh), "%s", secret ? secret : "");
    if (!secret)
        hl_whsec_generate(fresh);
    if (!exec_ok(conn, "BEGIN")) {
        status = reply_write_error(r, NULL);
        goto out;
    }
    bool need_old = overlap_s > 0 || unless_same;
    if ((status = read_current(r, conn, id, need_old, &cur, &cur_sk, old_pk, sizeof(old_pk),
                               &v1a)))
        goto rollback;
    if (unless_same && strcmp(cur.ptr, fresh) == 0) {
        PQclear(PQexec(conn, "ROLLBACK"));
        goto out; /* nothing to rotate: status 0, *out NULL */
    }
    /* The old secret moves to the previous_secret column: sealed again for that column. */
    sealed[0] = gw_seal(kr, "secret", id, fresh);
    if (need_old)
        sealed[1] = gw_seal(kr, "previous_secret", id, cur.ptr);
    if (v1a) {
        hl_v1a_generate(whsk, whpk);
        sealed[2] = gw_seal(kr, "signing_key", id, whsk);
        OPENSSL_cleanse(whsk, sizeof(whsk));
        if (cur_sk.len)
            sealed[3] = gw_seal(kr, "previous_signing_key", id, cur_sk.ptr);
    }
    snprintf(overlap, sizeof(overlap), "%lld", overlap_s);
    const char *params[] = {r->who.tenant, id,      sealed[0], sealed[1], overlap,
                            sealed[2],     sealed[3], v1a ? whpk : NULL,
                            v1a && sealed[3] ? old_pk : NULL};
    res = PQexecParams(conn, ROTATE_SQL, 9, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        status = reply_write_error(r, res);
        goto rollback;
    }
    json_t *wh = gw_row_json(res, 0);
    if (!exec_ok(conn, "COMMIT")) {
        json_decref(wh);
        status = reply_write_error(r, NULL);
        goto out;
    }
    json_object_set_new(wh, "secret", json_string(fresh));
    hl_log(HL_LOG_INFO, "webhooks", "rotated the secret%s of webhook '%s'",
           v1a ? " and the v1a key" : "", id);
    *out = wh;
    goto out;
rollback:
    PQclear(PQexec(conn, "ROLLBACK"));
out:
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    for (int i = 0; i < 4; i++)
        free(sealed[i]);
    hl_buf_wipe(&cur);
    hl_buf_wipe(&cur_sk);
    OPENSSL_cleanse(fresh, sizeof(fresh));
    return status;
}

/* POST {id}/rotate-secret {"secret"?, "overlap_seconds"?}: the old secret keeps signing
 * alongside the new one until the overlap ends. */
static int rotate_secret(struct gw_req *r, const char *id)
{
    char why[256];
    long long overlap_s = DEFAULT_OVERLAP_S;
    struct gw_errors e;
    json_t *body = r->body_len ? gw_body_object(r) : json_object();
    if (!body)
        return 400;
    gw_errors_init(&e);
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "secret") && strcmp(key, "overlap_seconds"))
            gw_errors_add(&e, "", "unknown field '%s'", key);
    }
    json_t *js = json_object_get(body, "secret");
    struct hl_secret s;
    if (js && (!json_is_string(js) || hl_whsec_decode(json_string_value(js), &s, why, sizeof(why))))
        gw_errors_add(&e, "/secret", "%s", json_is_string(js) ? why : "must be a string");
    json_t *jo = json_object_get(body, "overlap_seconds");
    if (jo && (!json_is_integer(jo) || json_integer_value(jo) < 0 ||
               json_integer_value(jo) > 7 * 86400))
        gw_errors_add(&e, "/overlap_seconds", "must be an integer of 0..604800");
    else if (jo)
        overlap_s = json_integer_value(jo);
    int status;
    if (gw_errors_any(&e)) {
        status = gw_reply_invalid(r, &e, "the rotation request is not valid");
        goto out;
    }
    json_t *wh = NULL;
    status = gw_webhook_rotate(r, id, js ? json_string_value(js) : NULL, overlap_s, false, &wh);
    if (status == 0)
        status = gw_reply_json(r, 200, wh);
out:
    gw_errors_release(&e);
    json_decref(body);
    return status;
}

int gw_webhook_get(struct gw_req *r, const char *id)
{
    const char *params[] = {r->who.tenant, id};
    return reply_one(r, "SELECT " WEBHOOK_JSON " FROM webhooks WHERE tenant_id = $1 AND id = $2",
                     2, params);
}

int gw_webhook_create(struct gw_req *r)
{
    return create_or_replace(r, NULL);
}

int gw_webhook_patch(struct gw_req *r, const char *id)
{
    return patch(r, id);
}

int gw_webhook_delete(struct gw_req *r, const char *id)
{
    return delete_one(r, id);
}

static int create(struct gw_req *r, const char *unused)
{
    return create_or_replace(r, NULL);
}

static int replace(struct gw_req *r, const char *id)
{
    return create_or_replace(r, id);
}

/* Resuming clears a disabled state too: the operator vouches for the endpoint. */
static int set_status(struct gw_req *r, const char *id, bool pause)
{
    const char *params[] = {r->who.tenant, id};
    return reply_one(r, pause ? "UPDATE webhooks SET status = 'paused', disabled_reason ="
                                " NULL, updated_at = now() WHERE tenant_id = $1 AND id = $2"
                                " RETURNING " WEBHOOK_JSON
                              : "UPDATE webhooks SET status = 'active', disabled_reason ="
                                " NULL, updated_at = now() WHERE tenant_id = $1 AND id = $2"
                                " RETURNING " WEBHOOK_JSON,
                     2, params);
}

static int pause_one(struct gw_req *r, const char *id)
{
    return set_status(r, id, true);
}

static int resume_one(struct gw_req *r, const char *id)
{
    return set_status(r, id, false);
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_DB, list},
    {"POST", "", GW_PERM_NONE, GW_ROUTE_DB, create},
    {"GET", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, gw_webhook_get},
    {"PATCH", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, patch},
    {"PUT", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, replace},
    {"DELETE", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, delete_one},
    {"POST", "/{id}/pause", GW_PERM_NONE, GW_ROUTE_DB, pause_one},
    {"POST", "/{id}/resume", GW_PERM_NONE, GW_ROUTE_DB, resume_one},
    {"POST", "/{id}/rotate-secret", GW_PERM_NONE, GW_ROUTE_DB, rotate_secret},
    {"GET", "/{id}/deliveries", GW_PERM_NONE, GW_ROUTE_DB, gw_webhook_deliveries},
    {"GET", "/{id}/stats", GW_PERM_NONE, GW_ROUTE_DB, gw_webhook_stats},
    {"POST", "/{id}/replay", GW_PERM_NONE, GW_ROUTE_DB, gw_webhook_replay},
    {"POST", "/{id}/test", GW_PERM_NONE, GW_ROUTE_DB, gw_webhook_test},
};

/* GET /webhooks/events/available is gw_res_event_types_available, matched first. */
const struct gw_resource gw_res_webhooks = {
    .prefix = "/api/v1/webhooks",
    .read_perm = GW_PERM_READ,
    .write_perm = GW_PERM_WRITE,
    .param_ok = gw_uuid_like,
    .not_found = "no webhook '%s'",
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};
