/* bench-preload: writes benchmark events straight to <prefix>.events, for dispatcher-only
 * runs (bench/run scenarios 3, 6, 7) and as the fixed-rate source of scenario 4's Kafka
 * variant.
 *
 * Each message is an envelope of schemas/event.schema.json, keyed by its id:
 *   {"id":"<id>","event":"<type>","tenant":"<tenant>","timestamp":"<now, ms>",
 *    "data":{"seq":n,"sent_us":<epoch us>,"pad":"xxx..."},"metadata":{}}
 * "timestamp" plays the gateway's accept time and "sent_us" lets bench-receiver measure
 * send -> receipt at microsecond resolution. With --ids=gateway (the default) the ids are
 * those the gateway generates, UUIDv7, with its header for time-ordered delivery ids
 * (hl/id.h); with --ids=client they are a service's own, "bench-<run>-<n>", without it.
 *
 * The event type is checked like the gateway's would be (letters, digits, '_', '-', dots).
 *
 * The producer is idempotent (acks=all) like the gateway's; with --rate=0 it writes as fast
 * as librdkafka takes them, otherwise it paces to the rate (open loop: each message has a
 * scheduled time and is sent late rather than skipped when the machine stalls). It prints
 * one JSON line with the count, the failures and the rate acknowledged. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hl/buf.h"
#include "hl/config.h"
#include "hl/id.h"
#include "hl/kafka.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/time.h"
#include "hl/banned.h"

struct preload_cfg {
    char *brokers;
    char *topic_prefix;
    char *tenant;
    char *event_type;
    int64_t types;
    int64_t count;
    int64_t rate;
    int64_t payload_bytes;
    int64_t linger_ms;
    char *run_id;
    char *ids;
};

static const struct hl_cfg_opt opts[] = {
    {"brokers", HL_CFG_STR, offsetof(struct preload_cfg, brokers), "127.0.0.1:9092", 0, 0,
     "Kafka bootstrap servers"},
    {"topic_prefix", HL_CFG_STR, offsetof(struct preload_cfg, topic_prefix), "hookline", 0, 0,
     "events go to <topic_prefix>.events"},
    {"tenant", HL_CFG_STR, offsetof(struct preload_cfg, tenant), "bench", 0, 0,
     "tenant of every event (must exist, or the dispatcher dead-letters them)"},
    {"event_type", HL_CFG_STR, offsetof(struct preload_cfg, event_type), "bench.ping", 0, 0,
     "event type of every event"},
    {"types", HL_CFG_INT, offsetof(struct preload_cfg, types), "1", 1, 1000000,
     "with N > 1, event n has type <event_type>.<n mod N> (one webhook per type spreads them)"},
    {"count", HL_CFG_INT, offsetof(struct preload_cfg, count), "1000000", 1, 1000000000,
     "events to write"},
    {"rate", HL_CFG_INT, offsetof(struct preload_cfg, rate), "0", 0, 10000000,
     "events per second; 0 writes as fast as possible"},
    {"payload_bytes", HL_CFG_INT, offsetof(struct preload_cfg, payload_bytes), "200", 0, 1000000,
     "padding in data, so the delivery body is about this much larger"},
    {"linger_ms", HL_CFG_INT, offsetof(struct preload_cfg, linger_ms), "5", 0, 1000,
     "librdkafka linger.ms"},
    {"run_id", HL_CFG_STR, offsetof(struct preload_cfg, run_id), "", 0, 0,
     "with --ids=client, part of every event id (default: the start time), so reruns make "
     "new ids"},
    {"ids", HL_CFG_STR, offsetof(struct preload_cfg, ids), "gateway", 0, 0,
     "event ids: 'gateway' (UUIDv7 and the hookline-id-version header, as the gateway "
     "writes them) or 'client' (bench-<run>-<n>, no header, as a service's own ids)"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int64_t acked, failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err)
        failed++;
    else
        acked++;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
    struct preload_cfg cfg;
    char err[512], topic[HL_TOPIC_MAX], run[64], linger[32];
    int rc = 1;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    rd_kafka_conf_t *conf = NULL;
    struct hl_buf b = HL_BUF_INIT;
    char *pad = NULL;

    hl_log_set_service("bench-preload");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: bench-preload [--option=value ...]\n\noptions:\n");
            hl_cfg_usage(stdout, opts, NOPTS);
            return 0;
        }
    memset(&cfg, 0, sizeof(cfg));
    if (hl_cfg_load(opts, NOPTS, &cfg, argc - 1, argv + 1, err, sizeof(err))) {
        fprintf(stderr, "bench-preload: %s\n", err);
        goto out;
    }
    if (!hl_event_type_valid(cfg.event_type)) {
        fprintf(stderr, "bench-preload: '%s' is not a valid event type\n", cfg.event_type);
        goto out;
    }
    bool gateway_ids = strcmp(cfg.ids, "gateway") == 0;
    if (!gateway_ids && strcmp(cfg.ids, "client") != 0) {
        fprintf(stderr, "bench-preload: --ids is 'gateway' or 'client', not '%s'\n", cfg.ids);
        goto out;
    }
    hl_topic_name(topic, cfg.topic_prefix, "events");
    if (cfg.run_id && *cfg.run_id)
        snprintf(run, sizeof(run), "%s", cfg.run_id);
    else
        snprintf(run, sizeof(run), "%" PRId64, now_us());
    snprintf(linger, sizeof(linger), "%lld", (long long)cfg.linger_ms);

    conf = hl_kafka_conf_new(cfg.brokers, "hookline-bench-preload", err, sizeof(err));
    if (!conf || hl_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) ||
        hl_kafka_conf_set(conf, "acks", "all", err, sizeof(err)) ||
        hl_kafka_conf_set(conf, "linger.ms", linger, err, sizeof(err)) ||
        hl_kafka_conf_set(conf, "compression.codec", "lz4", err, sizeof(err)) ||
        hl_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof(err)) ||
        hl_kafka_conf_set(conf, "batch.num.messages", "10000", err, sizeof(err))) {
        fprintf(stderr, "bench-preload: %s\n", err);
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rk = hl_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench-preload: %s\n", err);
        goto out;
    }
    conf = NULL;
    /* As the gateway does (gw_producer_warm): the topic's leaders and the producer id first.
     * Without it the messages of the first second, headers and all, waited about a second
     * for them, which at --rate was scenario 4's p99. */
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (!rkt || rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "bench-preload: no metadata for '%s'\n", topic);
        goto out;
    }
    rd_kafka_metadata_destroy(md);

    pad = malloc((size_t)cfg.payload_bytes + 1);
    memset(pad, 'x', (size_t)cfg.payload_bytes);
    pad[cfg.payload_bytes] = '\0';

    int64_t t0 = hl_mono_us();
    int64_t interval_ns = cfg.rate ? 1000000000 / cfg.rate : 0;
    for (int64_t n = 0; n < cfg.count; n++) {
        if (interval_ns) {
            int64_t due_us = t0 + n * interval_ns / 1000;
            int64_t wait = due_us - hl_mono_us();
            if (wait > 50)
                usleep((useconds_t)wait);
        }
        char id[96], ts[HL_ISO8601_LEN];
        int64_t sent = now_us();
        hl_iso8601_ms(sent / 1000, ts);
        if (gateway_ids)
            hl_uuid_v7(id);
        else
            snprintf(id, sizeof(id), "bench-%s-%" PRId64, run, n);
        hl_buf_clear(&b);
        hl_buf_addf(&b, "{\"id\":\"%s\",\"event\":\"", id);
        hl_buf_adds(&b, cfg.event_type); /* an event type needs no JSON escaping */
        if (cfg.types > 1)
            hl_buf_addf(&b, ".%" PRId64, n % cfg.types);
        hl_buf_addch(&b, '"');
        hl_buf_adds(&b, ",\"tenant\":");
        hl_buf_add_json_str(&b, cfg.tenant, strlen(cfg.tenant));
        hl_buf_addf(&b,
                    ",\"timestamp\":\"%s\",\"data\":{\"seq\":%" PRId64 ",\"sent_us\":%" PRId64
                    ",\"pad\":\"%s\"},\"metadata\":{}}",
                    ts, n, sent, pad);
        /* the gateway's header last, so that client ids leave it off */
        const rd_kafka_vu_t vu[] = {
            {.vtype = RD_KAFKA_VTYPE_TOPIC, .u.cstr = topic},
            {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {id, strlen(id)}},
            {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {b.ptr, b.len}},
            {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
            {.vtype = RD_KAFKA_VTYPE_HEADER,
             .u.header = {HL_ID_VERSION_HEADER, HL_ID_VERSION_TIME_ORDERED_TEXT, -1}},
        };
        size_t nvu = sizeof(vu) / sizeof(vu[0]) - (gateway_ids ? 0 : 1);
        for (;;) {
            rd_kafka_error_t *error = rd_kafka_produceva(rk, vu, nvu);
            rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
            if (error) {
                e = rd_kafka_error_code(error);
                rd_kafka_error_destroy(error);
            }
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "bench-preload: produce: %s\n", rd_kafka_err2str(e));
                goto out;
            }
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    while (rd_kafka_outq_len(rk) > 0)
        rd_kafka_poll(rk, 50);
    double secs = (double)(hl_mono_us() - t0) / 1e6;
    printf("{\"topic\":\"%s\",\"count\":%lld,\"acked\":%lld,\"failed\":%lld,\"seconds\":%.3f,"
           "\"rate_per_s\":%.0f}\n",
           topic, (long long)cfg.count, (long long)acked, (long long)failed, secs,
           secs > 0 ? (double)acked / secs : 0.0);
    rc = failed ? 1 : 0;
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (rk)
        rd_kafka_destroy(rk);
    free(pad);
    hl_buf_release(&b);
    hl_cfg_release(opts, NOPTS, &cfg);
    return rc;
}
