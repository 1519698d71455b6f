/* Names shared by the gateway's files: its configuration, the process-wide context handed
 * to every request handler, and the helpers the route files are written with. */
#ifndef GW_H
#define GW_H

#include <civetweb.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "hl/buf.h"
#include "hl/config.h"
#include "hl/err.h"
#include "hl/kafka.h"
#include "hl/keyring.h"

struct gw_config {
    struct hl_common_cfg common;
    char *http_host;
    int64_t http_port;
    int64_t http_threads;
    int64_t max_body_bytes;
    int64_t max_event_bytes;
    int64_t max_json_depth;
    int64_t request_timeout_ms;
    int64_t api_key_rate_limit_per_s;
    int64_t api_key_rate_burst;
    char *tls_cert_file;
    char *tls_key_file;
    int64_t events_partitions;
    int64_t topic_replication;
    int64_t topic_min_insync_replicas;
    int64_t produce_timeout_ms;
    int64_t linger_ms;
    char *kafka_compression;
    int64_t pg_pool_size;
    char *migrations_dir;
    char *admin_api_key;
    char *schemas_dir;
};

extern const struct hl_cfg_opt gw_config_opts[];
extern const size_t gw_config_nopts;

/* A pool of PostgreSQL connections shared by the civetweb worker threads.
 * @locks its own mutex; any thread may call. */
struct gw_db;
struct gw_db *gw_db_new(const char *dsn, int size);
void gw_db_free(struct gw_db *db);
/* Borrows a connection, connecting if needed; NULL (errbuf set) when PostgreSQL is down. */
PGconn *gw_db_acquire(struct gw_db *db, char *errbuf, size_t errlen);
/* Returns a borrowed connection; a broken one is closed instead of pooled. */
void gw_db_release(struct gw_db *db, PGconn *conn);

/* The Kafka producer: idempotent (acks=all), with a thread serving delivery reports so that
 * request threads can block until the broker has acknowledged their messages. */
struct gw_producer;
struct gw_producer *gw_producer_new(const struct gw_config *cfg, char *errbuf, size_t errlen);
/* Flushes outstanding messages (bounded by the produce timeout) and frees. */
void gw_producer_free(struct gw_producer *p);

struct gw_kmsg {
    const char *topic;
    const char *key;
    const char *value;
    size_t value_len;
    rd_kafka_resp_err_t err; /* out: the broker's verdict for this message */
};
/* Produces n messages and waits until each is acknowledged or failed (per-message err).
 * Returns HL_OK when all were acknowledged.
 * @locality any thread; blocks the caller up to produce_timeout_ms. */
hl_err gw_produce_wait(struct gw_producer *p, struct gw_kmsg *msgs, size_t n);
bool gw_producer_healthy(struct gw_producer *p);
/* Fetches topic's metadata (waiting up to timeout_ms) so that the first events produced to
 * it do not wait for it; a failure is logged, not fatal (librdkafka keeps trying).
 * @locality the main thread, before serving. */
void gw_producer_warm(struct gw_producer *p, const char *topic, int timeout_ms);

/* Roles in increasing power; see gw_auth.c. */
typedef enum {
    GW_ROLE_NONE = 0,
    GW_ROLE_VIEWER,
    GW_ROLE_PUBLISHER,
    GW_ROLE_TENANT_ADMIN,
    GW_ROLE_ADMIN,
} gw_role;

typedef enum { GW_PERM_READ, GW_PERM_PUBLISH, GW_PERM_WRITE, GW_PERM_ADMIN } gw_perm;

/* Who is calling: the key's role and the tenant every query is scoped to ("" for an
 * admin key that named no tenant). */
struct gw_principal {
    gw_role role;
    char tenant[65];
    char key_id[40];
    int64_t rate_limit_per_s; /* the key's own limit; -1 = the gateway's default */
};

const char *gw_role_name(gw_role role);
gw_role gw_role_parse(const char *s); /* GW_ROLE_NONE when unknown */
void gw_key_hash(const char *key, unsigned char out[32]);

struct gw_auth;
struct gw_req;
struct gw_errors;
struct gw_auth *gw_auth_new(const struct gw_config *cfg);
void gw_auth_free(struct gw_auth *a);
/* Empties this gateway's key cache at once: a write here must not wait for its own NOTIFY
 * (other gateways hear that within milliseconds). */
void gw_auth_forget(struct gw_auth *a);
/* True while the change listener hears NOTIFYs, i.e. while caches may be used. */
bool gw_caches_trusted(struct gw_auth *a);

/* Typed events (gw_event_schemas.c): checks data against the catalog schema of the
 * event type, if it has one. 0 valid (or untyped), 1 invalid (errors appended to e with
 * pointers "<prefix>/data/..."), -1 the catalog could not be read. */
int gw_event_schema_check(struct gw_req *r, const char *type, const json_t *data,
                          const char *prefix, struct gw_errors *e);
void gw_event_schemas_clear(void);
/* Keeps every schema of the catalog as last seen (conn: the change listener's), for when
 * PostgreSQL cannot be asked. @locality the change listener thread */
void gw_event_schemas_load_catalog(PGconn *conn);

/* Deadlines on reading request bodies (gw_deadline.c): a watchdog thread cuts off the
 * reading side of a client that is still sending its body when the deadline passes.
 * @locks its own mutex; any thread may call. */
struct gw_deadlines;
struct gw_deadlines *gw_deadlines_new(int listen_port, size_t nslots);
void gw_deadlines_free(struct gw_deadlines *d);
/* Arms a deadline ms from now for this request's client; returns a slot for disarm (-1
 * when all nslots are in use: that request then has civetweb's per-read timeout only). */
int gw_deadline_arm(struct gw_deadlines *d, const struct mg_request_info *info, int64_t ms);
/* Disarms a slot; true when the deadline had passed (the client was cut off). */
bool gw_deadline_disarm(struct gw_deadlines *d, int slot);

struct gw_ctx {
    const struct gw_config *cfg;
    struct gw_deadlines *deadlines;
    struct gw_auth *auth;
    struct gw_db *db;
    struct gw_producer *producer;
    struct hl_keyring keyring; /* seals secrets at rest; read-only once serving */
    char events_topic[HL_TOPIC_MAX];
    char deliveries_topic[HL_TOPIC_MAX];
};

/* One request as the route handlers see it. */
struct gw_req {
    struct mg_connection *conn;
    const struct mg_request_info *info;
    struct gw_ctx *ctx;
    struct gw_principal who;
    char *body; /* NUL-terminated; NULL when the request had none */
    size_t body_len;
    bool closing; /* keep-alive was disabled on the connection (mg_disable_connection_keep_alive) */
};

/* Field-level validation errors, rendered as problem+json `errors[]` with JSON pointers. */
struct gw_errors {
    json_t *list; /* array of {"pointer","detail"} */
};
void gw_errors_init(struct gw_errors *e);
void gw_errors_release(struct gw_errors *e);
void gw_errors_add(struct gw_errors *e, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool gw_errors_any(const struct gw_errors *e);

/* Responses. Each returns the status, as civetweb handlers do. */
int gw_reply_json(struct gw_req *r, int status, json_t *body); /* steals body */
int gw_reply_json_hdr(struct gw_req *r, int status, json_t *body, const char *extra_headers);
/* The same answer from JSON text the caller already wrote (len bytes at body). */
int gw_reply_json_text(struct gw_req *r, int status, const char *body, size_t len);
/* RFC 9457 problem+json; slug names the problem type. */
int gw_reply_problem(struct gw_req *r, int status, const char *slug, const char *title,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* 429 with `Retry-After: <retry_after_s>` (problem type "rate-limited"). */
int gw_reply_rate_limited(struct gw_req *r, int retry_after_s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int gw_reply_invalid(struct gw_req *r, struct gw_errors *e, const char *detail);
/* 422: well-formed but refused on meaning (unknown event types, unusable schemas). */
int gw_reply_unprocessable(struct gw_req *r, struct gw_errors *e, const char *detail);

/* Parses the request body as a JSON object; on failure replies 400 itself and returns NULL.
 * A string holding U+0000 is refused too (400 naming it): what these bodies carry is
 * stored in PostgreSQL, which has no such character. */
json_t *gw_body_object(struct gw_req *r);
/* gw_body_object for events (single, batch): strings may hold U+0000, as JSON allows;
 * an event is passed on to receivers, never stored in a jsonb column as accepted. */
json_t *gw_body_event(struct gw_req *r);
/* Copies query parameter `name` into out; false when absent. A value that does not fit
 * comes back as "\x7f", which no parameter accepts, so that it is refused, not ignored. */
bool gw_query(struct gw_req *r, const char *name, char *out, size_t outlen);

/* Authenticates the request into r->who. Returns 0, or the status of the error reply sent
 * (401 unknown key, 404 unknown X-Hookline-Tenant, 503 key store down). */
int gw_authenticate(struct gw_req *r);
bool gw_allowed(const struct gw_req *r, gw_perm perm);
/* 0 when the caller may; else replies 403 (role) or 400 (admin without a tenant). */
int gw_require(struct gw_req *r, gw_perm perm);

/* Rate limits (gw_ratelimit.c): token buckets in a fixed-size table, shared by every
 * worker thread. @locks a per-shard mutex; any thread may call.
 * True when one more request under bucket_key is allowed at rate_per_s with bursts of up
 * to burst requests (rate_per_s <= 0: unlimited). False when it is over the limit:
 * *retry_after_s is then the whole seconds (>= 1) until a request would be allowed. */
bool gw_rate_allow(const char *bucket_key, double rate_per_s, double burst, int *retry_after_s);
/* One bucket's arithmetic, for unit tests: refills for the time since last_ms, then takes a
 * token if there is one. */
struct gw_bucket {
    double tokens;
    int64_t last_ms;
};
bool gw_bucket_take(struct gw_bucket *b, double rate_per_s, double burst, int64_t now_ms,
                    int *retry_after_s);
/* Applies the authenticated key's limit: 0, or 429 after replying. */
int gw_rate_limit_key(struct gw_req *r);

/* Request-body schemas from schemas/api (gw_schemas.c). Loaded once before serving. */
hl_err gw_schemas_load(const char *dir, char *errbuf, size_t errlen);
void gw_schemas_free(void);
/* Validates instance against schemas/api/<name>.schema.json, appending errors (pointers
 * prefixed with pointer_prefix) to e. */
bool gw_schema_check(const char *name, const json_t *instance, const char *pointer_prefix,
                     struct gw_errors *e);
/* 0 when body is valid; else replies 400 with one errors[] entry per violation. A valid
 * management body (not an event's) has its integral reals (5.0) made integers: JSON Schema
 * counts them as integers, and so must the C and SQL after it. */
int gw_validate(struct gw_req *r, const char *name, json_t *body, const char *what);
/* The "schema" member of body (event types, sources), when present and not null, must
 * compile with hl_schema_compile: returns 0, or the status of the 422 sent. */
int gw_check_payload_schema(struct gw_req *r, const json_t *body);

/* Route table entries (gw_routes_*.c). Each returns the HTTP status sent. */
int gw_route_webhooks(struct gw_req *r, const char *rest);
int gw_route_events(struct gw_req *r, const char *rest);
/* Drops client event ids older than the 24 h dedupe window (called periodically). */
void gw_events_remember_ids(struct gw_ctx *ctx);
void gw_events_expire_ids(struct gw_ctx *ctx);
int gw_route_tenants(struct gw_req *r, const char *rest);
int gw_route_api_keys(struct gw_req *r, const char *rest);
int gw_route_event_types(struct gw_req *r, const char *rest);
int gw_route_deliveries(struct gw_req *r, const char *rest);
int gw_route_extensions(struct gw_req *r, const char *rest);
/* GET /api/v1/openapi.json (gw_openapi.c): the embedded OpenAPI document; no key needed. */
int gw_route_openapi(struct gw_req *r);
/* Incoming webhook sources: CRUD (gw_routes_sources.c) and POST /api/v1/incoming/{id}
 * (gw_routes_incoming.c), which is authenticated by the source's own verification, not by
 * an API key. A source's credential is sealed with AAD gw_source_aad(id). */
#define GW_SOURCE_AAD_LEN 64
#define GW_SOURCE_TOLERANCE_S 300 /* default signed-timestamp tolerance (Stripe, Standard) */
void gw_source_aad(const char *id, char out[GW_SOURCE_AAD_LEN]);
int gw_route_sources(struct gw_req *r, const char *rest);
int gw_route_incoming(struct gw_req *r, const char *rest);
/* Compiled payload schemas of sources (gw_source_schemas.c), cached per (id, version) in a
 * bounded table; version is the row's updated_at, so an update anywhere takes effect at the
 * next request. @locks its own mutex, held briefly; any thread.
 * _get returns a reference (compiling `schema` on a miss) that the caller gives back with
 * _put; _compiled is NULL when the schema does not compile (logged once per version; not
 * enforced). _forget drops a source's entry (after its update or delete); entries in use
 * stay valid until put. */
struct gw_source_schema;
struct hl_schema;
struct gw_source_schema *gw_source_schema_get(const char *id, const char *version,
                                              const json_t *schema);
const struct hl_schema *gw_source_schema_compiled(const struct gw_source_schema *e);
void gw_source_schema_put(struct gw_source_schema *e);
void gw_source_schema_forget(const char *id);
void gw_source_schemas_clear(void);
size_t gw_source_schemas_cached(void); /* entries in the table, for tests */
/* Seed 000's /api/admin/developer/webhooks, on top of the webhook handlers below. */
int gw_route_developer_webhooks(struct gw_req *r, const char *rest);
/* Webhook handlers that read r->body, for routes that translate another API onto them. */
int gw_webhook_get(struct gw_req *r, const char *id);
int gw_webhook_create(struct gw_req *r);
int gw_webhook_patch(struct gw_req *r, const char *id);
int gw_webhook_delete(struct gw_req *r, const char *id);
/* /api/v1/webhooks/{id}/<action> for deliveries, stats, replay and test (the caller
 * has checked the role for the method). */
int gw_webhook_subroute(struct gw_req *r, const char *webhook_id, const char *action);
/* GET /api/v1/webhooks/events/available: the catalog, as seed 003 names it. */
int gw_event_types_available(struct gw_req *r);

/* Secrets at rest (gw_secrets.c). Fields and AADs as hl_aad_webhook names them. */
/* Seals plain under the ring's primary key for (field, webhook_id); malloc'd. */
char *gw_seal(const struct hl_keyring *kr, const char *field, const char *webhook_id,
              const char *plain);
/* Opens a sealed field into out (the caller wipes it); the error names the field, webhook
 * and key id, never the value. */
hl_err gw_unseal(const struct hl_keyring *kr, const char *field, const char *webhook_id,
                 const char *sealed, struct hl_buf *out, char *errbuf, size_t errlen);
/* Replaces the credential fields of a validated `auth` object by their sealed forms. */
void gw_seal_auth(const struct hl_keyring *kr, json_t *auth, const char *webhook_id);
struct gw_reseal_counts {
    size_t rows_scanned, rows_updated;
    size_t resealed;         /* values moved from an older key to the primary */
    size_t sealed_plaintext; /* values stored before secrets were sealed */
    size_t unopenable;       /* sealed under a key id the ring lacks */
};
/* Walks every webhook, then every source, in batches (one transaction each, rows locked FOR UPDATE) and seals
 * plain-text values; unless plaintext_only, re-seals values under older keys under the
 * primary. Idempotent; safe while gateways and dispatchers serve. Validates the NOT VALID
 * sealing constraints of migration 0008 once everything is sealed. HL_EINVAL when some
 * values could not be opened (counted in c->unopenable). */
hl_err gw_reseal_all(PGconn *conn, const struct hl_keyring *kr, bool plaintext_only,
                     struct gw_reseal_counts *c, char *errbuf, size_t errlen);
/* Whether any webhook value is stored in plain text. False (errbuf set) on a failed query. */
bool gw_plaintext_present(PGconn *conn, bool *present, char *errbuf, size_t errlen);
/* Rotates the signing secret of webhook id (and its v1a key pair when v1a is on): the old
 * ones keep signing for overlap_s. secret NULL generates one. With unless_same, a secret
 * equal to the current one changes nothing. Returns 0 with *out the webhook JSON (plus
 * "secret"), or the status of the error reply it sent. */
int gw_webhook_rotate(struct gw_req *r, const char *id, const char *secret, long long overlap_s,
                      bool unless_same, json_t **out);

/* Shared by the route files. */
bool gw_uuid_like(const char *s);
int gw_reply_no_content(struct gw_req *r);
int gw_method_not_allowed(struct gw_req *r, const char *allowed);
/* Runs a query whose rows are single JSON texts. NULL after replying 503. The caller
 * releases *conn with gw_db_release. */
PGresult *gw_query_json(struct gw_req *r, PGconn **conn, const char *sql, int nparams,
                        const char *const *params);
json_t *gw_row_json(PGresult *res, int row);
/* True when the tenant's row `id` exists in `table` (a literal of the caller's). */
bool gw_query_exists(struct gw_req *r, const char *table, const char *id);
/* Parses ?limit= (1..250, default 50) and ?cursor=; replies 400 itself on bad values. */
int gw_page_params(struct gw_req *r, long *limit, char *cursor, size_t cursor_len, bool *has_cursor);
/* Builds {"data": rows[0..limit), "next_cursor": id of row limit-1 when more} from a result
 * of up to limit+1 JSON rows. */
json_t *gw_page_json(PGresult *res, long limit);
/* Replies with one page of a list keyed by UUID ids. sql receives $1 = scope, $2 = limit+1,
 * $3 = the cursor id (or NULL), then $4.. = extra[0..nextra) (at most 5). */
int gw_reply_page(struct gw_req *r, const char *sql, const char *scope,
                  const char *const *extra, int nextra);
#define GW_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The HTTP server: start binds the listener and returns once civetweb runs. */
struct gw_server;
struct gw_server *gw_server_start(struct gw_ctx *ctx, char *errbuf, size_t errlen);
void gw_server_stop(struct gw_server *s);

#endif
