/* POST /api/v1/incoming/{source id}: webhooks from other services, turned into events.
 *
 * No API key: the request is authenticated by the source's verification scheme
 * (hl/inverify.h), with the source's credential opened from its sealed column for the
 * duration of the check and wiped afterwards. The pipeline, each step refusing with
 * problem+json and producing nothing:
 *   1. the source exists and is active (404; body size was limited before routing: 413);
 *   2. the request verifies, in constant time, with a fresh timestamp where the scheme
 *      signs one (401), and is within the source's rate_limit_per_s, if it has one (429
 *      with Retry-After);
 *   3. the body becomes the event's data: JSON when it parses as JSON; a body declared as
 *      JSON that does not parse is refused (400); any other body is wrapped as
 *      {"content_type", "body" | "body_base64"}, unless the source needs JSON for a JSON
 *      pointer or a payload schema (415);
 *   4. the payload matches the source's schema (422 with pointers into the body);
 *   5. the event type is resolved (fixed, header, JSON pointer; 422 when it cannot be) and
 *      a typed event's data is checked against its catalog schema like any ingested event;
 *   6. the envelope (metadata {"source": id}) is produced to the events topic and the
 *      answer, 202 with the event id, waits for Kafka's acknowledgement (acks=all).
 * From there the event fans out to matching webhooks like any other. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "gw_config.h"
#include "gw_db.h"
#include "gw_event_schemas.h"
#include "gw_metrics.h"
#include "gw_producer.h"
#include "gw_ratelimit.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_routes_incoming.h"
#include "gw_routes_sources.h"
#include "gw_secrets.h"
#include "gw_source_schemas.h"
#include "gw_sql.h"
#include "hl/envelope.h"
#include "hl/id.h"
#include "hl/inverify.h"
#include "hl/jsonptr.h"
#include "hl/jsonschema.h"
#include "hl/json.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/match.h"
#include "hl/sign.h"
#include "hl/time.h"
#include "hl/banned.h"

#define MAX_REQUEST_ID 128

struct source {
    char id[HL_UUID_LEN];
    char tenant[HL_TENANT_MAX + 1];
    json_t *verification;
    json_t *event_type;
    json_t *schema; /* NULL when none */
    char version[40]; /* updated_at in microseconds: names the schema's version */
    char *sealed;
    int rate_limit_per_s; /* 0 when none */
};

static void source_release(struct source *s)
{
    json_decref(s->verification);
    json_decref(s->event_type);
    json_decref(s->schema);
    free(s->sealed);
}

/* Step 1. Returns 0 with *s filled, or the status of the reply sent. */
static int load_source(struct gw_req *r, const char *id, struct source *s)
{
    const char *params[] = {id};
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(
        r, &conn,
        "SELECT tenant_id, verification::text, event_type::text, schema::text, secret,"
        " coalesce(rate_limit_per_s, 0), (extract(epoch FROM updated_at) * 1000000)::bigint"
        " FROM sources WHERE id = $1 AND status = 'active'",
        1, params);
    if (!res)
        return 503;
    int status = 0;
    if (PQntuples(res) == 0) {
        status = gw_reply_problem(r, 404, "not-found", "Not found",
                                  "no active source '%s'", id);
    } else {
        snprintf(s->id, sizeof(s->id), "%s", id);
        snprintf(s->tenant, sizeof(s->tenant), "%s", PQgetvalue(res, 0, 0));
        s->verification = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
        s->event_type = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
        if (!PQgetisnull(res, 0, 3))
            s->schema = json_loads(PQgetvalue(res, 0, 3), JSON_DECODE_ANY, NULL);
        s->sealed = hl_xstrdup(PQgetvalue(res, 0, 4));
        s->rate_limit_per_s = (int)strtol(PQgetvalue(res, 0, 5), NULL, 10);
        snprintf(s->version, sizeof(s->version), "%s", PQgetvalue(res, 0, 6));
        if (!s->verification || !s->event_type)
            abort(); /* PostgreSQL rendered it: not being JSON is a bug */
    }
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return status;
}

static const char *vstr(const json_t *v, const char *key)
{
    const char *s = json_string_value(json_object_get(v, key));
    return s ? s : "";
}

/* Step 2b: the source's own rate limit, a token bucket "source:<id>" of burst = one
 * second's worth (gw_ratelimit.c). Checked after verification: otherwise anyone who knows
 * a source's URL could use up its budget with forged requests and get the sender's real
 * webhooks refused (GitHub, for one, does not retry). A forged request costs one HMAC
 * over a body already limited in size. Returns 0 or the status of the 429. */
static int rate_limit(struct gw_req *r, const struct source *s)
{
    char bucket[16 + HL_UUID_LEN];
    int retry_after;
    if (s->rate_limit_per_s <= 0)
        return 0;
    snprintf(bucket, sizeof(bucket), "source:%s", s->id);
    double rate = s->rate_limit_per_s;
    if (gw_rate_allow(bucket, rate, rate, &retry_after))
        return 0;
    hl_log(HL_LOG_DEBUG, "ratelimit", "source '%s' over %d requests/s", s->id,
           s->rate_limit_per_s);
    return gw_reply_rate_limited(r, retry_after,
                                 "this source accepts %d requests per second (in bursts of as "
                                 "many); retry in %d s",
                                 s->rate_limit_per_s, retry_after);
}

/* Step 2 with the opened credential. HL_OK or HL_EINVAL with the reason in why (which never
 * holds a credential or a signature). */
static hl_err verify(struct gw_req *r, const json_t *v, const char *cred, char *why,
                     size_t whylen)
{
    const char *type = vstr(v, "type");
    json_t *tol = json_object_get(v, "tolerance_s");
    int64_t tolerance = tol ? json_integer_value(tol) : GW_SOURCE_TOLERANCE_S;
    int64_t now_s = hl_now_ms() / 1000;
    size_t clen = strlen(cred);

    if (strcmp(type, "hmac") == 0) {
        hl_hmac_alg alg;
        hl_sig_encoding enc;
        if (hl_hmac_alg_parse(vstr(v, "algorithm"), &alg) ||
            hl_sig_encoding_parse(vstr(v, "encoding"), &enc)) {
            snprintf(why, whylen, "the source's HMAC settings are unusable");
            return HL_EINVAL;
        }
        return hl_inverify_hmac(alg, enc, vstr(v, "prefix"), cred, clen,
                                mg_get_header(r->conn, vstr(v, "header")), r->body, r->body_len,
                                why, whylen);
    }
    if (strcmp(type, "github") == 0)
        return hl_inverify_hmac(HL_HMAC_SHA256, HL_SIGENC_HEX, "sha256=", cred, clen,
                                mg_get_header(r->conn, "X-Hub-Signature-256"), r->body,
                                r->body_len, why, whylen);
    if (strcmp(type, "stripe") == 0)
        return hl_inverify_stripe(cred, clen, mg_get_header(r->conn, "Stripe-Signature"), r->body,
                                  r->body_len, now_s, tolerance, why, whylen);
    if (strcmp(type, "standard_webhooks") == 0)
        return hl_inverify_standard(cred, mg_get_header(r->conn, "webhook-id"),
                                    mg_get_header(r->conn, "webhook-timestamp"),
                                    mg_get_header(r->conn, "webhook-signature"), r->body,
                                    r->body_len, now_s, tolerance, why, whylen);
    if (strcmp(type, "basic") == 0)
        return hl_inverify_basic(mg_get_header(r->conn, "Authorization"), vstr(v, "username"),
                                 cred, why, whylen);
    if (strcmp(type, "api_key") == 0)
        return hl_inverify_api_key(mg_get_header(r->conn, vstr(v, "header")), cred, why, whylen);
    snprintf(why, whylen, "the source's verification type is unknown");
    return HL_EINVAL;
}

/* Step 2: opens the credential, verifies, wipes. Returns 0 or the status of the reply.
 *
 * A credential that does not open (sealed under a master key missing from this gateway's
 * ring, or copied from another row, so its AAD does not match) is 503, not 500 and not 401:
 * the sender did nothing wrong and must not be told its signature failed, and the fault is
 * one an operator fixes without the sender changing anything (deploy the ring with the
 * missing key, or PATCH a new credential), so a sender's retry can succeed. The log line
 * names the source and the key id, never the sealed or opened value. */
static int authenticate(struct gw_req *r, const struct source *s)
{
    char aad[GW_SOURCE_AAD_LEN], why[256], key_id[HL_KEYRING_ID_MAX + 1] = "?";
    struct hl_buf cred = HL_BUF_INIT;
    int status = 0;
    gw_source_aad(s->id, aad);
    if (hl_keyring_open(&r->ctx->keyring, aad, s->sealed, &cred, why, sizeof(why)) != HL_OK) {
        hl_sealed_key_id(s->sealed, key_id);
        hl_log(HL_LOG_ERROR, "incoming",
               "cannot open the credential of source '%s' sealed under master key '%s': %s; "
               "load that key into the ring or give the source a new credential",
               s->id, key_id, why);
        status = gw_reply_problem(r, 503, "credential-unavailable", "Source credential unavailable",
                                  "the stored credential of this source cannot be opened by "
                                  "the gateway, so no request to it can be verified; the "
                                  "operator has been told in the log; retry later");
    } else if (verify(r, s->verification, hl_buf_str(&cred), why, sizeof(why)) != HL_OK) {
        hl_log(HL_LOG_INFO, "incoming", "refused a request to source '%s': %s", s->id, why);
        status = gw_reply_problem(r, 401, "verification-failed", "Unauthorized",
                                  "the request does not verify for this source: %s", why);
    }
    hl_buf_wipe(&cred);
    return status;
}

static bool media_is_json(const char *ctype)
{
    size_t n = strcspn(ctype, ";");
    while (n && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
        n--;
    return (n == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ctype + n - 5, "+json", 5) == 0);
}

/* Step 3. Returns 0 with *data set (a new reference), or the status of the reply. */
static int payload(struct gw_req *r, const struct source *s, json_t **data)
{
    const char *ctype = mg_get_header(r->conn, "Content-Type");
    bool declared = ctype && media_is_json(ctype);
    json_error_t jerr;
    char why[JSON_ERROR_TEXT_LENGTH];
    *data = r->body_len
                ? json_loadb(r->body, r->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr)
                : NULL;
    if (*data)
        return 0;
    if (declared)
        return r->body_len ? gw_reply_problem(r, 400, "invalid-json", "Invalid JSON",
                                              "the body is not valid JSON: %s (line %d, column %d)",
                                              hl_json_error_text(&jerr, why, sizeof(why)),
                                              jerr.line, jerr.column)
                           : gw_reply_problem(r, 400, "invalid-json", "Invalid JSON",
                                              "the body is empty");
    bool needs_json = s->schema || strcmp(vstr(s->event_type, "from"), "json_pointer") == 0;
    if (needs_json)
        return gw_reply_problem(r, 415, "unsupported-media-type", "Unsupported media type",
                                "this source takes JSON bodies (it has a %s)",
                                s->schema ? "payload schema" : "JSON pointer event type");
    json_t *text = json_stringn(r->body ? r->body : "", r->body_len);
    if (text) {
        *data = json_pack("{s:s, s:o}", "content_type", ctype ? ctype : "", "body", text);
    } else { /* not UTF-8 */
        char *b64 = hl_xmalloc(4 * ((r->body_len + 2) / 3) + 1);
        size_t n = hl_base64_encode((const unsigned char *)r->body, r->body_len, b64);
        *data = json_pack("{s:s, s:s%}", "content_type", ctype ? ctype : "", "body_base64", b64,
                          n);
        free(b64);
    }
    return 0;
}

/* Step 4. Returns 0 or the status of the reply. The compiled schema comes from the cache
 * (gw_source_schemas.c), keyed by the row's updated_at. One that no longer compiles (an
 * older Hookline accepted it) is logged and not enforced rather than refusing every
 * webhook, as for event types. */
static int check_payload_schema(struct gw_req *r, const struct source *s, const json_t *data)
{
    if (!s->schema)
        return 0;
    struct gw_source_schema *cached = gw_source_schema_get(s->id, s->version, s->schema);
    const struct hl_schema *compiled = gw_source_schema_compiled(cached);
    int status = 0;
    if (compiled) {
        struct hl_schema_result res;
        hl_schema_result_init(&res, HL_SCHEMA_DEFAULT_MAX_ERRORS);
        if (!hl_schema_validate(compiled, data, &res)) {
            struct gw_errors e = {.list = hl_schema_errors_to_json(&res)};
            status = gw_reply_unprocessable(r, &e,
                                            "the payload does not match the source's schema");
            gw_errors_release(&e);
        }
        hl_schema_result_release(&res);
    }
    gw_source_schema_put(cached);
    return status;
}

static int type_unresolved(struct gw_req *r, const char *pointer, const char *detail)
{
    struct gw_errors e;
    gw_errors_init(&e);
    gw_errors_add(&e, pointer, "%s", detail);
    int st = gw_reply_unprocessable(r, &e, "the event type cannot be taken from the request");
    gw_errors_release(&e);
    return st;
}

/* Step 5a. Writes the event type into out; returns 0 or the status of the reply. */
static int event_type(struct gw_req *r, const struct source *s, json_t *data,
                      char out[HL_EVENT_TYPE_MAX + 1])
{
    char detail[256];
    const json_t *et = s->event_type;
    const char *from = vstr(et, "from");
    if (strcmp(from, "fixed") == 0) {
        snprintf(out, HL_EVENT_TYPE_MAX + 1, "%s", vstr(et, "value"));
        return 0;
    }
    const char *taken = NULL;
    const char *where = "";
    if (strcmp(from, "header") == 0) {
        taken = mg_get_header(r->conn, vstr(et, "header"));
    } else {
        where = vstr(et, "pointer");
        json_t *v = hl_jsonptr_get(data, where);
        if (v && !json_is_string(v))
            return type_unresolved(r, where, "must be a string to name the event type");
        taken = json_string_value(v);
    }
    if (!taken || !*taken) {
        json_t *dflt = json_object_get(et, "default");
        if (dflt) {
            snprintf(out, HL_EVENT_TYPE_MAX + 1, "%s", json_string_value(dflt));
            return 0;
        }
        if (strcmp(from, "json_pointer") == 0)
            return type_unresolved(r, where, "is missing; it names the event type");
        snprintf(detail, sizeof(detail), "the header '%s' naming the event type is missing",
                 vstr(et, "header"));
        return type_unresolved(r, "", detail);
    }
    int n = snprintf(out, HL_EVENT_TYPE_MAX + 1, "%s%s", vstr(et, "prefix"), taken);
    if (n > HL_EVENT_TYPE_MAX || !hl_event_type_valid(out)) {
        snprintf(detail, sizeof(detail),
                 "'%.128s' is not an event type (dot-separated letters, digits, '_' and '-', "
                 "at most 128 with the prefix)",
                 taken);
        return type_unresolved(r, where, detail);
    }
    return 0;
}

/* Step 5b: the catalog schema of a typed event, with pointers into the body. */
static int check_catalog_schema(struct gw_req *r, const char *type, const json_t *data)
{
    struct gw_errors e;
    gw_errors_init(&e);
    int rc = gw_event_schema_check(r, type, data, "", &e);
    int status = 0;
    if (rc < 0) {
        status = gw_reply_problem(r, 503, "unavailable", "Event not accepted",
                                  "the event-type catalog cannot be read; retry later");
    } else if (rc > 0) {
        /* gw_event_schema_check points into the envelope's data; here the data is the body. */
        size_t i;
        json_t *err;
        json_array_foreach(e.list, i, err) {
            const char *p = json_string_value(json_object_get(err, "pointer"));
            if (p && strncmp(p, "/data", 5) == 0)
                json_object_set_new(err, "pointer", json_string(p + 5));
        }
        status = gw_reply_unprocessable(r, &e, "the data does not match the event type's schema");
    }
    gw_errors_release(&e);
    return status;
}

/* Step 6. */
static int produce(struct gw_req *r, const struct source *s, const char *type, json_t *data)
{
    char id[HL_UUID_LEN], ts[HL_ISO8601_LEN];
    hl_uuid_v7(id);
    hl_iso8601_ms(hl_now_ms(), ts);
    json_t *env = json_object();
    json_object_set_new(env, "id", json_string(id));
    json_object_set_new(env, "event", json_string(type));
    json_object_set_new(env, "tenant", json_string(s->tenant));
    json_object_set_new(env, "timestamp", json_string(ts));
    const char *rid = mg_get_header(r->conn, "X-Request-Id");
    if (rid && *rid && strlen(rid) <= MAX_REQUEST_ID)
        json_object_set_new(env, "request_id", json_string(rid));
    json_object_set(env, "data", data);
    json_object_set_new(env, "metadata", json_pack("{s:s}", "source", s->id));
    char *value = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    size_t len = strlen(value);
    int status;
    if ((int64_t)len > r->ctx->cfg->max_event_bytes) {
        status = gw_reply_problem(r, 413, "payload-too-large", "Payload too large",
                                  "the event is %zu bytes; the limit is %lld", len,
                                  (long long)r->ctx->cfg->max_event_bytes);
        goto out;
    }
    struct gw_kmsg msg = {.topic = r->ctx->events_topic, .key = id, .value = value,
                          .value_len = len};
    hl_err produced = gw_produce_wait(r->ctx->producer, &msg, 1);
    gw_metrics_acked();
    if (produced != HL_OK) {
        status = gw_reply_problem(r, 503, "unavailable", "Event not accepted",
                                  "Kafka did not acknowledge the event (%s); it was not "
                                  "accepted, retry later",
                                  rd_kafka_err2str(msg.err));
        goto out;
    }
    hl_log(HL_LOG_DEBUG, "incoming", "source '%s' produced event '%s' (%s)", s->id, id, type);
    status = gw_reply_json(r, 202, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "event", type,
                                             "timestamp", ts, "status", "accepted", "source",
                                             s->id));
out:
    free(value);
    return status;
}

static int receive(struct gw_req *r, const char *rest)
{
    char id[HL_UUID_LEN], type[HL_EVENT_TYPE_MAX + 1];
    struct source s = {0};
    json_t *data = NULL;
    int status;
    snprintf(id, sizeof(id), "%s", rest);
    if ((status = load_source(r, id, &s)))
        goto out;
    if ((status = authenticate(r, &s)) || (status = rate_limit(r, &s)))
        goto out;
    /* From here on the request is the source's: its tenant scopes every lookup. */
    snprintf(r->who.tenant, sizeof(r->who.tenant), "%s", s.tenant);
    if ((status = payload(r, &s, &data)) || (status = check_payload_schema(r, &s, data)) ||
        (status = event_type(r, &s, data, type)) || (status = check_catalog_schema(r, type, data)))
        goto out;
    status = produce(r, &s, type, data);
out:
    json_decref(data);
    source_release(&s);
    return status;
}

/* Public: the source's own verification authenticates the request, not an API key. Not
 * GW_ROUTE_DB: the source is read from PostgreSQL, and load_source answers for itself. */
static const struct gw_route routes[] = {
    {"POST", "/{source_id}", GW_PERM_NONE, 0, receive},
};

const struct gw_resource gw_res_incoming = {
    .prefix = "/api/v1/incoming",
    .flags = GW_RES_PUBLIC,
    .param_ok = gw_uuid_like,
    .not_found = "no such source",
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};
