/* /api/v1/events and /api/v1/events/batch: event ingest.
 *
 * Each event goes through one pipeline, whether it came alone or in a batch of up to 1,000:
 *   1. its shape is checked against schemas/api/event.schema.json (400);
 *   2. a typed event's data against its catalog schema (422);
 *   3. it is wrapped in the envelope of schemas/event.schema.json (413 if too large);
 *   4. a client-given id is claimed in event_ids: a repeat within 24 h gets the original
 *      answer instead of a second event (409 while the first is still in flight);
 *   5. all surviving events are produced together and each waits for Kafka's ack;
 *   6. claims are marked accepted (or released when Kafka refused, so a retry can work).
 * A 202 therefore always means "in Kafka, acks=all"; a refused event was never produced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "gw_body.h"
#include "gw_config.h"
#include "gw_db.h"
#include "gw_event_schemas.h"
#include "gw_idmem.h"
#include "gw_metrics.h"
#include "gw_producer.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_routes_events.h"
#include "gw_schemas.h"
#include "hl/envelope.h"
#include "hl/id.h"
#include "hl/json.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

#define MAX_REQUEST_ID 128
#define DEDUPE_RETENTION "24 hours"

struct item {
    json_t *body; /* borrowed from the request */
    char id[HL_EVENT_ID_MAX + 1];
    char ts[HL_ISO8601_LEN];
    bool client_id;
    bool claimed; /* we own an event_ids row for it */
    bool mem_claimed; /* PostgreSQL down: we own this gateway's memory of it (gw_idmem.h) */
    char *value;  /* the Kafka message */
    size_t value_len;
    int status; /* 0 while still going through the pipeline */
    struct gw_errors errors;
    char detail[256];
    bool duplicate;
    char dup_type[HL_EVENT_TYPE_MAX + 1]; /* the original event's type, for a duplicate */
};

static void item_fail(struct item *it, int status, const char *detail)
{
    it->status = status;
    snprintf(it->detail, sizeof(it->detail), "%s", detail);
}

/* Steps 1-3. */
static void prepare(struct gw_req *r, struct item *it, const char *prefix)
{
    gw_errors_init(&it->errors);
    if (!gw_schema_check("event", it->body, prefix, &it->errors)) {
        item_fail(it, 400, "the event is not valid");
        return;
    }
    const char *type = json_string_value(json_object_get(it->body, "event"));
    int rc = gw_event_schema_check(r, type, json_object_get(it->body, "data"), prefix,
                                   &it->errors);
    if (rc < 0) {
        item_fail(it, 503, "the event-type catalog cannot be read; retry later");
        return;
    }
    if (rc > 0) {
        item_fail(it, 422, "the data does not match the event type's schema");
        return;
    }

    json_t *given = json_object_get(it->body, "id");
    it->client_id = given != NULL;
    if (given)
        snprintf(it->id, sizeof(it->id), "%s", json_string_value(given));
    else
        hl_uuid_v7(it->id);
    hl_iso8601_ms(hl_now_ms(), it->ts);

    /* The envelope, in a fixed key order for readability on the topic, written straight
     * from the request's tree (no envelope tree, no json_dumps). */
    const char *rid = mg_get_header(r->conn, "X-Request-Id");
    if (rid && (!*rid || strlen(rid) > MAX_REQUEST_ID))
        rid = NULL;
    struct hl_buf env = HL_BUF_INIT;
    hl_buf_grow(&env, 512);
    hl_envelope_write(&env, it->body, it->id, r->who.tenant, it->ts, rid);
    it->value = hl_buf_detach(&env, &it->value_len);
    if ((int64_t)it->value_len > r->ctx->cfg->max_event_bytes) {
        char d[160];
        snprintf(d, sizeof(d), "the event is %zu bytes; the limit is %lld", it->value_len,
                 (long long)r->ctx->cfg->max_event_bytes);
        item_fail(it, 413, d);
    }
}

/* Step 4 for one item on conn. */
static void claim(struct gw_req *r, PGconn *conn, struct item *it)
{
    char stale_ms[24];
    snprintf(stale_ms, sizeof(stale_ms), "%lld", (long long)r->ctx->cfg->produce_timeout_ms * 2);
    const char *type = json_string_value(json_object_get(it->body, "event"));
    const char *params[] = {r->who.tenant, it->id, type, stale_ms};
    /* Insert, or take over a pending claim that its request abandoned long ago. */
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO event_ids (tenant_id, id, event_type, state) VALUES ($1, $2, $3, 'pending')"
        " ON CONFLICT (tenant_id, id) DO UPDATE SET created_at = now(), event_type = $3"
        "   WHERE event_ids.state = 'pending'"
        "   AND event_ids.created_at < now() - make_interval(secs => $4::bigint / 1000.0)"
        " RETURNING 1",
        4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        item_fail(it, 503, "event ids cannot be checked for duplicates right now; retry later");
        return;
    }
    bool mine = PQntuples(res) == 1;
    PQclear(res);
    if (mine) {
        it->claimed = true;
        return;
    }
    res = PQexecParams(conn,
                       "SELECT state, coalesce(accepted_at, ''), event_type FROM event_ids"
                       " WHERE tenant_id = $1 AND id = $2",
                       2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
        strcmp(PQgetvalue(res, 0, 0), "accepted") == 0) {
        /* The original answer, again: same id, same accept time, nothing produced. */
        it->duplicate = true;
        it->status = 202;
        snprintf(it->ts, sizeof(it->ts), "%s", PQgetvalue(res, 0, 1));
        snprintf(it->dup_type, sizeof(it->dup_type), "%s", PQgetvalue(res, 0, 2));
    } else {
        item_fail(it, 409, "an event with this id is being accepted by another request; retry");
    }
    PQclear(res);
}

/* Step 6 for one item. */
static void settle_claim(PGconn *conn, struct gw_req *r, struct item *it)
{
    const char *params[] = {r->who.tenant, it->id, it->ts};
    PGresult *res = PQexecParams(
        conn,
        it->status == 202 ? "UPDATE event_ids SET state = 'accepted', accepted_at = $3"
                            " WHERE tenant_id = $1 AND id = $2"
                          : "DELETE FROM event_ids WHERE tenant_id = $1 AND id = $2 AND $3 <> ''",
        3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        hl_log(HL_LOG_WARN, "events", "cannot record the outcome of event '%s': %s", it->id,
               PQresultErrorMessage(res));
    PQclear(res);
}

/* Steps 4-6 over every item still in the pipeline. */
static void accept_items(struct gw_req *r, struct item *items, size_t n)
{
    char err[256];
    PGconn *conn = NULL;
    bool need_db = false;
    for (size_t i = 0; i < n; i++)
        need_db |= items[i].status == 0 && items[i].client_id;
    if (need_db)
        conn = gw_db_acquire(r->ctx->db, err, sizeof(err));
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (it->status != 0 || !it->client_id)
            continue;
        const char *type = json_string_value(json_object_get(it->body, "event"));
        if (conn) {
            /* accepted during an outage and not yet in event_ids: this gateway knows it */
            if (gw_idmem_find(r->who.tenant, it->id, it->ts, it->dup_type, sizeof(it->dup_type)))
                it->duplicate = true, it->status = 202;
            else
                claim(r, conn, it);
            continue;
        }
        /* PostgreSQL cannot be asked: ingest goes on, deduped against this gateway's memory */
        switch (gw_idmem_claim(r->who.tenant, it->id, type, it->ts, it->dup_type,
                               sizeof(it->dup_type))) {
        case GW_IDMEM_NEW: it->mem_claimed = true; break;
        case GW_IDMEM_ACCEPTED: it->duplicate = true, it->status = 202; break;
        case GW_IDMEM_IN_FLIGHT:
            item_fail(it, 409, "an event with this id is being accepted by another request; retry");
            break;
        }
    }

    struct gw_kmsg *msgs = hl_xcalloc(n, sizeof(*msgs));
    size_t *which = hl_xcalloc(n, sizeof(*which));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].status != 0)
            continue;
        msgs[k] = (struct gw_kmsg){.topic = r->ctx->events_topic, .key = items[i].id,
                                   .value = items[i].value, .value_len = items[i].value_len};
        which[k++] = i;
    }
    if (k) {
        gw_produce_wait(r->ctx->producer, msgs, k);
        gw_metrics_acked();
    }
    for (size_t j = 0; j < k; j++) {
        struct item *it = &items[which[j]];
        if (msgs[j].err) {
            char d[256];
            snprintf(d, sizeof(d), "Kafka did not acknowledge the event (%s); it was not "
                                   "accepted, retry later", rd_kafka_err2str(msgs[j].err));
            item_fail(it, 503, d);
        } else {
            it->status = 202;
        }
    }
    for (size_t i = 0; conn && i < n; i++)
        if (items[i].claimed)
            settle_claim(conn, r, &items[i]);
    for (size_t i = 0; i < n; i++)
        if (items[i].mem_claimed)
            gw_idmem_settle(r->who.tenant, items[i].id, items[i].status == 202, items[i].ts);
    gw_db_release(r->ctx->db, conn);
    free(msgs);
    free(which);
}

/* One event's result, written as JSON text: for a single event the 202 body, in a batch
 * one element of "data" (with "index", and "status" as a number). A duplicate answers as
 * the original did; its new body was not produced. */
static void item_result(struct hl_buf *b, struct item *it, const size_t *index)
{
    if (it->status == 202) {
        const char *type = it->duplicate ? it->dup_type
                                         : json_string_value(json_object_get(it->body, "event"));
        hl_buf_adds(b, "{\"id\":");
        hl_buf_add_json_str(b, it->id, strlen(it->id));
        hl_buf_adds(b, ",\"event\":");
        hl_buf_add_json_str(b, type, strlen(type));
        hl_buf_adds(b, ",\"timestamp\":");
        hl_buf_add_json_str(b, it->ts, strlen(it->ts));
        hl_buf_adds(b, index ? ",\"status\":202" : ",\"status\":\"accepted\"");
        hl_buf_adds(b, it->duplicate ? ",\"duplicate\":true" : ",\"duplicate\":false");
    } else {
        hl_buf_addf(b, "{\"status\":%d,\"detail\":", it->status);
        hl_buf_add_json_str(b, it->detail, strlen(it->detail));
        hl_buf_adds(b, ",\"errors\":");
        hl_json_write(b, it->errors.list);
    }
    if (index)
        hl_buf_addf(b, ",\"index\":%zu", *index);
    hl_buf_addch(b, '}');
}

static void items_release(struct item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        gw_metrics_event(items[i].status, items[i].duplicate);
        free(items[i].value);
        gw_errors_release(&items[i].errors);
    }
}

static int post_event(struct gw_req *r, const char *unused)
{
    json_t *body = gw_body_event(r);
    if (!body)
        return 400;
    struct item it = {.body = body};
    int status;
    prepare(r, &it, "");
    if (it.status == 0)
        accept_items(r, &it, 1);
    if (it.status == 202) {
        hl_log(HL_LOG_DEBUG, "events", "accepted event '%s'%s", it.id,
               it.duplicate ? " (duplicate)" : "");
        struct hl_buf res = HL_BUF_INIT;
        item_result(&res, &it, NULL);
        status = gw_reply_json_text(r, 202, res.ptr, res.len);
        hl_buf_release(&res);
    } else if (it.status == 400) {
        status = gw_reply_invalid(r, &it.errors, it.detail);
    } else if (it.status == 422) {
        status = gw_reply_unprocessable(r, &it.errors, it.detail);
    } else {
        static const struct {
            int status;
            const char *slug, *title;
        } kinds[] = {{409, "conflict", "Conflict"},
                     {413, "payload-too-large", "Payload too large"},
                     {503, "unavailable", "Event not accepted"}};
        size_t k = 0;
        while (k < 2 && kinds[k].status != it.status)
            k++;
        status = gw_reply_problem(r, it.status, kinds[k].slug, kinds[k].title, "%s", it.detail);
    }
    items_release(&it, 1);
    json_decref(body);
    return status;
}

/* 207 with one result per event, in order; the request as a whole is refused (400) only
 * when it is not a batch at all. */
static int post_batch(struct gw_req *r, const char *unused)
{
    json_t *body = gw_body_event(r);
    if (!body)
        return 400;
    int status = gw_validate(r, "event-batch", body, "the batch is not valid");
    if (status) {
        json_decref(body);
        return status;
    }
    json_t *events = json_object_get(body, "events");
    size_t n = json_array_size(events);
    struct item *items = hl_xcalloc(n, sizeof(*items));
    for (size_t i = 0; i < n; i++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "/events/%zu", i);
        items[i].body = json_array_get(events, i);
        if (!json_is_object(items[i].body)) {
            gw_errors_init(&items[i].errors);
            gw_errors_add(&items[i].errors, prefix, "must be an event object");
            item_fail(&items[i], 400, "the event is not valid");
            continue;
        }
        prepare(r, &items[i], prefix);
    }
    accept_items(r, items, n);

    struct hl_buf res = HL_BUF_INIT;
    size_t accepted = 0;
    hl_buf_grow(&res, 192 * n + 64);
    hl_buf_adds(&res, "{\"data\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            hl_buf_addch(&res, ',');
        item_result(&res, &items[i], &i);
        accepted += items[i].status == 202;
    }
    hl_buf_addf(&res, "],\"accepted\":%zu,\"rejected\":%zu}", accepted, n - accepted);
    hl_log(HL_LOG_DEBUG, "events", "batch of %zu: %zu accepted", n, accepted);
    status = gw_reply_json_text(r, 207, res.ptr, res.len);
    hl_buf_release(&res);
    items_release(items, n);
    free(items);
    json_decref(body);
    return status;
}

/* Not GW_ROUTE_DB: PostgreSQL serves only parts of ingest (the catalog's schemas, client
 * ids), each of which answers for itself when it is down. */
static const struct gw_route routes[] = {
    {"POST", "", GW_PERM_NONE, 0, post_event},
    {"POST", "/batch", GW_PERM_NONE, 0, post_batch},
};

const struct gw_resource gw_res_events = {
    .prefix = "/api/v1/events",
    .read_perm = GW_PERM_PUBLISH,
    .write_perm = GW_PERM_PUBLISH,
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};

/* Writes the client event ids accepted while PostgreSQL was down to event_ids, once it
 * answers again (gw_idmem.h); nothing to do, and no connection taken, otherwise. */
void gw_events_remember_ids(struct gw_ctx *ctx)
{
    char err[256];
    if (!gw_idmem_pending())
        return;
    PGconn *c = gw_db_acquire(ctx->db, err, sizeof(err));
    if (!c)
        return;
    gw_idmem_flush(c);
    gw_db_release(ctx->db, c);
}

/* Forgets client event ids after the dedupe window. Any gateway may run it; it is cheap
 * thanks to event_ids_created_at_idx. */
void gw_events_expire_ids(struct gw_ctx *ctx)
{
    char err[256];
    PGconn *c = gw_db_acquire(ctx->db, err, sizeof(err));
    if (!c)
        return;
    PGresult *res = PQexec(c, "DELETE FROM event_ids WHERE created_at < now() - interval '"
                              DEDUPE_RETENTION "'");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        hl_log(HL_LOG_WARN, "events", "cannot expire old event ids: %s",
               PQresultErrorMessage(res));
    PQclear(res);
    gw_db_release(ctx->db, c);
}
