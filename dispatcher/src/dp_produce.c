/* The dispatcher's producer (see dp_produce.h). */
#include "dp_produce.h"

#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_consumer.h"
#include "dp_direct.h"
#include "dp_metrics.h"
#include "hl/buf.h"
#include "hl/kafka.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

/* Two producers: records a consumer waits for (tasks, system events) leave within
 * FAST_LINGER_MS; the others (attempt records, retries, dead letters: most of the volume)
 * are gathered for bulk_linger_ms. One producer for both either delayed every hop through
 * <prefix>.deliveries or sent about one produce request per delivery, whose acknowledgement
 * also woke the loop each time: at 2 ms the broker and the dispatchers spent half as much
 * CPU per delivery again as at 20 ms (docs/performance.md). */
enum { FAST, BULK, NPRODUCERS };
#define FAST_LINGER_MS "2"

struct dp_producer {
    rd_kafka_t *rk[NPRODUCERS];
    rd_kafka_queue_t *main[NPRODUCERS];
    char prefix[HL_TOPIC_MAX];
    /* A handle on every topic produced to, from the start (known_topics) */
    rd_kafka_topic_t **topics;
    size_t ntopics;
    struct dp_direct *direct; /* to the attempt-log writer in-process; NULL: none */
    char attempts[HL_TOPIC_MAX];
};

/* The producer a record to <prefix>.<suffix> goes through; task: the suffix is
 * "deliveries". */
static int producer_of(const char *suffix, bool task)
{
    return task || strcmp(suffix, "events") == 0 ? FAST : BULK;
}

static void know_topic(struct dp_producer *p, const char *suffix)
{
    char topic[HL_TOPIC_MAX];
    hl_topic_name(topic, p->prefix, suffix);
    rd_kafka_topic_t *t = rd_kafka_topic_new(
        p->rk[producer_of(suffix, strcmp(suffix, "deliveries") == 0)], topic, NULL);
    if (t)
        p->topics[p->ntopics++] = t;
}

/* librdkafka learns a topic's partitions when it first sees the topic, and it first sees
 * it at the first record produced to it: that record then waited for the next periodic
 * topic scan, up to a second (seen as a 900 ms wait for the first tasks handed to
 * <prefix>.deliveries at a rebalance, which held the rebalance that long). A handle on
 * each topic from the start has the partitions known before any record needs them. */
static void known_topics(struct dp_producer *p, const struct dp_config *cfg)
{
    static const char *const fixed[] = {"deliveries", "events", "attempts", "dlq"};
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    p->topics = hl_xcalloc(nfixed + cfg->ntiers, sizeof(*p->topics));
    for (size_t i = 0; i < nfixed; i++)
        know_topic(p, fixed[i]);
    for (size_t i = 0; i < cfg->ntiers; i++) {
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "retry.%zu", i);
        know_topic(p, suffix);
    }
}

/* Set once the producer had a fatal error (see fatal_stop). */
static atomic_bool fatal;

/* An idempotent producer whose sequence broke (OUT_OF_ORDER_SEQUENCE_NUMBER when brokers
 * holding its records were killed and restarted while records were in flight) raises a
 * fatal error: the instance refuses every record from then on, and librdkafka says the
 * application must terminate it. Producing again would loop for ever and deliver nothing
 * while this dispatcher still held its partitions. So the dispatcher stops as on SIGTERM:
 * finished work is committed, unfinished work (its pending units are never released) is
 * redone by the partitions' next owner, and the process exits with status 1 so that its
 * supervisor starts one with a new producer. @locality any thread */
static void fatal_stop(rd_kafka_t *rk)
{
    char why[512];
    rd_kafka_resp_err_t e = rd_kafka_fatal_error(rk, why, sizeof(why));
    if (atomic_exchange(&fatal, true))
        return;
    hl_log(HL_LOG_ERROR, "produce", "fatal producer error %s: %s; stopping (exit status 1)",
           rd_kafka_err2name(e), why);
    raise(SIGTERM);
}

bool dp_producer_fatal(void)
{
    return atomic_load(&fatal);
}

/* fence > 0 travels as the DP_FENCE_HEADER header (tasks only). */
static void produce_raw(rd_kafka_t *rk, const char *topic, const void *key, size_t klen,
                        const void *value, size_t len, int64_t fence, void *opaque)
{
    char fv[HL_INT_STR_MAX];
    size_t fl = fence > 0 ? hl_i64_str(fence, fv) : 0;
    for (;;) {
        rd_kafka_headers_t *hdrs = NULL;
        if (fl > 0) {
            hdrs = rd_kafka_headers_new(1);
            rd_kafka_header_add(hdrs, DP_FENCE_HEADER, -1, fv, (ssize_t)fl);
        }
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (err && hdrs)
            rd_kafka_headers_destroy(hdrs); /* owned by librdkafka only on success */
        if (!err)
            return;
        if (err == RD_KAFKA_RESP_ERR__FATAL || atomic_load(&fatal)) {
            fatal_stop(rk);
            return;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            hl_log(HL_LOG_ERROR, "produce", "cannot produce to '%s': %s; retrying", topic,
                   rd_kafka_err2str(err));
        }
        /* Full local queue: wait for acknowledgements rather than drop anything. */
        rd_kafka_poll(rk, 100);
    }
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)opaque;
    char why[8];
    if (m->err && rd_kafka_fatal_error(rk, why, sizeof(why))) {
        fatal_stop(rk); /* the record's unit stays pending: redone by the next owner */
        return;
    }
    if (m->err) {
        hl_log(HL_LOG_WARN, "produce", "record to '%s' failed: %s; producing it again",
               rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        produce_raw(rk, rd_kafka_topic_name(m->rkt), m->key, m->key_len, m->payload, m->len,
                    dp_fence_header((rd_kafka_message_t *)m), m->_private);
        return;
    }
    if (m->_private)
        dp_msg_done(m->_private);
}

static rd_kafka_t *producer_new(const struct dp_config *cfg, const char *linger, char *errbuf,
                                size_t errlen)
{
    static const char *const props[][2] = {
        {"enable.idempotence", "true"},
        {"queue.buffering.max.messages", "1000000"},
        /* The hard cap: beyond it dp_produce() waits for acknowledgements. The loop stops
         * taking messages well before, at max_unacked records. */
        {"queue.buffering.max.kbytes", "65536"},
    };
    rd_kafka_conf_t *conf =
        hl_kafka_conf_new(cfg->common.brokers, "hookline-dispatcher", errbuf, errlen);
    if (!conf)
        return NULL;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (hl_kafka_conf_set(conf, props[i][0], props[i][1], errbuf, errlen))
            goto fail;
    if (hl_kafka_conf_set(conf, "linger.ms", linger, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "compression.codec", cfg->kafka_compression, errbuf, errlen))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = hl_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errlen);
    if (rk)
        return rk;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

struct dp_producer *dp_producer_new(const struct dp_config *cfg, int wake_fd, char *errbuf,
                                    size_t errlen)
{
    char bulk_linger[HL_INT_STR_MAX];
    hl_i64_str(cfg->bulk_linger_ms, bulk_linger);
    const char *linger[NPRODUCERS] = {[FAST] = FAST_LINGER_MS, [BULK] = bulk_linger};
    struct dp_producer *p = hl_xcalloc(1, sizeof(*p));
    snprintf(p->prefix, sizeof(p->prefix), "%s", cfg->common.topic_prefix);
    hl_topic_name(p->attempts, p->prefix, "attempts");
    for (int i = 0; i < NPRODUCERS; i++) {
        p->rk[i] = producer_new(cfg, linger[i], errbuf, errlen);
        if (!p->rk[i]) {
            dp_producer_free(p, 0);
            return NULL;
        }
        p->main[i] = rd_kafka_queue_get_main(p->rk[i]);
        if (wake_fd >= 0)
            rd_kafka_queue_io_event_enable(p->main[i], wake_fd, "p", 1);
    }
    known_topics(p, cfg);
    return p;
}

/* Attempt records the process's writer holds for this producer's messages. */
static int direct_held(const struct dp_producer *p)
{
    return p->direct ? (int)dp_direct_held(p->direct) : 0;
}

void dp_producer_set_direct(struct dp_producer *p, struct dp_direct *d)
{
    p->direct = d;
}

void dp_produce_record(struct dp_producer *p, const char *key, const void *rec, size_t len,
                       const struct dp_record_spans *spans, struct dp_msg *msg)
{
    if (p->direct && dp_direct_offer(p->direct, key, rec, len, spans, msg)) {
        if (msg)
            msg->pending++;
        return;
    }
    dp_metrics_attempt_record_path(false);
    dp_produce(p, "attempts", key, rec, len, msg);
}

void dp_produce(struct dp_producer *p, const char *suffix, const char *key, const void *value,
                size_t len, struct dp_msg *msg)
{
    char topic[HL_TOPIC_MAX];
    hl_topic_name(topic, p->prefix, suffix);
    bool task = strcmp(suffix, "deliveries") == 0;
    int64_t fence = 0;
    if (msg) {
        msg->pending++;
        /* a task is delivered with a snapshot at least as new as the one that made it */
        if (task || strncmp(suffix, "retry.", 6) == 0) {
            fence = msg->fence;
            dp_msg_acted(msg);
        }
    }
    produce_raw(p->rk[producer_of(suffix, task)], topic, key, key ? strlen(key) : 0, value, len,
                fence, msg);
}

/* A record the writer is finished with: written, or handed back for Kafka. */
static void direct_done(void *ud, void *opaque, bool written, const char *key, const char *rec,
                     size_t len)
{
    struct dp_producer *p = ud;
    dp_metrics_attempt_record_path(written);
    if (written) {
        if (opaque)
            dp_msg_done(opaque);
        return;
    }
    produce_raw(p->rk[BULK], p->attempts, key, strlen(key), rec, len, 0, opaque);
}

void dp_producer_serve(struct dp_producer *p)
{
    for (int i = 0; i < NPRODUCERS; i++)
        rd_kafka_poll(p->rk[i], 0);
    if (p->direct)
        dp_direct_collect(p->direct, direct_done, p);
}

void dp_producer_hurry(struct dp_producer *p)
{
    if (direct_held(p) > 0)
        dp_direct_hurry(p->direct);
}

int dp_producer_outstanding(const struct dp_producer *p)
{
    return rd_kafka_outq_len(p->rk[FAST]) + rd_kafka_outq_len(p->rk[BULK]) + direct_held(p);
}

void dp_producer_free(struct dp_producer *p, int timeout_ms)
{
    if (!p)
        return;
    /* within one timeout for all: first the records the writer holds, whose messages
     * are released (or which go to Kafka) as it finishes them; then the producers, whose
     * flush ends the bulk producer's linger at once */
    int64_t deadline = hl_mono_ms() + timeout_ms;
    while (direct_held(p) > 0 && hl_mono_ms() < deadline) {
        dp_direct_hurry(p->direct);
        if (!dp_direct_collect(p->direct, direct_done, p))
            poll(NULL, 0, 5);
    }
    if (direct_held(p) > 0)
        hl_log(HL_LOG_WARN, "produce", "%d attempt records unwritten at exit", direct_held(p));
    for (int i = 0; i < NPRODUCERS && p->rk[i]; i++) {
        int64_t left = deadline - hl_mono_ms();
        rd_kafka_resp_err_t err = rd_kafka_flush(p->rk[i], left > 0 ? (int)left : 0);
        if (err)
            hl_log(HL_LOG_WARN, "produce", "%d records unacknowledged at exit: %s",
                   rd_kafka_outq_len(p->rk[i]), rd_kafka_err2str(err));
    }
    for (size_t i = 0; i < p->ntopics; i++)
        rd_kafka_topic_destroy(p->topics[i]);
    free(p->topics);
    for (int i = 0; i < NPRODUCERS && p->rk[i]; i++) {
        if (p->main[i]) {
            rd_kafka_queue_io_event_enable(p->main[i], -1, NULL, 0);
            rd_kafka_queue_destroy(p->main[i]);
        }
        rd_kafka_destroy(p->rk[i]);
    }
    free(p);
}
