/* Kafka plumbing shared by both services (see hl/kafka.h). */
#include "hl/kafka.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hl/buf.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

/* librdkafka logs with syslog levels from its own threads; hl_log is thread-safe. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    hl_log_level l = level <= 3 ? HL_LOG_ERROR
                     : level == 4 ? HL_LOG_WARN
                     : level <= 6 ? HL_LOG_INFO
                                  : HL_LOG_DEBUG;
    hl_log(l, "kafka", "%s: %s", fac, buf);
}

hl_err hl_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                         char *errbuf, size_t errlen)
{
    if (rd_kafka_conf_set(conf, name, value, errbuf, errlen) != RD_KAFKA_CONF_OK)
        return HL_EINVAL;
    return HL_OK;
}

/* The extra properties (kafka_properties, kafka_properties_file): a security.protocol, SASL
 * or TLS settings for a broker such as Strimzi's TLS listener. Hookline has no option of
 * its own for each; librdkafka's names and checks are the contract (its CONFIGURATION.md).
 * Written once on the main thread before any client exists, read-only afterwards. */
static struct {
    char **name, **value;
    size_t n;
} extra;

/* The properties Hookline sets itself and a user may not: those its guarantees rest on,
 * and those it has an option for (one place for each setting). Aliases are listed
 * under both names (librdkafka's CONFIGURATION.md). NULL when the user may set name;
 * else what owns it. */
static const char *hookline_owns(const char *name)
{
    static const char *const guarantee = "its delivery guarantees depend on it";
    static const struct {
        const char *name, *owner;
    } owned[] = {
        {"bootstrap.servers", "option brokers"},
        {"metadata.broker.list", "option brokers"},
        {"client.id", "it names each client"},
        {"enable.idempotence", NULL},
        {"acks", NULL},
        {"request.required.acks", NULL},
        {"transactional.id", NULL},
        {"group.id", "option group_id"},
        {"group.instance.id", NULL},
        {"enable.auto.commit", NULL},
        {"auto.commit.enable", NULL},
        {"enable.auto.offset.store", NULL},
        {"auto.offset.reset", NULL},
        {"isolation.level", NULL},
        {"enable.partition.eof", NULL},
        {"linger.ms", "options linger_ms, busy_linger_ms and bulk_linger_ms"},
        {"queue.buffering.max.ms", "options linger_ms, busy_linger_ms and bulk_linger_ms"},
        {"message.timeout.ms", "options produce_timeout_ms and message_timeout_ms"},
        {"delivery.timeout.ms", "options produce_timeout_ms and message_timeout_ms"},
        {"compression.codec", "option kafka_compression"},
        {"compression.type", "option kafka_compression"},
        {"session.timeout.ms", "option session_timeout_ms"},
        {"partition.assignment.strategy", "option assignment_strategy"},
        {"queued.max.messages.kbytes", "option prefetch_kb"},
        {"statistics.interval.ms", "the dispatcher's metrics read Kafka's statistics"},
    };
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        if (strcmp(name, owned[i].name) == 0)
            return owned[i].owner ? owned[i].owner : guarantee;
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Adds every "name=value" of text, entries split at any of seps; from names where. */
static hl_err extra_parse(char *text, const char *seps, const char *where, char *errbuf,
                          size_t errlen)
{
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    hl_err err = HL_EINVAL;
    char tmp[512];
    for (char *line = text, *next; line; line = next) {
        next = strpbrk(line, seps);
        if (next)
            *next++ = '\0';
        char *entry = trim(line);
        if (!*entry || *entry == '#')
            continue;
        char *eq = strchr(entry, '=');
        if (!eq) {
            snprintf(errbuf, errlen, "%s: '%.64s' is not name=value", where, entry);
            goto out;
        }
        *eq = '\0';
        char *name = trim(entry), *value = trim(eq + 1);
        const char *owner = hookline_owns(name);
        if (owner) {
            snprintf(errbuf, errlen, "%s: '%s' is set by Hookline (%s)", where, name, owner);
            goto out;
        }
        if (rd_kafka_conf_set(scratch, name, value, tmp, sizeof(tmp)) != RD_KAFKA_CONF_OK) {
            snprintf(errbuf, errlen, "%s: %s", where, tmp);
            goto out;
        }
        extra.name = hl_xrealloc(extra.name, (extra.n + 1) * sizeof(*extra.name));
        extra.value = hl_xrealloc(extra.value, (extra.n + 1) * sizeof(*extra.value));
        extra.name[extra.n] = hl_xstrdup(name);
        extra.value[extra.n] = hl_xstrdup(value);
        extra.n++;
        hl_log(HL_LOG_INFO, "config", "kafka property '%s' set from %s", name, where);
    }
    err = HL_OK;
out:
    rd_kafka_conf_destroy(scratch);
    return err;
}

hl_err hl_kafka_extra_set(const char *inline_props, const char *file, char *errbuf,
                          size_t errlen)
{
    hl_err err = HL_OK;
    for (size_t i = 0; i < extra.n; i++) {
        free(extra.name[i]);
        free(extra.value[i]);
    }
    extra.n = 0;
    if (inline_props && *inline_props) {
        char *copy = hl_xstrdup(inline_props);
        err = extra_parse(copy, ";", "kafka_properties", errbuf, errlen);
        OPENSSL_cleanse(copy, strlen(inline_props)); /* may hold sasl.password */
        free(copy);
        if (err)
            return err;
    }
    if (file && *file) {
        FILE *f = fopen(file, "r");
        if (!f) {
            snprintf(errbuf, errlen, "kafka_properties_file: cannot open '%s': %s", file,
                     strerror(errno));
            return HL_EINVAL;
        }
        struct hl_buf b = HL_BUF_INIT;
        char chunk[4096];
        size_t got;
        while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
            hl_buf_add(&b, chunk, got);
        fclose(f);
        size_t len = 0;
        char *text = hl_buf_detach(&b, &len);
        char where[300];
        snprintf(where, sizeof(where), "kafka_properties_file '%s'", file);
        err = extra_parse(text, "\n", where, errbuf, errlen);
        OPENSSL_cleanse(text, len); /* the file is where secrets go */
        free(text);
    }
    return err;
}

rd_kafka_conf_t *hl_kafka_conf_new(const char *brokers, const char *client_id, char *errbuf,
                                   size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (hl_kafka_conf_set(conf, "bootstrap.servers", brokers, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "client.id", client_id, errbuf, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
}

rd_kafka_t *hl_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errbuf,
                         size_t errlen)
{
    /* last, so that the user's tuning wins over the service's own */
    for (size_t i = 0; i < extra.n; i++)
        if (hl_kafka_conf_set(conf, extra.name[i], extra.value[i], errbuf, errlen))
            return NULL;
    return rd_kafka_new(type, conf, errbuf, errlen);
}

bool hl_kafka_consumer_close(rd_kafka_t *rk, int timeout_ms)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(rk, q);
    bool closed = false;
    if (error) {
        hl_log(HL_LOG_WARN, "kafka", "%s: close: %s", rd_kafka_name(rk),
               rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        int64_t deadline = hl_mono_ms() + timeout_ms;
        /* the rebalance callback runs from here */
        while (!(closed = rd_kafka_consumer_closed(rk)) && hl_mono_ms() < deadline)
            rd_kafka_queue_poll_callback(q, 50);
        if (!closed)
            hl_log(HL_LOG_WARN, "kafka",
                   "%s: not closed after %d ms (group coordinator unreachable?): leaving "
                   "without leaving the group",
                   rd_kafka_name(rk), timeout_ms);
    }
    rd_kafka_queue_destroy(q);
    return closed;
}

void hl_topic_name(char out[HL_TOPIC_MAX], const char *prefix, const char *suffix)
{
    snprintf(out, HL_TOPIC_MAX, "%s.%s", prefix, suffix);
}

hl_err hl_kafka_create_topics(const char *brokers, const struct hl_topic_spec *topics, size_t n,
                              int timeout_ms, char *errbuf, size_t errlen)
{
    hl_err err = HL_EIO;
    rd_kafka_t *rk = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    rd_kafka_AdminOptions_t *opts = NULL;
    rd_kafka_NewTopic_t *nt[64] = {0};
    char tmp[512];

    if (n > 64) {
        snprintf(errbuf, errlen, "too many topics");
        return HL_EINVAL;
    }
    rd_kafka_conf_t *conf = hl_kafka_conf_new(brokers, "hookline-admin", errbuf, errlen);
    if (!conf)
        return HL_EINVAL;
    rk = hl_kafka_new(RD_KAFKA_PRODUCER, conf, tmp, sizeof(tmp));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(errbuf, errlen, "cannot create admin client: %s", tmp);
        return HL_EIO;
    }
    for (size_t i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(topics[i].name, topics[i].partitions, topics[i].replication,
                                      tmp, sizeof(tmp));
        if (!nt[i]) {
            snprintf(errbuf, errlen, "topic '%s': %s", topics[i].name, tmp);
            err = HL_EINVAL;
            goto out;
        }
        if (topics[i].min_insync_replicas > 0) {
            char v[16];
            snprintf(v, sizeof(v), "%d", topics[i].min_insync_replicas);
            rd_kafka_resp_err_t e = rd_kafka_NewTopic_set_config(nt[i], "min.insync.replicas", v);
            if (e) {
                snprintf(errbuf, errlen, "topic '%s': %s", topics[i].name, rd_kafka_err2str(e));
                err = HL_EINVAL;
                goto out;
            }
        }
    }
    q = rd_kafka_queue_new(rk);
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, tmp, sizeof(tmp));
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, tmp, sizeof(tmp));
    rd_kafka_CreateTopics(rk, nt, n, opts, q);

    ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
    if (!ev) {
        snprintf(errbuf, errlen, "no answer from '%s' within %d ms", brokers, timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errbuf, errlen, "create topics: %s", rd_kafka_event_error_string(ev));
        goto out;
    }
    size_t cnt = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        const char *name = rd_kafka_topic_result_name(res[i]);
        if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            hl_log(HL_LOG_INFO, "kafka", "topic '%s' exists already", name);
        } else if (e) {
            snprintf(errbuf, errlen, "topic '%s': %s", name,
                     rd_kafka_topic_result_error_string(res[i]));
            goto out;
        } else {
            hl_log(HL_LOG_INFO, "kafka", "created topic '%s'", name);
        }
    }
    err = HL_OK;
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    for (size_t i = 0; i < n; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    if (q)
        rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return err;
}
