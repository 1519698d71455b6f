/* The gateway's Kafka producer.
 *
 * A `202 Accepted` is a promise that the event will be delivered, so it is sent only after
 * the broker acknowledged the write with acks=all (enable.idempotence=true also rules out
 * duplicates from librdkafka's own retries). Request threads produce, then sleep on a
 * per-request waiter; one background thread serves delivery reports (rd_kafka_poll) and
 * wakes them. Many requests share each producer batch, so throughput comes from batching
 * across requests while every request still waits only for its own messages.
 *
 * At most IN_FLIGHT produce requests are out per broker connection: the events that
 * arrive meanwhile wait for one to return and go together in the next, instead of one
 * request (and one broker round of work) each. An event that comes alone is sent at once,
 * as with linger_ms 0. With 64 connections posting single events (bench/run 9) 2 gave
 * 3,215-3,327 events/s against 2,459-2,998 with librdkafka's 5, and Kafka's CPU per event
 * fell by a fifth; 1 gained as much there but cost ingest alone (scenario 1) 7 % of
 * its rate and a third more p99 (docs/performance.md). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_config.h"
#include "gw_producer.h"
#include "hl/kafka.h"
#include "gw_fence.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/banned.h"

#define IN_FLIGHT "2" /* max.in.flight.requests.per.connection; see above */

struct gw_producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *warm_topic; /* held so that its metadata stays known; see gw_producer_warm */
    pthread_t poller;
    atomic_bool stop;
    atomic_int broker_up; /* brokers currently connected, from librdkafka's view */
    int64_t timeout_ms;
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

static void *poll_main(void *arg)
{
    struct gw_producer *p = arg;
    while (!atomic_load(&p->stop)) {
        rd_kafka_poll(p->rk, 100);
        /* A successful metadata round trip means a broker answers again. */
        if (!atomic_load(&p->broker_up)) {
            const struct rd_kafka_metadata *md = NULL;
            if (rd_kafka_metadata(p->rk, 0, NULL, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                atomic_store(&p->broker_up, 1);
                rd_kafka_metadata_destroy(md);
            }
        }
    }
    return NULL;
}

struct gw_producer *gw_producer_new(const struct gw_config *cfg, char *errbuf, size_t errlen)
{
    char num[32];
    rd_kafka_conf_t *conf = hl_kafka_conf_new(cfg->common.brokers, "hookline-gateway", errbuf,
                                              errlen);
    if (!conf)
        return NULL;
    struct gw_producer *p = hl_xcalloc(1, sizeof(*p));
    p->timeout_ms = cfg->produce_timeout_ms;
    atomic_store(&p->broker_up, 1);
    snprintf(num, sizeof(num), "%lld", (long long)cfg->linger_ms);
    char tmo[32];
    snprintf(tmo, sizeof(tmo), "%lld", (long long)cfg->produce_timeout_ms);
    if (hl_kafka_conf_set(conf, "enable.idempotence", "true", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "acks", "all", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "max.in.flight.requests.per.connection", IN_FLIGHT, errbuf,
                          errlen) ||
        hl_kafka_conf_set(conf, "linger.ms", num, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "message.timeout.ms", tmo, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "compression.codec", cfg->kafka_compression, errbuf, errlen))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = hl_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errlen);
    if (!p->rk)
        goto fail;
    conf = NULL;
    if (pthread_create(&p->poller, NULL, poll_main, p) != 0) {
        snprintf(errbuf, errlen, "cannot start the producer's poll thread");
        rd_kafka_destroy(p->rk);
        goto fail;
    }
    return p;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(p);
    return NULL;
}

void gw_producer_free(struct gw_producer *p)
{
    if (!p)
        return;
    rd_kafka_flush(p->rk, (int)p->timeout_ms);
    atomic_store(&p->stop, true);
    pthread_join(p->poller, NULL);
    if (p->warm_topic)
        rd_kafka_topic_destroy(p->warm_topic);
    rd_kafka_destroy(p->rk);
    free(p);
}

void gw_producer_warm(struct gw_producer *p, const char *topic, int timeout_ms)
{
    /* Without this, the first requests' messages wait while librdkafka learns the topic's
     * leaders (and, idempotent, its producer id, which it requests over the same broker
     * connection): ~1 s of the first second's requests, the p99 of a fresh gateway. */
    if (!p->warm_topic)
        p->warm_topic = rd_kafka_topic_new(p->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = p->warm_topic ? rd_kafka_metadata(p->rk, 0, p->warm_topic, &md,
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

int gw_producer_queue_len(struct gw_producer *p)
{
    return rd_kafka_outq_len(p->rk);
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
    for (size_t i = 0; i < n; i++) {
        refs[i].w = &w;
        refs[i].m = &msgs[i];
        pthread_mutex_lock(&w.mu);
        w.pending++;
        pthread_mutex_unlock(&w.mu);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(msgs[i].topic),
            RD_KAFKA_V_KEY(msgs[i].key, msgs[i].key ? strlen(msgs[i].key) : 0),
            RD_KAFKA_V_VALUE((void *)msgs[i].value, msgs[i].value_len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&refs[i]),
            RD_KAFKA_V_HEADER(GW_FENCE_HEADER, fence, fence_len), RD_KAFKA_V_END);
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
