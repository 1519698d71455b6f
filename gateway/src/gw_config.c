/* The gateway's configuration table: the single list of its options, from which the
 * environment variables, flags, --help and docs/configuration.md all derive. */
#include <stddef.h>

#include "gw_config.h"
#include "hl/banned.h"

#define O(f) offsetof(struct gw_config, f)

const struct hl_cfg_opt gw_config_opts[] = {
    HL_CFG_COMMON_OPTS(struct gw_config),
    {"http_host", HL_CFG_STR, O(http_host), "0.0.0.0", 0, 0, "address the HTTP API listens on"},
    {"http_port", HL_CFG_INT, O(http_port), "8080", 1, 65535, "port the HTTP API listens on"},
    {"metrics_port", HL_CFG_INT, O(metrics_port), "0", 0, 65535,
     "port (on http_host, plain HTTP) serving GET /metrics alone, instead of the API "
     "listener; 0: /metrics is served on http_port"},
    {"http_threads", HL_CFG_INT, O(http_threads), "128", 2, 1024,
     "civetweb worker threads: each keep-alive connection holds one while it is open, and "
     "an ingest request holds it until Kafka acknowledges, so this bounds the connections "
     "served at once"},
    {"max_body_bytes", HL_CFG_INT, O(max_body_bytes), "1048576", 1024, 67108864,
     "largest request body accepted; larger ones get 413"},
    {"max_event_bytes", HL_CFG_INT, O(max_event_bytes), "262144", 256, 16777216,
     "largest single event (its JSON as produced to Kafka)"},
    {"max_json_depth", HL_CFG_INT, O(max_json_depth), "32", 1, 1000,
     "deepest nesting of arrays and objects accepted in a request body; deeper gets 400"},
    {"request_timeout_ms", HL_CFG_INT, O(request_timeout_ms), "30000", 100, 600000,
     "time a client has to send a request's headers and, separately, its whole body; "
     "slower ones get 408 and are disconnected"},
    {"api_key_rate_limit_per_s", HL_CFG_INT, O(api_key_rate_limit_per_s), "0", 0, 1000000,
     "requests per second each API key may make (token bucket), unless the key sets its own "
     "rate_limit_per_s; 0 = unlimited. Over the limit: 429 with Retry-After"},
    {"api_key_rate_burst", HL_CFG_INT, O(api_key_rate_burst), "20", 1, 1000000,
     "requests an API key may make at once before its rate limit applies (bucket size)"},
    {"tls_cert_file", HL_CFG_STR, O(tls_cert_file), NULL, 0, 0,
     "PEM certificate (chain) for HTTPS on the API listener; set with tls_key_file, "
     "unset = plain HTTP"},
    {"tls_key_file", HL_CFG_STR, O(tls_key_file), NULL, 0, 0,
     "PEM private key of tls_cert_file"},
    {"events_partitions", HL_CFG_INT, O(events_partitions), "6", 1, 1024,
     "partitions of <prefix>.events when create-topics makes it"},
    {"topic_replication", HL_CFG_INT, O(topic_replication), "1", 1, 16,
     "replication factor of topics create-topics makes"},
    {"topic_min_insync_replicas", HL_CFG_INT, O(topic_min_insync_replicas), "0", 0, 16,
     "min.insync.replicas of topics create-topics makes: how many replicas must hold an "
     "event before Kafka acknowledges it (acks=all) and the gateway answers 202; 0 = the "
     "broker's default. At most topic_replication; 2 with a replication factor of 3 keeps "
     "ingest up while one broker is down"},
    {"produce_timeout_ms", HL_CFG_INT, O(produce_timeout_ms), "10000", 100, 300000,
     "how long an event may wait for Kafka's acknowledgement before the request fails"},
    {"linger_ms", HL_CFG_INT, O(linger_ms), "0", 0, 1000,
     "producer batching delay (librdkafka linger.ms). Every request waits for its own "
     "acknowledgement, so a delay adds to each request's latency; events that arrive while "
     "a batch is in flight are batched anyway"},
    {"busy_linger_ms", HL_CFG_INT, O(busy_linger_ms), "0", 0, 1000,
     "linger of the events accepted while the gateway is busy (at least busy_rate_per_s "
     "events a second): they go through a second producer and wait up to this long to share "
     "a produce request, each of which costs the broker about as much CPU as the event "
     "itself; below that rate every event leaves at once (linger_ms). 2 helps a gateway "
     "that shares its cores with the broker and the dispatchers (scenario 9: +22-61 %) and "
     "costs clients that wait for each 202 before the next (scenario 1: -4-17 %); "
     "docs/performance.md. 0: one producer, never a wait"},
    {"busy_rate_per_s", HL_CFG_INT, O(busy_rate_per_s), "1000", 1, 100000000,
     "events a second (over the last 100-200 ms) from which events take the busy producer "
     "(busy_linger_ms)"},
    {"kafka_compression", HL_CFG_STR, O(kafka_compression), "none", 0, 0,
     "codec of the produced events (librdkafka compression.codec: none, lz4, zstd, snappy, "
     "gzip). Each request waits for its own acknowledgement, so batches stay small and lz4 "
     "costs more CPU per batch than it saves on a local broker"},
    {"pg_pool_size", HL_CFG_INT, O(pg_pool_size), "16", 1, 1024,
     "PostgreSQL connections kept open"},
    {"migrations_dir", HL_CFG_STR, O(migrations_dir), NULL, 0, 0,
     "directory of SQL migrations (default: the source tree's schemas/migrations)"},
    {"schemas_dir", HL_CFG_STR, O(schemas_dir), NULL, 0, 0,
     "directory of request-body JSON Schemas (default: the source tree's schemas/api)"},
    {"ui_dir", HL_CFG_STR, O(ui_dir), NULL, 0, 0,
     "directory of the dashboard's built files, served under /ui/ (default: the build "
     "tree's ui/dist; an installation's is <prefix>/share/hookline/ui); empty: no dashboard"},
    {"admin_api_key", HL_CFG_STR, O(admin_api_key), NULL, 0, 0,
     "bootstrap admin API key (manages tenants and keys); unset: only stored keys work"},
};

const size_t gw_config_nopts = sizeof(gw_config_opts) / sizeof(gw_config_opts[0]);
