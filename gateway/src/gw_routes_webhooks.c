/* /api/v1/webhooks: webhook (subscription) management.
 *
 * Rows are rendered to JSON by PostgreSQL itself (json_build_object), so the SQL below is
 * the one place that defines a webhook's public shape. The secret is returned on creation
 * only; no other response carries it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/pg.h"
#include "hl/sign.h"
#include "hl/url.h"
#include "hl/banned.h"

#define MAX_EVENT_PATTERNS 100
#define MAX_DESCRIPTION 1024

#define WEBHOOK_JSON                                                                               \
    "json_build_object('id', id, 'url', url, 'events', events, 'description', description,"      \
    " 'status', status, 'created_at', " GW_TS("created_at") ", 'updated_at', " GW_TS("updated_at") ")"

/* Validates the create body; returns the events as a PostgreSQL array literal. */
static void validate_create(json_t *body, struct gw_errors *e, struct hl_buf *events_lit)
{
    static const char *const known[] = {"url", "events", "description", "secret"};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok)
            gw_errors_add(e, "", "unknown field '%s'", key);
    }

    char why[256];
    json_t *url = json_object_get(body, "url");
    if (!url)
        gw_errors_add(e, "/url", "is required");
    else if (!json_is_string(url))
        gw_errors_add(e, "/url", "must be a string");
    else if (hl_url_validate(json_string_value(url), why, sizeof(why)))
        gw_errors_add(e, "/url", "%s", why);

    json_t *events = json_object_get(body, "events");
    if (!events) {
        gw_errors_add(e, "/events", "is required");
    } else if (!json_is_array(events) || json_array_size(events) == 0) {
        gw_errors_add(e, "/events", "must be a non-empty array of event types or patterns");
    } else if (json_array_size(events) > MAX_EVENT_PATTERNS) {
        gw_errors_add(e, "/events", "must have at most %d entries", MAX_EVENT_PATTERNS);
    } else {
        size_t i;
        json_t *ev;
        hl_buf_addch(events_lit, '{');
        json_array_foreach(events, i, ev) {
            char ptr[32];
            snprintf(ptr, sizeof(ptr), "/events/%zu", i);
            if (!json_is_string(ev) || !hl_event_pattern_valid(json_string_value(ev))) {
                gw_errors_add(e, ptr,
                              "must be an event type (\"order.created\"), \"*\" or \"prefix.*\"");
                continue;
            }
            /* Pattern characters need no quoting inside a PostgreSQL array literal. */
            if (i)
                hl_buf_addch(events_lit, ',');
            hl_buf_adds(events_lit, json_string_value(ev));
        }
        hl_buf_addch(events_lit, '}');
    }

    json_t *desc = json_object_get(body, "description");
    if (desc && !json_is_null(desc) &&
        (!json_is_string(desc) || json_string_length(desc) > MAX_DESCRIPTION))
        gw_errors_add(e, "/description", "must be a string of at most %d characters",
                      MAX_DESCRIPTION);

    json_t *secret = json_object_get(body, "secret");
    struct hl_secret s;
    if (secret && !json_is_null(secret)) {
        if (!json_is_string(secret))
            gw_errors_add(e, "/secret", "must be a string");
        else if (hl_whsec_decode(json_string_value(secret), &s, why, sizeof(why)))
            gw_errors_add(e, "/secret", "%s", why);
    }
}

static int create(struct gw_req *r)
{
    struct gw_errors e;
    struct hl_buf events_lit = HL_BUF_INIT;
    char id[HL_UUID_LEN], secret[HL_WHSEC_MAX_LEN];
    PGconn *conn = NULL;
    int status;

    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    gw_errors_init(&e);
    validate_create(body, &e, &events_lit);
    if (gw_errors_any(&e)) {
        status = gw_reply_invalid(r, &e, "the webhook is not valid");
        goto out;
    }

    json_t *js = json_object_get(body, "secret");
    if (js && json_is_string(js))
        snprintf(secret, sizeof(secret), "%s", json_string_value(js));
    else
        hl_whsec_generate(secret);
    json_t *desc = json_object_get(body, "description");
    hl_uuid_v7(id);
    const char *params[] = {
        id,
        r->who.tenant,
        json_string_value(json_object_get(body, "url")),
        hl_buf_str(&events_lit),
        desc && json_is_string(desc) ? json_string_value(desc) : "",
        secret,
    };
    PGresult *res = gw_query_json(r, &conn,
                               "INSERT INTO webhooks (id, tenant_id, url, events, description, "
                               "secret) VALUES ($1, $2, $3, $4, $5, $6) RETURNING " WEBHOOK_JSON,
                               6, params);
    if (!res) {
        status = 503;
        goto out;
    }
    json_t *wh = gw_row_json(res, 0);
    PQclear(res);
    json_object_set_new(wh, "secret", json_string(secret));
    hl_log(HL_LOG_INFO, "webhooks", "created webhook '%s' for tenant '%s'", id, r->who.tenant);

    char location[128];
    snprintf(location, sizeof(location), "Location: /api/v1/webhooks/%s\r\n", id);
    status = gw_reply_json_hdr(r, 201, wh, location);
out:
    gw_db_release(r->ctx->db, conn);
    gw_errors_release(&e);
    hl_buf_release(&events_lit);
    json_decref(body);
    return status;
}

static int list(struct gw_req *r)
{
    char cursor[64] = "";
    long limit;
    bool has_cursor;
    PGconn *conn = NULL;
    int st = gw_page_params(r, &limit, cursor, sizeof(cursor), &has_cursor);
    if (st)
        return st;
    char fetch[24];
    snprintf(fetch, sizeof(fetch), "%ld", limit + 1);
    const char *params[] = {r->who.tenant, fetch, has_cursor ? cursor : NULL};
    PGresult *res = gw_query_json(r, &conn,
                                  "SELECT " WEBHOOK_JSON " FROM webhooks WHERE tenant_id = $1"
                                  " AND ($3::uuid IS NULL OR id > $3::uuid) ORDER BY id LIMIT $2",
                                  3, params);
    if (!res)
        return 503;
    json_t *page = gw_page_json(res, limit);
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return gw_reply_json(r, 200, page);
}

static int get_one(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant, id};
    PGresult *res = gw_query_json(
        r, &conn, "SELECT " WEBHOOK_JSON " FROM webhooks WHERE tenant_id = $1 AND id = $2", 2,
        params);
    if (!res)
        return 503;
    int status;
    if (PQntuples(res) == 0)
        status = gw_reply_problem(r, 404, "not-found", "Not found", "no webhook '%s'", id);
    else
        status = gw_reply_json(r, 200, gw_row_json(res, 0));
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
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
        status = gw_reply_problem(r, 404, "not-found", "Not found", "no webhook '%s'", id);
    } else {
        hl_log(HL_LOG_INFO, "webhooks", "deleted webhook '%s'", id);
        status = gw_reply_no_content(r);
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

int gw_route_webhooks(struct gw_req *r, const char *rest)
{
    const char *m = r->info->request_method;
    bool read = strcmp(m, "GET") == 0;
    int st = gw_require(r, read ? GW_PERM_READ : GW_PERM_WRITE);
    if (st)
        return st;
    if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
        if (read)
            return list(r);
        if (strcmp(m, "POST") == 0)
            return create(r);
        return gw_method_not_allowed(r, "GET, POST");
    }
    const char *id = rest + 1;
    if (!gw_uuid_like(id))
        return gw_reply_problem(r, 404, "not-found", "Not found", "no webhook '%s'", id);
    if (read)
        return get_one(r, id);
    if (strcmp(m, "DELETE") == 0)
        return delete_one(r, id);
    return gw_method_not_allowed(r, "GET, DELETE");
}
