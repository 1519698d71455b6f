/* The config table: defaults, environment, flags (in that precedence), validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl/config.h"
#include "hl/kafka.h"

struct test_cfg {
    struct hl_common_cfg common;
    int64_t port;
    bool verbose;
    char *name;
};

static const struct hl_cfg_opt opts[] = {
    HL_CFG_COMMON_OPTS(struct test_cfg),
    {"test_port", HL_CFG_INT, offsetof(struct test_cfg, port), "8080", 1, 65535, "port"},
    {"test_verbose", HL_CFG_BOOL, offsetof(struct test_cfg, verbose), "false", 0, 0, "verbose"},
    {"test_name", HL_CFG_STR, offsetof(struct test_cfg, name), NULL, 0, 0, "name"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int clear_env(void **state)
{
    unsetenv("HOOKLINE_TEST_PORT");
    unsetenv("HOOKLINE_TEST_NAME");
    unsetenv("HOOKLINE_TOPIC_PREFIX");
    unsetenv("HOOKLINE_KAFKA_PROPERTIES");
    unsetenv("HOOKLINE_KAFKA_PROPERTIES_FILE");
    return 0;
}

static void test_defaults(void **state)
{
    struct test_cfg c;
    char err[256];
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 0, NULL, err, sizeof(err)), HL_OK);
    assert_int_equal(c.port, 8080);
    assert_false(c.verbose);
    assert_null(c.name);
    assert_string_equal(c.common.topic_prefix, "hookline");
    assert_string_equal(c.common.log_level, "info");
    hl_cfg_release(opts, NOPTS, &c);
}

static void test_env_then_flags_override(void **state)
{
    struct test_cfg c;
    char err[256];
    setenv("HOOKLINE_TEST_PORT", "9000", 1);
    setenv("HOOKLINE_TOPIC_PREFIX", "fromenv", 1);
    setenv("HOOKLINE_TEST_NAME", "env-name", 1);
    char *argv[] = {"--test-port=9100", "--test-verbose", "--test-name", "flag-name"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 4, argv, err, sizeof(err)), HL_OK);
    assert_int_equal(c.port, 9100);
    assert_true(c.verbose);
    assert_string_equal(c.name, "flag-name");
    assert_string_equal(c.common.topic_prefix, "fromenv");
    hl_cfg_release(opts, NOPTS, &c);
}

static void test_out_of_range_and_bad_values(void **state)
{
    struct test_cfg c;
    char err[256];
    char *a1[] = {"--test-port=70000"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, a1, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "test_port"));
    hl_cfg_release(opts, NOPTS, &c);

    char *a2[] = {"--test-port=12ab"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, a2, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "not an integer"));
    hl_cfg_release(opts, NOPTS, &c);

    char *a3[] = {"--test-verbose=maybe"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, a3, err, sizeof(err)), HL_EINVAL);
    hl_cfg_release(opts, NOPTS, &c);

    setenv("HOOKLINE_TEST_PORT", "0", 1);
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 0, NULL, err, sizeof(err)), HL_EINVAL);
    hl_cfg_release(opts, NOPTS, &c);
}

static void test_unknown_flag_and_missing_value(void **state)
{
    struct test_cfg c;
    char err[256];
    char *a1[] = {"--no-such-option=1"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, a1, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "unknown option"));
    hl_cfg_release(opts, NOPTS, &c);

    char *a2[] = {"--test-name"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, a2, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "needs a value"));
    hl_cfg_release(opts, NOPTS, &c);
}

static void test_common_apply_checks_log_level(void **state)
{
    struct test_cfg c;
    char err[256];
    char *argv[] = {"--log-level=loud"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, argv, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_common_cfg_apply(&c.common, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "log_level"));
    hl_cfg_release(opts, NOPTS, &c);
}

/* kafka_properties reach every client's configuration, after the service's own settings;
 * a property librdkafka does not know, or one Hookline sets itself, stops the service at
 * startup with its name. */
static void test_common_apply_kafka_properties(void **state)
{
    struct test_cfg c;
    char err[256];
    char *good[] = {"--kafka-properties= security.protocol=ssl ; ssl.ca.location=/x/ca.pem;"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, good, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_common_cfg_apply(&c.common, err, sizeof(err)), HL_OK);
    hl_cfg_release(opts, NOPTS, &c);

    /* Each client made gets them, and the user's tuning wins over what a service sets for
     * itself before creating its client (here a queue bound, as the dispatcher's
     * producers set one). */
    char *tuned[] = {"--kafka-properties=socket.keepalive.enable=true;"
                     "queue.buffering.max.messages=5000"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, tuned, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_common_cfg_apply(&c.common, err, sizeof(err)), HL_OK);
    rd_kafka_conf_t *conf = hl_kafka_conf_new("127.0.0.1:1", "t", err, sizeof(err));
    assert_non_null(conf);
    assert_int_equal(hl_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err,
                                       sizeof(err)),
                     HL_OK);
    rd_kafka_t *rk = hl_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(rk);
    char v[128];
    size_t vlen = sizeof(v);
    assert_int_equal(rd_kafka_conf_get(rd_kafka_conf(rk), "socket.keepalive.enable", v, &vlen),
                     RD_KAFKA_CONF_OK);
    assert_string_equal(v, "true");
    vlen = sizeof(v);
    assert_int_equal(rd_kafka_conf_get(rd_kafka_conf(rk), "queue.buffering.max.messages", v,
                                       &vlen),
                     RD_KAFKA_CONF_OK);
    assert_string_equal(v, "5000");
    rd_kafka_destroy(rk);
    hl_cfg_release(opts, NOPTS, &c);

    /* What Hookline sets itself, under either of librdkafka's names, is refused with what
     * owns it: a guarantee, or an option. */
    static const struct {
        const char *arg, *name, *owner;
    } owned[] = {
        {"--kafka-properties=acks=1", "acks", "guarantees"},
        {"--kafka-properties=security.protocol=ssl;enable.auto.commit=false",
         "enable.auto.commit", "guarantees"},
        {"--kafka-properties=linger.ms=50", "linger.ms", "linger_ms"},
        {"--kafka-properties=queue.buffering.max.ms=50", "queue.buffering.max.ms", "linger_ms"},
        {"--kafka-properties=compression.type=lz4", "compression.type", "kafka_compression"},
        {"--kafka-properties=group.id=other", "group.id", "group_id"},
        {"--kafka-properties=metadata.broker.list=127.0.0.1:1", "metadata.broker.list",
         "brokers"},
    };
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        char *arg[] = {(char *)owned[i].arg};
        assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, arg, err, sizeof(err)), HL_OK);
        assert_int_equal(hl_common_cfg_apply(&c.common, err, sizeof(err)), HL_EINVAL);
        assert_non_null(strstr(err, owned[i].name));
        assert_non_null(strstr(err, owned[i].owner));
        hl_cfg_release(opts, NOPTS, &c);
    }

    char *bad[] = {"--kafka-properties=security.protocoll=ssl"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, bad, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_common_cfg_apply(&c.common, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "security.protocoll"));
    hl_cfg_release(opts, NOPTS, &c);

    char *missing[] = {"--kafka-properties-file=/nonexistent/kafka.properties"};
    assert_int_equal(hl_cfg_load(opts, NOPTS, &c, 1, missing, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_common_cfg_apply(&c.common, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "kafka_properties_file"));
    hl_cfg_release(opts, NOPTS, &c);
    /* nothing left behind for later clients */
    assert_int_equal(hl_kafka_extra_set(NULL, NULL, err, sizeof(err)), HL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_env_then_flags_override, clear_env),
        cmocka_unit_test_setup(test_out_of_range_and_bad_values, clear_env),
        cmocka_unit_test_setup(test_unknown_flag_and_missing_value, clear_env),
        cmocka_unit_test_setup(test_common_apply_checks_log_level, clear_env),
        cmocka_unit_test_setup(test_common_apply_kafka_properties, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
