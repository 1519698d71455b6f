/* /api/v1/events: event ingest.
 *
 * An event is validated, wrapped in the envelope of schemas/event.schema.json (id, event
 * type, tenant, accept timestamp, request id, data, metadata) and produced to
 * <prefix>.events keyed by its id. The 202 is sent only after Kafka acknowledged the write,
 * so an accepted event is never lost; anything invalid is refused before any produce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "hl/envelope.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/time.h"
#include "hl/banned.h"

#define MAX_REQUEST_ID 128

/* Builds the Kafka message value. Key order is fixed for readability on the topic. */
static json_t *envelope(struct gw_req *r, json_t *body, const char *id)
{
    char ts[HL_ISO8601_LEN];
    hl_iso8601_ms(hl_now_ms(), ts);
    json_t *env = json_object();
    json_object_set_new(env, "id", json_string(id));
    json_object_set(env, "event", json_object_get(body, "event"));
    json_object_set_new(env, "tenant", json_string(r->who.tenant));
    json_object_set_new(env, "timestamp", json_string(ts));
    json_t *occ = json_object_get(body, "occurred_at");
    if (occ && json_is_string(occ))
        json_object_set(env, "occurred_at", occ);
    const char *rid = mg_get_header(r->conn, "X-Request-Id");
    if (rid && *rid && strlen(rid) <= MAX_REQUEST_ID)
        json_object_set_new(env, "request_id", json_string(rid));
    json_t *actor = json_object_get(body, "actor_id");
    if (actor && !json_is_null(actor))
        json_object_set(env, "actor_id", actor);
    json_object_set(env, "data", json_object_get(body, "data"));
    json_t *meta = json_object_get(body, "metadata");
    json_object_set_new(env, "metadata", meta && json_is_object(meta) ? json_incref(meta)
                                                                      : json_object());
    return env;
}

static int post_event(struct gw_req *r)
{
    char id[HL_EVENT_ID_MAX + 1];
    char *value = NULL;
    json_t *env = NULL;
    int status;

    json_t *body = gw_body_object(r);
    if (!body)
        return 400;
    if ((status = gw_validate(r, "event", body, "the event is not valid")))
        goto out;
    json_t *given = json_object_get(body, "id");
    if (given && json_is_string(given))
        snprintf(id, sizeof(id), "%s", json_string_value(given));
    else
        hl_uuid_v7(id);

    env = envelope(r, body, id);
    value = json_dumps(env, JSON_COMPACT);
    size_t len = strlen(value);
    if ((int64_t)len > r->ctx->cfg->max_event_bytes) {
        status = gw_reply_problem(r, 413, "payload-too-large", "Payload too large",
                                  "the event is %zu bytes; the limit is %lld", len,
                                  (long long)r->ctx->cfg->max_event_bytes);
        goto out;
    }

    struct gw_kmsg m = {.topic = r->ctx->events_topic, .key = id, .value = value,
                        .value_len = len};
    if (gw_produce_wait(r->ctx->producer, &m, 1) != HL_OK) {
        status = gw_reply_problem(r, 503, "broker-unavailable", "Event not accepted",
                                  "the event could not be written to Kafka (%s); it was not "
                                  "accepted, retry later", rd_kafka_err2str(m.err));
        goto out;
    }
    hl_log(HL_LOG_DEBUG, "events", "accepted event '%s' type '%s'", id,
           json_string_value(json_object_get(env, "event")));
    status = gw_reply_json(r, 202, json_pack("{s:s, s:O, s:O, s:s}", "id", id, "event",
                                             json_object_get(env, "event"), "timestamp",
                                             json_object_get(env, "timestamp"), "status",
                                             "accepted"));
out:
    free(value);
    json_decref(env);
    json_decref(body);
    return status;
}

int gw_route_events(struct gw_req *r, const char *rest)
{
    int st = gw_require(r, GW_PERM_PUBLISH);
    if (st)
        return st;
    if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
        if (strcmp(r->info->request_method, "POST") == 0)
            return post_event(r);
        return gw_reply_problem(r, 405, "method-not-allowed", "Method not allowed",
                                "'%s' allows POST", r->info->local_uri);
    }
    return gw_reply_problem(r, 404, "not-found", "Not found", "no route for '%s'",
                            r->info->local_uri);
}
