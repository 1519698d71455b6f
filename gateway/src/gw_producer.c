/* The gateway's Kafka producer.
 *
 * A `202 Accepted` is a promise that the event will be delivered, so it is sent only after
 * the broker acknowledged the write with acks=all (enable.idempotence=true also rules out
 * duplicates from librdkafka's own retries). Request threads produce, then sleep on a
 * per-request waiter; a background thread per producer serves delivery reports
 * (rd_kafka_poll) and wakes them. Many requests share each producer batch, so throughput
 * comes from batching across requests while every request still waits only for its own
 * messages.
 *
 * At most IN_FLIGHT produce requests are out per broker connection: the events that
 * arrive meanwhile wait for one to return and go together in the next, instead of one
 * request (and one broker round of work) each. An event that comes alone is sent at once,
 * as with linger_ms 0. With 64 connections posting single events (bench/run 9) 2 gave
 * 3,215-3,327 events/s against 2,459-2,998 with librdkafka's 5, and Kafka's CPU per event
 * fell by a fifth; 1 gained as much there but cost ingest alone (scenario 1) 7 % of
 * its rate and a third more p99 (docs/performance.md).
 *
 * A produce request costs the broker about 140 µs of CPU on the machine of
 * docs/performance.md, whether it carries one event or ten, and the broker answers so fast
 * that in-flight batching alone still sent about one event per request at 5,000 events/s.
 * So there can be two producers: PROMPT (linger_ms, 0) and BUSY (busy_linger_ms, off by
 * default). While the gateway accepts at least busy_rate_per_s events a second, measured
 * by the PROMPT poller over windows of WINDOW_MS, events go through BUSY and wait up to
 * busy_linger_ms to share a request; below that rate nothing waits. With 2 ms, scenario 9
 * (64 connections posting, dispatchers on the same two cores) ran 22-61 % faster and the
 * broker spent a third less CPU per event, but scenario 1 (ingest alone, each connection
 * waiting for its 202 before the next POST) lost 4-17 %: its requests were already well
 * filled, and the linger only added its wait. Events are keyed by their own id and carry
 * their fence, so which producer takes one changes no order anyone relies on. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_config.h"
#include "gw_producer.h"
#include "gw_fence.h"
#include "hl/buf.h"
#include "hl/id.h"
#include "hl/kafka.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

#define IN_FLIGHT "2" /* max.in.flight.requests.per.connection; see above */
/* Shortest span over which the rate of accepted events is measured. */
#define WINDOW_MS 100

enum { PROMPT, BUSY, NPRODUCERS };

struct gw_producer;
struct poller {
    struct gw_producer *p;
    int which;
    pthread_t thread;
    bool started;
};

struct gw_producer {
    rd_kafka_t *rk[NPRODUCERS]; /* rk[BUSY] NULL: busy_linger_ms is 0 */
    /* held so that their metadata stays known; see gw_producer_warm */
    rd_kafka_topic_t *warm_topic[NPRODUCERS];
    struct poller poller[NPRODUCERS];
    atomic_bool stop;
    atomic_int broker_up; /* brokers currently connected, from librdkafka's view */
    int64_t timeout_ms;
    int64_t busy_rate_per_s;
    atomic_bool busy;                          /* the last window's rate >= busy_rate_per_s */
    atomic_uint_fast64_t produced[NPRODUCERS]; /* messages, by producer: rate and /metrics */
};

/* One request's outstanding messages. */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
};

struct msg_ref {
    struct waiter *w;
    struct gw_kmsg *m;
};

/* @locality the poller thread (rd_kafka_poll) */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct msg_ref *ref = msg->_private;
    struct waiter *w = ref->w;
    ref->m->err = msg->err;
    if (msg->err)
        hl_log(HL_LOG_WARN, "producer", "event not acknowledged: %s", rd_kafka_err2str(msg->err));
    pthread_mutex_lock(&w->mu);
    if (--w->pending == 0)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static atomic_bool fatal;

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct gw_producer *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        atomic_store(&p->broker_up, 0);
    hl_log(err == RD_KAFKA_RESP_ERR__FATAL ? HL_LOG_ERROR : HL_LOG_WARN, "producer", "%s: %s",
           rd_kafka_err2name(err), reason);
    /* An idempotent producer's fatal error (its sequence broken, e.g. after brokers were
     * killed with records in flight) fails every later event: no 202 is wrong, but none
     * would come again. Stop as on SIGTERM, exit status 1, and let the supervisor start a
     * gateway with a new producer. */
    if (err == RD_KAFKA_RESP_ERR__FATAL && !atomic_exchange(&fatal, true)) {
        hl_log(HL_LOG_ERROR, "producer", "fatal producer error; stopping (exit status 1)");
        raise(SIGTERM);
    }
}

bool gw_producer_fatal(void)
{
    return atomic_load(&fatal);
}

/* Whether the messages produced since the window began make a rate of at least
 * busy_rate_per_s; a window lasts at least WINDOW_MS (the poller wakes at least every
 * 100 ms).
 * @locality the PROMPT poller */
static void measure_rate(struct gw_producer *p, int64_t *win_start, uint64_t *win_arrived)
{
    int64_t now = hl_mono_ms();
    if (now - *win_start < WINDOW_MS)
        return;
    uint64_t arrived = atomic_load_explicit(&p->produced[PROMPT], memory_order_relaxed) +
                       atomic_load_explicit(&p->produced[BUSY], memory_order_relaxed);
    uint64_t n = arrived - *win_arrived;
    atomic_store_explicit(&p->busy, (int64_t)n * 1000 >= p->busy_rate_per_s * (now - *win_start),
                          memory_order_relaxed);
    *win_start = now;
    *win_arrived = arrived;
}

static void *poll_main(void *arg)
{
    struct poller *me = arg;
    struct gw_producer *p = me->p;
    rd_kafka_t *rk = p->rk[me->which];
    int64_t win_start = hl_mono_ms();
    uint64_t win_arrived = 0;
    while (!atomic_load(&p->stop)) {
        rd_kafka_poll(rk, 100);
        if (me->which != PROMPT)
            continue;
        if (p->rk[BUSY])
            measure_rate(p, &win_start, &win_arrived);
        /* A successful metadata round trip means a broker answers again. */
        if (!atomic_load(&p->broker_up)) {
            const struct rd_kafka_metadata *md = NULL;
            if (rd_kafka_metadata(rk, 0, NULL, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                atomic_store(&p->broker_up, 1);
                rd_kafka_metadata_destroy(md);
            }
        }
    }
    return NULL;
}

static rd_kafka_t *new_rk(struct gw_producer *p, const struct gw_config *cfg, int64_t linger_ms,
                          const char *client_id, char *errbuf, size_t errlen)
{
    char num[HL_INT_STR_MAX], tmo[HL_INT_STR_MAX];
    hl_i64_str(linger_ms, num);
    hl_i64_str(cfg->produce_timeout_ms, tmo);
    rd_kafka_conf_t *conf = hl_kafka_conf_new(cfg->common.brokers, client_id, errbuf, errlen);
    if (!conf)
        return NULL;
    if (hl_kafka_conf_set(conf, "enable.idempotence", "true", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "acks", "all", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "max.in.flight.requests.per.connection", IN_FLIGHT, errbuf,
                          errlen) ||
        hl_kafka_conf_set(conf, "linger.ms", num, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "message.timeout.ms", tmo, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "compression.codec", cfg->kafka_compression, errbuf, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_t *rk = hl_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errlen);
    if (!rk)
        rd_kafka_conf_destroy(conf); /* still ours when it failed */
    return rk;
}

struct gw_producer *gw_producer_new(const struct gw_config *cfg, char *errbuf, size_t errlen)
{
    struct gw_producer *p = hl_xcalloc(1, sizeof(*p));
    p->timeout_ms = cfg->produce_timeout_ms;
    p->busy_rate_per_s = cfg->busy_rate_per_s;
    atomic_store(&p->broker_up, 1);
    p->rk[PROMPT] = new_rk(p, cfg, cfg->linger_ms, "hookline-gateway", errbuf, errlen);
    if (!p->rk[PROMPT])
        goto fail;
    if (cfg->busy_linger_ms > 0) {
        p->rk[BUSY] = new_rk(p, cfg, cfg->busy_linger_ms, "hookline-gateway-busy", errbuf,
                             errlen);
        if (!p->rk[BUSY])
            goto fail;
    }
    for (int i = 0; i < NPRODUCERS; i++) {
        if (!p->rk[i])
            continue;
        p->poller[i] = (struct poller){.p = p, .which = i};
        if (pthread_create(&p->poller[i].thread, NULL, poll_main, &p->poller[i]) != 0) {
            snprintf(errbuf, errlen, "cannot start the producer's poll thread");
            goto fail;
        }
        p->poller[i].started = true;
    }
    return p;
fail:
    atomic_store(&p->stop, true);
    for (int i = 0; i < NPRODUCERS; i++) {
        if (p->poller[i].started)
            pthread_join(p->poller[i].thread, NULL);
        if (p->rk[i])
            rd_kafka_destroy(p->rk[i]);
    }
    free(p);
    return NULL;
}

void gw_producer_free(struct gw_producer *p)
{
    if (!p)
        return;
    for (int i = 0; i < NPRODUCERS; i++)
        if (p->rk[i])
            rd_kafka_flush(p->rk[i], (int)p->timeout_ms);
    atomic_store(&p->stop, true);
    for (int i = 0; i < NPRODUCERS; i++) {
        if (!p->rk[i])
            continue;
        pthread_join(p->poller[i].thread, NULL);
        if (p->warm_topic[i])
            rd_kafka_topic_destroy(p->warm_topic[i]);
        rd_kafka_destroy(p->rk[i]);
    }
    free(p);
}

static void warm_one(struct gw_producer *p, int i, const char *topic, int timeout_ms)
{
    if (!p->warm_topic[i])
        p->warm_topic[i] = rd_kafka_topic_new(p->rk[i], topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = p->warm_topic[i]
                                  ? rd_kafka_metadata(p->rk[i], 0, p->warm_topic[i], &md,
                                                      timeout_ms)
                                  : rd_kafka_last_error();
    if (err) {
        hl_log(HL_LOG_WARN, "producer", "cannot fetch the metadata of topic '%s' yet: %s", topic,
               rd_kafka_err2str(err));
        return;
    }
    if (md->topic_cnt == 1 && md->topics[0].err)
        hl_log(HL_LOG_WARN, "producer", "topic '%s': %s", topic,
               rd_kafka_err2str(md->topics[0].err));
    rd_kafka_metadata_destroy(md);
}

void gw_producer_warm(struct gw_producer *p, const char *topic, int timeout_ms)
{
    /* Without this, the first requests' messages wait while librdkafka learns the topic's
     * leaders (and, idempotent, its producer id, which it requests over the same broker
     * connection): ~1 s of the first second's requests, the p99 of a fresh gateway. */
    for (int i = 0; i < NPRODUCERS; i++)
        if (p->rk[i])
            warm_one(p, i, topic, timeout_ms);
}

int gw_producer_queue_len(struct gw_producer *p)
{
    int n = 0;
    for (int i = 0; i < NPRODUCERS; i++)
        if (p->rk[i])
            n += rd_kafka_outq_len(p->rk[i]);
    return n;
}

void gw_producer_counts(struct gw_producer *p, uint64_t *prompt, uint64_t *busy)
{
    *prompt = atomic_load(&p->produced[PROMPT]);
    *busy = atomic_load(&p->produced[BUSY]);
}

bool gw_producer_healthy(struct gw_producer *p)
{
    return atomic_load(&p->broker_up) != 0;
}

hl_err gw_produce_wait(struct gw_producer *p, struct gw_kmsg *msgs, size_t n)
{
    struct waiter w = {.pending = 0};
    struct msg_ref *refs = hl_xcalloc(n, sizeof(*refs));
    hl_err result = HL_OK;

    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    /* the read-your-writes fence (gw_fence.h): read once, after every change this request
     * could have been told of */
    char fence[24];
    int fence_len = gw_fence_format(fence);
    int which = p->rk[BUSY] && atomic_load_explicit(&p->busy, memory_order_relaxed) ? BUSY
                                                                                     : PROMPT;
    rd_kafka_t *rk = p->rk[which];
    atomic_fetch_add_explicit(&p->produced[which], n, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        refs[i].w = &w;
        refs[i].m = &msgs[i];
        pthread_mutex_lock(&w.mu);
        w.pending++;
        pthread_mutex_unlock(&w.mu);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(msgs[i].topic),
            RD_KAFKA_V_KEY(msgs[i].key, msgs[i].key ? strlen(msgs[i].key) : 0),
            RD_KAFKA_V_VALUE((void *)msgs[i].value, msgs[i].value_len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&refs[i]),
            RD_KAFKA_V_HEADER(GW_FENCE_HEADER, fence, fence_len),
            /* time-ordered delivery ids for its generated (UUIDv7) event ids (hl/id.h);
             * the dispatchers read it on events only */
            RD_KAFKA_V_HEADER(HL_ID_VERSION_HEADER, HL_ID_VERSION_TIME_ORDERED_TEXT, -1),
            RD_KAFKA_V_END);
        if (e) {
            /* Never queued, so no report will come for it. */
            msgs[i].err = e;
            pthread_mutex_lock(&w.mu);
            w.pending--;
            pthread_mutex_unlock(&w.mu);
        }
    }
    /* librdkafka fails every queued message by message.timeout.ms, so this wait ends. */
    pthread_mutex_lock(&w.mu);
    while (w.pending > 0)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    for (size_t i = 0; i < n; i++)
        if (msgs[i].err)
            result = HL_EIO;
    free(refs);
    return result;
}
