/* Delivery history and re-drives:
 *   GET  /api/v1/deliveries, GET /api/v1/webhooks/{id}/deliveries   (filtered, paginated)
 *   GET  /api/v1/deliveries/{id}                                     (with every attempt)
 *   POST /api/v1/deliveries/{id}/retry                               (manual retry)
 *   POST /api/v1/webhooks/{id}/replay                                (failed ones, by time)
 *   POST /api/v1/webhooks/{id}/test[?wait=true]                      (system.webhook.test)
 *   GET  /api/v1/webhooks/{id}/stats                                 (window, default 24 h)
 *
 * The log itself is written by the dispatchers (schemas/migrations/0004_delivery_log.sql);
 * the gateway only reads it. Re-driving never bypasses the delivery path: the gateway
 * produces a delivery task (hl/task.h) to <prefix>.deliveries keyed by the webhook id, with
 * a fresh attempt budget, exactly as the dispatchers' fan-out does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

#include "gw_body.h"
#include "gw_db.h"
#include "gw_page.h"
#include "gw_producer.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_routes_deliveries.h"
#include "gw_schemas.h"
#include "gw_sql.h"
#include "hl/id.h"
#include "hl/jsonschema.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/task.h"
#include "hl/time.h"
#include "hl/banned.h"

#define REPLAY_MAX 10000
#define TEST_WAIT_MS 30000

#define DELIVERY_JSON                                                                              \
    "json_build_object('id', id, 'webhook_id', webhook_id, 'event_id', event_id,"                \
    " 'event_type', event_type, 'status', status, 'attempts', attempts,"                           \
    " 'last_status_code', last_status_code, 'last_error', last_error,"                             \
    " 'last_error_class', last_error_class, 'created_at', " GW_TS("created_at") ","               \
    " 'updated_at', " GW_TS("updated_at") ", 'next_attempt_at', CASE WHEN next_attempt_at"         \
    " IS NOT NULL THEN " GW_TS("next_attempt_at") " END,"                                          \
    " 'cursor', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"       \
    " || '~' || id)"

static bool is_datetime(const char *s)
{
    hl_schema_format_fn fn = hl_schema_format_find("date-time");
    return fn && fn(s, strlen(s));
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* An RFC 3339 date-time as UTC with microseconds ("2026-11-22T19:02:00.142000Z"), the one
 * form handed to PostgreSQL: RFC 3339 allows offsets up to +-23:59 and years 0000..9999,
 * PostgreSQL's timestamptz input neither, and its refusal would be a 503 for a request
 * that is merely out of range. False (nothing written) when s is not a date-time or falls
 * outside years 0001..9999 in UTC. */
static bool utc_datetime(const char *s, char out[32])
{
    if (!is_datetime(s))
        return false;
    /* is_datetime vouches for the layout: YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM) */
    int64_t secs = days_from_civil(digits(s, 4), digits(s + 5, 2), digits(s + 8, 2)) * 86400 +
                   digits(s + 11, 2) * 3600 + digits(s + 14, 2) * 60 + digits(s + 17, 2);
    const char *p = s + 19;
    int usec = 0, scale = 100000;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            usec += scale ? (*p - '0') * scale : 0;
    if (*p == '+' || *p == '-')
        secs -= (*p == '+' ? 1 : -1) * (digits(p + 1, 2) * 3600 + digits(p + 4, 2) * 60);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return false;
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), usec);
    return true;
}

static int bad_query(struct gw_req *r, const char *fmt, const char *what)
{
    struct gw_errors e;
    gw_errors_init(&e);
    gw_errors_add(&e, "", fmt, what);
    int st = gw_reply_invalid(r, &e, "invalid query parameter");
    gw_errors_release(&e);
    return st;
}

/* Lists deliveries, newest first. webhook_id is fixed for the per-webhook route. */
static int list(struct gw_req *r, const char *webhook_id)
{
    char wh[64] = "", type[HL_EVENT_TYPE_MAX + 1] = "", status[16] = "", since[64] = "",
         until[64] = "", cursor[128] = "", limit_s[16] = "50", fetch[24];
    long limit = 50;
    if (webhook_id)
        snprintf(wh, sizeof(wh), "%s", webhook_id);
    else if (gw_query(r, "webhook_id", wh, sizeof(wh)) && wh[0] && !gw_uuid_like(wh))
        return bad_query(r, "query parameter '%s' must be a webhook id", "webhook_id");
    if (gw_query(r, "event_type", type, sizeof(type)) && type[0] && !hl_event_type_valid(type))
        return bad_query(r, "query parameter '%s' must be an event type", "event_type");
    if (gw_query(r, "status", status, sizeof(status)) && status[0] &&
        strcmp(status, "pending") && strcmp(status, "succeeded") && strcmp(status, "failed") &&
        strcmp(status, "skipped") && strcmp(status, "retrying"))
        return bad_query(r, "query parameter '%s' must be pending, retrying, succeeded, failed "
                            "or skipped", "status");
    char raw[64];
    if ((gw_query(r, "since", raw, sizeof(raw)) && raw[0] && !utc_datetime(raw, since)) ||
        (gw_query(r, "until", raw, sizeof(raw)) && raw[0] && !utc_datetime(raw, until)))
        return bad_query(r, "query parameters '%s' must be RFC 3339 date-times of years "
                            "0001..9999", "since/until");
    if (gw_query(r, "limit", limit_s, sizeof(limit_s))) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (*end || limit < 1 || limit > 250)
            return bad_query(r, "query parameter '%s' must be 1..250", "limit");
    }
    /* The cursor is "<created_at with microseconds>~<delivery id>" of the last item seen. */
    char *cur_ts = NULL, *cur_id = NULL, cur_utc[32];
    if (gw_query(r, "cursor", cursor, sizeof(cursor)) && cursor[0]) {
        char *tilde = strchr(cursor, '~');
        if (!tilde || !utc_datetime((*tilde = '\0', cursor), cur_utc) ||
            strlen(tilde + 1) != HL_DELIVERY_ID_LEN - 1)
            return bad_query(r, "query parameter '%s' is not a cursor this API returned",
                             "cursor");
        cur_ts = cur_utc;
        cur_id = tilde + 1;
    }
    snprintf(fetch, sizeof(fetch), "%ld", limit + 1);
    const char *params[] = {r->who.tenant, fetch, wh[0] ? wh : NULL, type[0] ? type : NULL,
                            status[0] ? status : NULL, since[0] ? since : NULL,
                            until[0] ? until : NULL, cur_ts, cur_id};
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(
        r, &conn,
        "SELECT " DELIVERY_JSON " FROM deliveries WHERE tenant_id = $1"
        " AND ($3::uuid IS NULL OR webhook_id = $3::uuid)"
        " AND ($4::text IS NULL OR event_type = $4) AND ($5::text IS NULL OR status = $5)"
        " AND ($6::timestamptz IS NULL OR created_at >= $6::timestamptz)"
        " AND ($7::timestamptz IS NULL OR created_at < $7::timestamptz)"
        " AND ($8::timestamptz IS NULL OR (created_at, id) < ($8::timestamptz, $9::text))"
        " ORDER BY created_at DESC, id DESC LIMIT $2",
        9, params);
    if (!res)
        return 503;
    int n = PQntuples(res);
    json_t *data = json_array();
    json_t *next = json_null();
    for (int i = 0; i < n && i < limit; i++) {
        json_t *d = gw_row_json(res, i);
        if (i == limit - 1 && n > limit)
            next = json_incref(json_object_get(d, "cursor"));
        json_object_del(d, "cursor");
        json_array_append_new(data, d);
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return gw_reply_json(r, 200, json_pack("{s:o, s:o}", "data", data, "next_cursor", next));
}

static int get_one(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant, id};
    PGresult *res = gw_query_json(
        r, &conn,
        "SELECT (" DELIVERY_JSON "::jsonb - 'cursor' || jsonb_build_object('event', payload,"
        " 'attempts_log', coalesce((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt_no,"
        "   'started_at', to_char(a.started_at AT TIME ZONE 'UTC',"
        "     'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'http_status', a.http_status,"
        "   'duration_ms', a.duration_ms, 'response_excerpt', a.response_excerpt,"
        "   'error_class', a.error_class, 'error', a.error) ORDER BY a.attempt_no)"
        "   FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]')))::text"
        " FROM deliveries d WHERE tenant_id = $1 AND id = $2",
        2, params);
    if (!res)
        return 503;
    int status;
    if (PQntuples(res) == 0) {
        status = gw_reply_not_found(r, "no delivery '%s'", id);
    } else {
        json_t *d = gw_row_json(res, 0);
        /* "attempts" is the count; the list reads better under that name in the detail. */
        json_object_set(d, "attempt_count", json_object_get(d, "attempts"));
        json_object_set(d, "attempts", json_object_get(d, "attempts_log"));
        json_object_del(d, "attempts_log");
        status = gw_reply_json(r, 200, d);
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

/* Produces tasks for rows (delivery id, webhook id, attempts, payload) of res. Returns
 * how many Kafka acknowledged. */
static size_t redrive(struct gw_req *r, PGresult *res)
{
    int n = PQntuples(res);
    struct gw_kmsg *msgs = calloc((size_t)n + 1, sizeof(*msgs));
    struct hl_buf *bufs = calloc((size_t)n + 1, sizeof(*bufs));
    char (*keys)[HL_UUID_LEN] = calloc((size_t)n + 1, sizeof(*keys));
    int64_t now = hl_now_ms();
    for (int i = 0; i < n; i++) {
        struct hl_task t = {0};
        snprintf(t.delivery_id, sizeof(t.delivery_id), "%s", PQgetvalue(res, i, 0));
        snprintf(keys[i], sizeof(keys[i]), "%s", PQgetvalue(res, i, 1));
        t.tenant = (char *)r->who.tenant;
        t.webhook_id = keys[i];
        t.attempt = (int)strtol(PQgetvalue(res, i, 2), NULL, 10);
        t.budget_base = t.attempt; /* a fresh budget of attempts */
        t.due_ms = now;
        t.created_ms = now;
        t.event = json_loads(PQgetvalue(res, i, 3), 0, NULL);
        hl_task_encode(&t, &bufs[i]);
        json_decref(t.event);
        msgs[i] = (struct gw_kmsg){.topic = r->ctx->deliveries_topic, .key = keys[i],
                                   .value = bufs[i].ptr, .value_len = bufs[i].len};
    }
    size_t ok = 0;
    if (n > 0)
        gw_produce_wait(r->ctx->producer, msgs, (size_t)n);
    for (int i = 0; i < n; i++) {
        ok += msgs[i].err == 0;
        hl_buf_release(&bufs[i]);
    }
    free(msgs);
    free(bufs);
    free(keys);
    return ok;
}

static int retry_one(struct gw_req *r, const char *id)
{
    PGconn *conn = NULL;
    const char *params[] = {r->who.tenant, id};
    PGresult *res = gw_query_json(r, &conn,
                                  "SELECT id, webhook_id, attempts, payload::text, status"
                                  " FROM deliveries WHERE tenant_id = $1 AND id = $2",
                                  2, params);
    if (!res)
        return 503;
    int status;
    if (PQntuples(res) == 0) {
        status = gw_reply_not_found(r, "no delivery '%s'", id);
    } else if (redrive(r, res) != 1) {
        status = gw_reply_problem(r, 503, "unavailable", "Retry not accepted",
                                  "the retry could not be written to Kafka; retry later");
    } else {
        hl_log(HL_LOG_INFO, "deliveries", "manual retry of delivery '%s'", id);
        status = gw_reply_json(r, 202, json_pack("{s:s, s:s}", "id", id, "status", "pending"));
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

/* POST {id}/replay {"since", "until"?}: re-sends the webhook's failed and skipped
 * deliveries created in [since, until). */
static int replay(struct gw_req *r, const char *webhook_id)
{
    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    /* schemas/api/webhook-replay.schema.json: since required, both RFC 3339 date-times. */
    int status = gw_validate(r, "webhook-replay", body, "the replay request is not valid");
    if (status)
        goto out;
    json_t *jsince = json_object_get(body, "since"), *juntil = json_object_get(body, "until");
    char since[32], until[32], max[16];
    if (!utc_datetime(json_string_value(jsince), since) ||
        (juntil && !utc_datetime(json_string_value(juntil), until))) {
        struct gw_errors e;
        gw_errors_init(&e);
        gw_errors_add(&e, utc_datetime(json_string_value(jsince), since) ? "/until" : "/since",
                      "must be a date-time of years 0001..9999");
        status = gw_reply_invalid(r, &e, "the replay request is not valid");
        gw_errors_release(&e);
        goto out;
    }
    snprintf(max, sizeof(max), "%d", REPLAY_MAX);
    const char *params[] = {r->who.tenant, webhook_id, since, juntil ? until : NULL, max};
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(
        r, &conn,
        "SELECT d.id, d.webhook_id, d.attempts, d.payload::text FROM deliveries d"
        " WHERE d.tenant_id = $1 AND d.webhook_id = $2 AND d.status IN ('failed', 'skipped')"
        " AND d.created_at >= $3::timestamptz AND ($4::timestamptz IS NULL OR"
        " d.created_at < $4::timestamptz) AND EXISTS (SELECT 1 FROM webhooks w WHERE"
        " w.id = d.webhook_id AND w.tenant_id = $1) ORDER BY d.created_at LIMIT $5",
        5, params);
    if (!res) {
        status = 503;
        goto out;
    }
    size_t found = (size_t)PQntuples(res), sent = redrive(r, res);
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    hl_log(HL_LOG_INFO, "deliveries", "replayed %zu of %zu deliveries of webhook '%s'", sent,
           found, webhook_id);
    if (sent < found)
        status = gw_reply_problem(r, 503, "unavailable", "Replay incomplete",
                                  "%zu of %zu deliveries were re-sent; retry the replay", sent,
                                  found);
    else
        status = gw_reply_json(r, 202, json_pack("{s:I, s:b}", "replayed", (json_int_t)sent,
                                                 "truncated", found == REPLAY_MAX));
out:
    json_decref(body);
    return status;
}

/* POST {id}/test: a system.webhook.test event for this one webhook, through the normal
 * delivery path. With ?wait=true the answer waits for the outcome (up to 30 s). */
static int test_send(struct gw_req *r, const char *webhook_id)
{
    char err[256], event_id[HL_UUID_LEN], delivery_id[HL_DELIVERY_ID_LEN], ts[HL_ISO8601_LEN];
    PGconn *conn = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!conn)
        return gw_reply_db_unreachable(r, "webhook store");
    const char *params[] = {r->who.tenant, webhook_id};
    PGresult *res = PQexecParams(conn, "SELECT 1 FROM webhooks WHERE tenant_id = $1 AND id = $2",
                                 2, NULL, params, NULL, NULL, 0);
    bool exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    PQclear(res);
    if (!exists) {
        gw_db_release(r->ctx->db, conn);
        return gw_reply_not_found(r, "no webhook '%s'", webhook_id);
    }

    hl_uuid_v7(event_id);
    hl_iso8601_ms(hl_now_ms(), ts);
    hl_delivery_id(r->who.tenant, event_id, webhook_id, HL_ID_VERSION_TIME_ORDERED,
                   delivery_id);
    struct hl_task t = {.tenant = (char *)r->who.tenant, .webhook_id = (char *)webhook_id,
                        .due_ms = hl_now_ms(), .created_ms = hl_now_ms()};
    snprintf(t.delivery_id, sizeof(t.delivery_id), "%s", delivery_id);
    t.event = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:{}}", "id", event_id, "event",
                        "system.webhook.test", "tenant", r->who.tenant, "timestamp", ts, "data",
                        "webhook_id", webhook_id, "message", "a test delivery from Hookline",
                        "metadata");
    struct hl_buf b = HL_BUF_INIT;
    hl_task_encode(&t, &b);
    json_decref(t.event);
    struct gw_kmsg m = {.topic = r->ctx->deliveries_topic, .key = webhook_id, .value = b.ptr,
                        .value_len = b.len};
    hl_err perr = gw_produce_wait(r->ctx->producer, &m, 1);
    hl_buf_release(&b);
    if (perr) {
        gw_db_release(r->ctx->db, conn);
        return gw_reply_problem(r, 503, "unavailable", "Test not sent",
                                "the test could not be written to Kafka; retry later");
    }

    char wait[8] = "";
    json_t *outcome = NULL;
    if (gw_query(r, "wait", wait, sizeof(wait)) && strcmp(wait, "true") == 0) {
        const char *p2[] = {r->who.tenant, delivery_id};
        for (int64_t deadline = hl_mono_ms() + TEST_WAIT_MS; hl_mono_ms() < deadline;) {
            res = PQexecParams(conn,
                               "SELECT " DELIVERY_JSON " FROM deliveries WHERE tenant_id = $1"
                               " AND id = $2 AND status IN ('succeeded', 'failed', 'skipped')",
                               2, NULL, p2, NULL, NULL, 0);
            if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
                outcome = gw_row_json(res, 0);
                json_object_del(outcome, "cursor");
            }
            PQclear(res);
            if (outcome)
                break;
            usleep(100 * 1000);
        }
    }
    gw_db_release(r->ctx->db, conn);
    if (outcome)
        return gw_reply_json(r, 200, outcome);
    return gw_reply_json(r, 202, json_pack("{s:s, s:s, s:s}", "id", delivery_id, "event_id",
                                           event_id, "status", "pending"));
}

/* GET {id}/stats?window_hours=N (1..720, default 24). */
static int stats(struct gw_req *r, const char *webhook_id)
{
    char hours[16] = "24";
    if (gw_query(r, "window_hours", hours, sizeof(hours))) {
        char *end;
        long h = strtol(hours, &end, 10);
        if (*end || h < 1 || h > 720)
            return bad_query(r, "query parameter '%s' must be 1..720", "window_hours");
    }
    const char *params[] = {r->who.tenant, webhook_id, hours};
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(
        r, &conn,
        "WITH w AS (SELECT id FROM webhooks WHERE tenant_id = $1 AND id = $2),"
        " d AS (SELECT * FROM deliveries WHERE tenant_id = $1 AND webhook_id = $2 AND"
        "   created_at >= now() - make_interval(hours => $3::int)),"
        " a AS (SELECT a.* FROM delivery_attempts a JOIN d ON d.id = a.delivery_id)"
        " SELECT json_build_object('webhook_id', w.id, 'window_hours', $3::int,"
        "  'deliveries', (SELECT count(*) FROM d),"
        "  'succeeded', (SELECT count(*) FROM d WHERE status = 'succeeded'),"
        "  'failed', (SELECT count(*) FROM d WHERE status = 'failed'),"
        "  'pending', (SELECT count(*) FROM d WHERE status IN ('pending', 'retrying')),"
        "  'skipped', (SELECT count(*) FROM d WHERE status = 'skipped'),"
        "  'success_rate', (SELECT round(count(*) FILTER (WHERE status = 'succeeded')::numeric"
        "     / nullif(count(*) FILTER (WHERE status IN ('succeeded', 'failed')), 0), 4) FROM d),"
        "  'average_attempts', (SELECT round(avg(attempts), 2) FROM d"
        "     WHERE status IN ('succeeded', 'failed')),"
        "  'attempts', (SELECT count(*) FROM a),"
        "  'latency_ms', (SELECT json_build_object("
        "     'p50', percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms),"
        "     'p95', percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms),"
        "     'p99', percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms)) FROM a))"
        " FROM w",
        3, params);
    if (!res)
        return 503;
    int status = PQntuples(res) == 0
                     ? gw_reply_not_found(r, "no webhook '%s'", webhook_id)
                     : gw_reply_json(r, 200, gw_row_json(res, 0));
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

static int list_all(struct gw_req *r, const char *unused)
{
    return list(r, NULL);
}

static bool delivery_id_ok(const char *id)
{
    return strlen(id) == HL_DELIVERY_ID_LEN - 1;
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_DB, list_all},
    {"GET", "/{id}", GW_PERM_NONE, GW_ROUTE_DB, get_one},
    {"POST", "/{id}/retry", GW_PERM_NONE, GW_ROUTE_DB, retry_one},
};

const struct gw_resource gw_res_deliveries = {
    .prefix = "/api/v1/deliveries",
    .read_perm = GW_PERM_READ,
    .write_perm = GW_PERM_WRITE,
    .param_ok = delivery_id_ok,
    .not_found = "no such delivery",
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};

/* Runs fn for the caller's webhook webhook_id; someone else's webhook, or none, is 404
 * whatever the action. */
static int for_webhook(struct gw_req *r, const char *webhook_id,
                       int (*fn)(struct gw_req *r, const char *webhook_id))
{
    if (!gw_query_exists(r, "webhooks", webhook_id))
        return gw_reply_not_found(r, "no webhook '%s'", webhook_id);
    return fn(r, webhook_id);
}

int gw_webhook_deliveries(struct gw_req *r, const char *webhook_id)
{
    return for_webhook(r, webhook_id, list);
}

int gw_webhook_stats(struct gw_req *r, const char *webhook_id)
{
    return for_webhook(r, webhook_id, stats);
}

int gw_webhook_replay(struct gw_req *r, const char *webhook_id)
{
    return for_webhook(r, webhook_id, replay);
}

int gw_webhook_test(struct gw_req *r, const char *webhook_id)
{
    return for_webhook(r, webhook_id, test_send);
}
