/* The dispatcher's metrics (see dp_metrics.h; every name is described in
 * docs/operations.md). Counters are created on first use and found again through a small
 * cache keyed by the (static) strings the loop thread passes, so counting a delivery is a
 * few pointer comparisons and one atomic add. */
#include "dp_metrics.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/kafka.h"
#include "hl/log.h"
#include "hl/signals.h"
#include "hl/mem.h"
#include "hl/metrics.h"
#include "hl/time.h"
#include "hl/banned.h"

/* librdkafka's statistics period: lag older than this is what a scrape shows. Each round
 * costs librdkafka a JSON document of every broker and partition, and us its parse. */
#define STATS_INTERVAL_MS "10000"
#define OUTCOME_CACHE 64

static const double delivery_latency_buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,    2.5,
                                                  5,    10,    30,   60,  300,  900, 3600, 21600};

struct lag {
    char topic[HL_TOPIC_MAX];
    int32_t partition;
    int64_t lag;
};

struct lag_table {
    struct lag *rows;
    size_t n;
};

static struct {
    char retry_prefix[HL_TOPIC_MAX]; /* "<prefix>.retry." */
    struct hl_histogram *attempt_ok, *attempt_failed, *latency;
    struct hl_gauge *in_flight, *breakers_open;
    struct hl_gauge *hooks_active, *hooks_paused, *hooks_disabled;
    struct hl_counter *auto_disabled;
    struct hl_counter *handed_over;
    struct hl_counter *handed_off;
    struct hl_counter *conns_opened, *conns_resent;
    struct hl_gauge *conns_idle;
    struct hl_counter *records_direct, *records_kafka;
    struct hl_counter *log_batches[DP_METRICS_LOG_STATEMENTS];
    struct hl_counter *snapshot_loads;
    atomic_int_least64_t snapshot_ms; /* epoch ms of the last load or confirmation; 0: none */
    atomic_bool joined[DP_METRICS_NCLIENTS], loaded, shutting_down;
    pthread_mutex_t lag_mu;
    struct lag_table lags[DP_METRICS_NCLIENTS]; /* by dp_metrics_client */
    /* loop thread only */
    struct {
        const char *status, *error_class;
        struct hl_counter *c;
    } outcomes[OUTCOME_CACHE];
    size_t noutcomes;
} m = {.lag_mu = PTHREAD_MUTEX_INITIALIZER};

static void collect(struct hl_buf *out, void *arg);

void dp_metrics_init(const struct dp_config *cfg)
{
    hl_metrics_process_init("dispatcher");
    char retry[HL_TOPIC_MAX];
    hl_topic_name(retry, cfg->common.topic_prefix, "retry.");
    snprintf(m.retry_prefix, sizeof(m.retry_prefix), "%s", retry);

    hl_metrics_family("hookline_dispatcher_deliveries_total", HL_METRIC_COUNTER,
                      "Attempt records by outcome (succeeded, retried, dead_lettered, skipped) "
                      "and error class (none on success)");
    hl_metrics_family("hookline_dispatcher_attempt_duration_seconds", HL_METRIC_HISTOGRAM,
                      "Duration of HTTP delivery attempts, connection included");
    m.attempt_ok = hl_metrics_histogram("hookline_dispatcher_attempt_duration_seconds",
                                        "result=\"success\"", hl_metrics_latency_buckets,
                                        hl_metrics_latency_nbuckets);
    m.attempt_failed = hl_metrics_histogram("hookline_dispatcher_attempt_duration_seconds",
                                            "result=\"failure\"", hl_metrics_latency_buckets,
                                            hl_metrics_latency_nbuckets);
    hl_metrics_family("hookline_dispatcher_delivery_latency_seconds", HL_METRIC_HISTOGRAM,
                      "Time from the event's acceptance to its successful delivery, retries "
                      "included");
    m.latency = hl_metrics_histogram(
        "hookline_dispatcher_delivery_latency_seconds", NULL, delivery_latency_buckets,
        sizeof(delivery_latency_buckets) / sizeof(delivery_latency_buckets[0]));
    hl_metrics_family("hookline_dispatcher_attempts_in_flight", HL_METRIC_GAUGE,
                      "HTTP delivery attempts in progress");
    m.in_flight = hl_metrics_gauge("hookline_dispatcher_attempts_in_flight", NULL);
    hl_metrics_family("hookline_dispatcher_connections_opened_total", HL_METRIC_COUNTER,
                      "Connections to receivers opened (the rest of the attempts went over "
                      "kept-alive ones)");
    m.conns_opened = hl_metrics_counter("hookline_dispatcher_connections_opened_total", NULL);
    hl_metrics_family("hookline_dispatcher_connections_idle", HL_METRIC_GAUGE,
                      "Kept-alive connections to receivers waiting for their next request");
    m.conns_idle = hl_metrics_gauge("hookline_dispatcher_connections_idle", NULL);
    hl_metrics_family("hookline_dispatcher_requests_resent_total", HL_METRIC_COUNTER,
                      "Requests sent again on a new connection because the kept-alive one "
                      "they went on had been closed by the receiver (within one attempt)");
    m.conns_resent = hl_metrics_counter("hookline_dispatcher_requests_resent_total", NULL);
    hl_metrics_family("hookline_dispatcher_breakers_open", HL_METRIC_GAUGE,
                      "Webhooks whose circuit breaker is open in this dispatcher");
    m.breakers_open = hl_metrics_gauge("hookline_dispatcher_breakers_open", NULL);
    hl_metrics_family("hookline_dispatcher_webhooks", HL_METRIC_GAUGE,
                      "Webhooks in the subscription snapshot, by status");
    m.hooks_active = hl_metrics_gauge("hookline_dispatcher_webhooks", "status=\"active\"");
    m.hooks_paused = hl_metrics_gauge("hookline_dispatcher_webhooks", "status=\"paused\"");
    m.hooks_disabled = hl_metrics_gauge("hookline_dispatcher_webhooks", "status=\"disabled\"");
    hl_metrics_family("hookline_dispatcher_webhooks_auto_disabled_total", HL_METRIC_COUNTER,
                      "Webhooks this dispatcher disabled (410 Gone or failing continuously)");
    m.auto_disabled = hl_metrics_counter("hookline_dispatcher_webhooks_auto_disabled_total", NULL);
    hl_metrics_family("hookline_dispatcher_snapshot_loads_total", HL_METRIC_COUNTER,
                      "Webhook snapshots loaded from PostgreSQL: at start, after a change to "
                      "webhooks or tenants, or after a reconnect");
    m.snapshot_loads = hl_metrics_counter("hookline_dispatcher_snapshot_loads_total", NULL);
    hl_metrics_family("hookline_dispatcher_deliveries_handed_over_total", HL_METRIC_COUNTER,
                      "Deliveries dropped, before their attempt or before the retry of one, "
                      "because a rebalance gave their partition to another dispatcher, which "
                      "delivers them");
    m.handed_over =
        hl_metrics_counter("hookline_dispatcher_deliveries_handed_over_total", NULL);
    hl_metrics_family("hookline_dispatcher_deliveries_handed_off_total", HL_METRIC_COUNTER,
                      "Deliveries waiting here, not yet attempted or held for a retry, handed "
                      "to <prefix>.deliveries as tasks before a rebalance took their partitions, "
                      "so that their events' offsets could be committed");
    m.handed_off = hl_metrics_counter("hookline_dispatcher_deliveries_handed_off_total", NULL);
    hl_metrics_family("hookline_dispatcher_attempt_records_total", HL_METRIC_COUNTER,
                      "Attempt records of this dispatcher by the way they reached the delivery "
                      "log: written by its own attempt-log writer (path=\"direct\"), or produced "
                      "to <prefix>.attempts (path=\"kafka\": PostgreSQL failing or behind, or "
                      "no writer here)");
    m.records_direct =
        hl_metrics_counter("hookline_dispatcher_attempt_records_total", "path=\"direct\"");
    m.records_kafka =
        hl_metrics_counter("hookline_dispatcher_attempt_records_total", "path=\"kafka\"");
    hl_metrics_family("hookline_dispatcher_log_batches_total", HL_METRIC_COUNTER,
                      "Batches of attempt records written to PostgreSQL by this dispatcher's "
                      "attempt-log writer, by statement: copy (first attempts only, rows "
                      "loaded with COPY without looking for them first), upsert (the "
                      "others), copy_conflict (tried as first attempts, a row was there "
                      "already, written again as upsert)");
    static const char *const statements[DP_METRICS_LOG_STATEMENTS] = {
        [DP_METRICS_LOG_COPY] = "statement=\"copy\"",
        [DP_METRICS_LOG_UPSERT] = "statement=\"upsert\"",
        [DP_METRICS_LOG_COPY_CONFLICT] = "statement=\"copy_conflict\""};
    for (int i = 0; i < DP_METRICS_LOG_STATEMENTS; i++)
        m.log_batches[i] =
            hl_metrics_counter("hookline_dispatcher_log_batches_total", statements[i]);
    hl_metrics_collector(collect, NULL);
}

static const char *outcome_name(const char *status)
{
    if (strcmp(status, "succeeded") == 0)
        return "succeeded";
    if (strcmp(status, "retrying") == 0)
        return "retried";
    if (strcmp(status, "failed") == 0)
        return "dead_lettered";
    return "skipped";
}

void dp_metrics_handed_over(void)
{
    if (m.handed_over)
        hl_counter_inc(m.handed_over);
}

void dp_metrics_attempt_record_path(bool direct)
{
    struct hl_counter *c = direct ? m.records_direct : m.records_kafka;
    if (c)
        hl_counter_inc(c);
}

void dp_metrics_log_batch(enum dp_metrics_log_statement st)
{
    if (m.log_batches[st])
        hl_counter_inc(m.log_batches[st]);
}

void dp_metrics_handed_off(void)
{
    if (m.handed_off)
        hl_counter_inc(m.handed_off);
}

void dp_metrics_outcome(const char *status, const char *error_class, bool disabling)
{
    struct hl_counter *c = NULL;
    if (!m.auto_disabled)
        return; /* not initialised: a unit test drives the module */
    for (size_t i = 0; i < m.noutcomes; i++)
        if (m.outcomes[i].status == status && m.outcomes[i].error_class == error_class) {
            c = m.outcomes[i].c;
            break;
        }
    if (!c) {
        /* error classes are the dispatcher's own words (classify() in dp_deliver.c) */
        char labels[160];
        snprintf(labels, sizeof(labels), "outcome=\"%s\",error_class=\"%s\"",
                 outcome_name(status), error_class ? error_class : "none");
        c = hl_metrics_counter("hookline_dispatcher_deliveries_total", labels);
        if (m.noutcomes < OUTCOME_CACHE) {
            m.outcomes[m.noutcomes].status = status;
            m.outcomes[m.noutcomes].error_class = error_class;
            m.outcomes[m.noutcomes++].c = c;
        }
    }
    hl_counter_inc(c);
    if (disabling)
        hl_counter_inc(m.auto_disabled);
}

void dp_metrics_attempt(int64_t elapsed_ms, const char *error_class)
{
    if (!m.attempt_ok)
        return;
    hl_histogram_observe(error_class ? m.attempt_failed : m.attempt_ok,
                         (double)elapsed_ms / 1000.0);
}

/* "2026-02-25T15:00:00.000Z" (what the gateway writes) as epoch ms; -1 otherwise. */
static int64_t parse_iso8601_ms(const char *s)
{
    static const int pos[] = {0, 5, 8, 11, 14, 17}, len[] = {4, 2, 2, 2, 2, 2};
    int v[6];
    if (!s || strlen(s) < 20)
        return -1;
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int j = 0; j < len[i]; j++) {
            char c = s[pos[i] + j];
            if (c < '0' || c > '9')
                return -1;
            v[i] = v[i] * 10 + (c - '0');
        }
    }
    /* days since the epoch of a proleptic Gregorian date (H. Hinnant's days_from_civil):
     * timegm() costs a thousand instructions per delivery, this a few dozen */
    int64_t y = v[0] - (v[1] <= 2), era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400, mp = (v[1] + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + v[2] - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    int64_t ms = ((days * 24 + v[3]) * 60 + v[4]) * 60000 + (int64_t)v[5] * 1000;
    if (s[19] == '.')
        for (int j = 20, scale = 100; j < 23 && s[j] >= '0' && s[j] <= '9'; j++, scale /= 10)
            ms += (s[j] - '0') * scale;
    return ms;
}

void dp_metrics_delivered(const char *timestamp, int64_t finished_ms)
{
    int64_t accepted = parse_iso8601_ms(timestamp);
    if (m.latency && accepted > 0 && finished_ms >= accepted)
        hl_histogram_observe(m.latency, (double)(finished_ms - accepted) / 1000.0);
}

void dp_metrics_connection_opened(void)
{
    if (m.conns_opened)
        hl_counter_inc(m.conns_opened);
}

void dp_metrics_request_resent(void)
{
    if (m.conns_resent)
        hl_counter_inc(m.conns_resent);
}

void dp_metrics_connections_idle(int delta)
{
    if (m.conns_idle)
        hl_gauge_add(m.conns_idle, delta);
}

void dp_metrics_attempts_in_flight(int delta)
{
    if (m.in_flight)
        hl_gauge_add(m.in_flight, delta);
}

void dp_metrics_breakers_open(int delta)
{
    if (m.breakers_open)
        hl_gauge_add(m.breakers_open, delta);
}

void dp_metrics_snapshot_loaded(int64_t active, int64_t paused, int64_t disabled)
{
    if (m.hooks_active) {
        hl_gauge_set(m.hooks_active, active);
        hl_gauge_set(m.hooks_paused, paused);
        hl_gauge_set(m.hooks_disabled, disabled);
        hl_counter_add(m.snapshot_loads, 1);
    }
    dp_metrics_snapshot_checked();
    atomic_store(&m.loaded, true);
}

void dp_metrics_snapshot_checked(void)
{
    atomic_store(&m.snapshot_ms, hl_now_ms());
}

/* --- Kafka statistics -------------------------------------------------------------------- */

/* librdkafka's statistics JSON: topics.<name>.partitions.<id>.consumer_lag_stored (the
 * high watermark minus the offset stored: what this consumer has not finished yet), or
 * consumer_lag (minus the committed offset) before anything was stored. Only partitions
 * assigned to this consumer ("desired") count. */
void dp_metrics_kafka_stats(dp_metrics_client which, const char *json, size_t len)
{
    /* Only the top-level "topics" object is read (the brokers' latency windows are most
     * of the document): no nested object has a key of that name, so the first one is it,
     * and jansson stops at the end of its value. */
    json_error_t jerr;
    const char *topics = memmem(json, len, "\"topics\":", 9);
    if (!topics)
        return;
    topics += 9;
    json_t *root = json_loadb(topics, len - (size_t)(topics - json), JSON_DISABLE_EOF_CHECK, &jerr);
    if (!root)
        return;
    struct lag_table t = {0};
    size_t cap = 0;
    const char *tname;
    json_t *topic;
    json_object_foreach(root, tname, topic) {
        const char *pname;
        json_t *p;
        json_object_foreach(json_object_get(topic, "partitions"), pname, p) {
            long part = strtol(pname, NULL, 10);
            if (part < 0 || !json_is_true(json_object_get(p, "desired")))
                continue;
            json_int_t lag = json_integer_value(json_object_get(p, "consumer_lag_stored"));
            if (lag < 0)
                lag = json_integer_value(json_object_get(p, "consumer_lag"));
            if (lag < 0)
                continue; /* nothing known yet */
            if (t.n == cap) {
                cap = cap ? cap * 2 : 16;
                t.rows = hl_xrealloc(t.rows, cap * sizeof(*t.rows));
            }
            snprintf(t.rows[t.n].topic, sizeof(t.rows[t.n].topic), "%s", tname);
            t.rows[t.n].partition = (int32_t)part;
            t.rows[t.n].lag = lag;
            t.n++;
        }
    }
    json_decref(root);
    pthread_mutex_lock(&m.lag_mu);
    struct lag_table old = m.lags[which];
    m.lags[which] = t;
    pthread_mutex_unlock(&m.lag_mu);
    free(old.rows);
}

static int stats_consumer(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    dp_metrics_kafka_stats(DP_METRICS_CONSUMER, json, len);
    return 0; /* librdkafka frees json */
}

static int stats_log(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    dp_metrics_kafka_stats(DP_METRICS_LOG_CONSUMER, json, len);
    return 0;
}

static int stats_tiers(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    dp_metrics_kafka_stats(DP_METRICS_TIER_CONSUMER, json, len);
    return 0;
}

void dp_metrics_kafka_conf(rd_kafka_conf_t *conf, dp_metrics_client which)
{
    char err[256];
    if (hl_kafka_conf_set(conf, "statistics.interval.ms", STATS_INTERVAL_MS, err, sizeof(err)))
        hl_log(HL_LOG_WARN, "metrics", "no consumer lag: %s", err);
    static int (*const cb[DP_METRICS_NCLIENTS])(rd_kafka_t *, char *, size_t, void *) = {
        [DP_METRICS_CONSUMER] = stats_consumer,
        [DP_METRICS_TIER_CONSUMER] = stats_tiers,
        [DP_METRICS_LOG_CONSUMER] = stats_log,
    };
    rd_kafka_conf_set_stats_cb(conf, cb[which]);
}

/* --- readiness ----------------------------------------------------------------------------- */

void dp_metrics_group_joined(dp_metrics_client which)
{
    atomic_store(&m.joined[which], true);
}

void dp_metrics_shutting_down(void)
{
    atomic_store(&m.shutting_down, true);
}

bool dp_metrics_ready(char *why, size_t whylen)
{
    /* not ready from the moment a stop signal arrives (hl/signals.h) */
    bool shutting = atomic_load(&m.shutting_down) || hl_stop_signal != 0;
    bool live = atomic_load(&m.joined[DP_METRICS_CONSUMER]);
    bool tiers = atomic_load(&m.joined[DP_METRICS_TIER_CONSUMER]);
    bool loaded = atomic_load(&m.loaded);
    snprintf(why, whylen, "%s%s%s%s", shutting ? "shutting down; " : "",
             loaded ? "" : "no webhook snapshot loaded yet; ",
             live ? "" : "the live topics' consumer is not in the Kafka consumer group yet; ",
             tiers ? "" : "the retry tiers' consumer is not in the Kafka consumer group yet; ");
    size_t n = strlen(why);
    if (n >= 2)
        why[n - 2] = '\0';
    return !shutting && live && tiers && loaded;
}

/* --- scrape-time families ------------------------------------------------------------------ */

static void lag_sample(struct hl_buf *out, const char *name, const struct lag *l, bool part)
{
    struct hl_buf labels = HL_BUF_INIT;
    hl_buf_adds(&labels, "topic=\"");
    hl_metrics_label_value(&labels, l->topic);
    hl_buf_addch(&labels, '"');
    if (part)
        hl_buf_addf(&labels, ",partition=\"%d\"", (int)l->partition);
    hl_metrics_write_sample(out, name, labels.ptr, (double)l->lag);
    hl_buf_release(&labels);
}

static void collect(struct hl_buf *out, void *arg)
{
    char why[160];
    hl_metrics_write_header(out, "hookline_dispatcher_ready", HL_METRIC_GAUGE,
                            "1 when /readyz answers 200 (group joined, snapshot loaded, not "
                            "shutting down)");
    hl_metrics_write_sample(out, "hookline_dispatcher_ready", NULL,
                            dp_metrics_ready(why, sizeof(why)) ? 1 : 0);
    int64_t at = atomic_load(&m.snapshot_ms);
    hl_metrics_write_header(out, "hookline_dispatcher_snapshot_age_seconds", HL_METRIC_GAUGE,
                            "Time since the webhook snapshot was last loaded or confirmed "
                            "current against PostgreSQL");
    if (at > 0)
        hl_metrics_write_sample(out, "hookline_dispatcher_snapshot_age_seconds", NULL,
                                (double)(hl_now_ms() - at) / 1000.0);

    pthread_mutex_lock(&m.lag_mu);
    const struct lag_table *lg = &m.lags[DP_METRICS_LOG_CONSUMER];
    hl_metrics_write_header(out, "hookline_dispatcher_consumer_lag", HL_METRIC_GAUGE,
                            "Messages of each assigned partition not yet finished by this "
                            "dispatcher (librdkafka statistics, every " STATS_INTERVAL_MS " ms)");
    /* the two delivery consumers' partitions, as one table */
    const struct lag_table *mine = &m.lags[DP_METRICS_CONSUMER],
                           *tiers = &m.lags[DP_METRICS_TIER_CONSUMER];
    struct lag_table both = {.n = mine->n + tiers->n};
    both.rows = hl_xcalloc(both.n + 1, sizeof(*both.rows));
    if (mine->n)
        memcpy(both.rows, mine->rows, mine->n * sizeof(*both.rows));
    if (tiers->n)
        memcpy(both.rows + mine->n, tiers->rows, tiers->n * sizeof(*both.rows));
    const struct lag_table *c = &both;
    for (size_t i = 0; i < c->n; i++)
        lag_sample(out, "hookline_dispatcher_consumer_lag", &c->rows[i], true);
    hl_metrics_write_header(out, "hookline_dispatcher_retry_backlog_messages", HL_METRIC_GAUGE,
                            "Tasks waiting in each retry tier's assigned partitions");
    size_t plen = strlen(m.retry_prefix);
    for (size_t i = 0; i < c->n; i++) {
        if (strncmp(c->rows[i].topic, m.retry_prefix, plen) != 0)
            continue;
        struct lag sum = c->rows[i];
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(c->rows[j].topic, sum.topic) != 0;
        if (!first)
            continue;
        for (size_t j = i + 1; j < c->n; j++)
            if (strcmp(c->rows[j].topic, sum.topic) == 0)
                sum.lag += c->rows[j].lag;
        lag_sample(out, "hookline_dispatcher_retry_backlog_messages", &sum, false);
    }
    hl_metrics_write_header(out, "hookline_dispatcher_attempt_log_lag_messages", HL_METRIC_GAUGE,
                            "Attempt records the attempt-log writer of this process has not "
                            "written to PostgreSQL yet, in its assigned partitions");
    if (lg->n) {
        int64_t sum = 0;
        for (size_t i = 0; i < lg->n; i++)
            sum += lg->rows[i].lag;
        hl_metrics_write_sample(out, "hookline_dispatcher_attempt_log_lag_messages", NULL,
                                (double)sum);
    }
    pthread_mutex_unlock(&m.lag_mu);
    free(both.rows);
}
