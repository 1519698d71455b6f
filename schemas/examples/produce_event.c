/* produce_event: publishes one event straight to <prefix>.events, bypassing the gateway, as
 * schemas/kafka.md describes: the value is an envelope of schemas/event.schema.json, the key
 * is the event id, and the producer is idempotent with acks=all. It exits 0 only once the
 * broker has acknowledged the message.
 *
 *   produce_event BROKERS TOPIC TENANT EVENT_TYPE DATA_JSON [EVENT_ID]
 *   produce_event 127.0.0.1:9092 hookline.events acme order.created '{"order_id":42}'
 *
 * A self-contained example (librdkafka and jansson only) that CMake builds with the rest
 * of Hookline, so it cannot rot; tests/integration/test_event_contract.py runs it. */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static rd_kafka_resp_err_t delivery_err = RD_KAFKA_RESP_ERR__IN_PROGRESS;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    delivery_err = m->err;
}

/* RFC 3339 UTC with milliseconds, as the gateway writes timestamps. */
static void now_rfc3339(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 7) {
        fprintf(stderr, "usage: %s BROKERS TOPIC TENANT EVENT_TYPE DATA_JSON [EVENT_ID]\n",
                argv[0]);
        return 2;
    }
    const char *brokers = argv[1], *topic = argv[2], *tenant = argv[3], *type = argv[4];
    char id[64], ts[32], errstr[512];
    json_error_t jerr;
    int rc = 1;

    json_t *data = json_loads(argv[5], JSON_DECODE_ANY, &jerr);
    if (!data) {
        fprintf(stderr, "DATA_JSON is not JSON: %s\n", jerr.text);
        return 2;
    }
    now_rfc3339(ts);
    /* Any id unique within the tenant; re-producing the same id yields the same webhook-id
     * (delivery id) at receivers, so retries of this program deduplicate there. */
    snprintf(id, sizeof(id), "%s", argc == 7 ? argv[6] : "");
    if (!id[0])
        snprintf(id, sizeof(id), "evt-%s-%ld", ts, (long)getpid());
    json_t *env = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "event", type, "tenant",
                            tenant, "timestamp", ts, "data", data);
    char *value = json_dumps(env, JSON_COMPACT);
    json_decref(env);

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "acks", "all", errstr, sizeof(errstr))) {
        fprintf(stderr, "config: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        goto out;
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(id, strlen(id)),
        RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (err) {
        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
    } else {
        rd_kafka_flush(rk, 15000); /* serves the delivery report */
        if (delivery_err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            printf("%s\n", id);
            rc = 0;
        } else {
            fprintf(stderr, "not acknowledged: %s\n", rd_kafka_err2str(delivery_err));
        }
    }
    rd_kafka_destroy(rk);
out:
    free(value);
    return rc;
}
