/* Idempotent Kafka producer with a delivery-report thread (see cdc_producer.h). */
#include "cdc_producer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc_fence.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/banned.h"

struct cdc_producer {
    rd_kafka_t *rk;
    char topic[HL_TOPIC_MAX];
    pthread_t thread;
    atomic_bool stop;
    atomic_bool fatal;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        hl_log(HL_LOG_WARN, "producer", "event not acknowledged by Kafka: %s",
               rd_kafka_err2str(m->err));
    cdc_acks_done(m->_private, m->err == RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct cdc_producer *p = opaque;
    char fatal[256];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        hl_log(HL_LOG_ERROR, "producer", "fatal Kafka error: %s", fatal);
        atomic_store(&p->fatal, true);
        return;
    }
    hl_log(HL_LOG_WARN, "producer", "%s", reason);
}

static void *poll_main(void *arg)
{
    struct cdc_producer *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 100);
    return NULL;
}

struct cdc_producer *cdc_producer_new(const struct cdc_config *cfg, char *errbuf,
                                      size_t errlen)
{
    char num[32];
    struct cdc_producer *p = hl_xcalloc(1, sizeof(*p));
    rd_kafka_conf_t *conf = hl_kafka_conf_new(cfg->common.brokers, "hookline-cdc", errbuf, errlen);
    if (!conf)
        goto fail;
    snprintf(num, sizeof(num), "%lld", (long long)cfg->linger_ms);
    if (hl_kafka_conf_set(conf, "enable.idempotence", "true", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "acks", "all", errbuf, errlen) ||
        hl_kafka_conf_set(conf, "linger.ms", num, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "compression.codec", cfg->kafka_compression, errbuf, errlen))
        goto fail_conf;
    snprintf(num, sizeof(num), "%lld", (long long)cfg->message_timeout_ms);
    if (hl_kafka_conf_set(conf, "message.timeout.ms", num, errbuf, errlen))
        goto fail_conf;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = hl_kafka_new(RD_KAFKA_PRODUCER, conf, errbuf, errlen);
    if (!p->rk)
        goto fail_conf;
    hl_topic_name(p->topic, cfg->common.topic_prefix, "events");
    if (pthread_create(&p->thread, NULL, poll_main, p) != 0) {
        snprintf(errbuf, errlen, "cannot start the delivery-report thread");
        rd_kafka_destroy(p->rk);
        goto fail;
    }
    return p;
fail_conf:
    rd_kafka_conf_destroy(conf);
fail:
    free(p);
    return NULL;
}

void cdc_producer_free(struct cdc_producer *p, int timeout_ms)
{
    if (!p)
        return;
    rd_kafka_flush(p->rk, timeout_ms);
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    /* Reports of what is still queued run here, before the acks they point to are gone. */
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(p->rk, 0);
    rd_kafka_destroy(p->rk);
    free(p);
}

hl_err cdc_produce(struct cdc_producer *p, const char *key, size_t keylen, const char *value,
                   size_t len, struct cdc_acks *acks, struct cdc_txn *txn,
                   atomic_int *stop, char *errbuf, size_t errlen)
{
    char fence[24];
    int flen = snprintf(fence, sizeof(fence), "%lld", (long long)cdc_fence_version());
    cdc_acks_produced(acks, txn);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_KEY(key, keylen),
            RD_KAFKA_V_HEADER(CDC_FENCE_HEADER, fence, (ssize_t)flen),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(txn), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return HL_OK;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || (stop && atomic_load(stop))) {
            snprintf(errbuf, errlen, "cannot produce: %s", rd_kafka_err2str(err));
            cdc_acks_done(txn, false);
            return HL_EIO;
        }
        usleep(10000); /* the report thread empties the queue */
    }
}

bool cdc_producer_healthy(struct cdc_producer *p)
{
    return !atomic_load(&p->fatal);
}
