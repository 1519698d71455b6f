/* dispatcher/src/dp_metrics.c: consumer lag out of librdkafka's statistics (assigned
 * partitions only, retry tiers summed, the attempt log's apart), delivery outcomes and the
 * end-to-end latency, readiness and its reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_metrics.h"
#include "dp_subs.h"
#include "hl/buf.h"
#include "hl/metrics.h"
#include "hl/time.h"

/* Shaped like librdkafka's: brokers first (with toppars that name topics), then topics. */
static const char consumer_stats[] =
    "{\"name\":\"c#consumer-1\",\"type\":\"consumer\",\"brokers\":{\"b1\":{\"toppars\":"
    "{\"hl.events-0\":{\"topic\":\"hl.events\",\"partition\":0}},\"rtt\":{\"min\":1}}},"
    "\"topics\":{"
    "\"hl.events\":{\"topic\":\"hl.events\",\"partitions\":{"
    "\"0\":{\"partition\":0,\"desired\":true,\"consumer_lag\":9,\"consumer_lag_stored\":5},"
    "\"1\":{\"partition\":1,\"desired\":false,\"consumer_lag\":7,\"consumer_lag_stored\":7},"
    "\"-1\":{\"partition\":-1,\"desired\":false,\"consumer_lag\":-1}}},"
    "\"hl.retry.0\":{\"topic\":\"hl.retry.0\",\"partitions\":{"
    "\"0\":{\"partition\":0,\"desired\":true,\"consumer_lag\":3,\"consumer_lag_stored\":-1},"
    "\"1\":{\"partition\":1,\"desired\":true,\"consumer_lag\":4,\"consumer_lag_stored\":4}}}},"
    "\"cgrp\":{\"state\":\"up\"}}";

/* the retry tiers' own consumer: its partitions count with the others */
static const char tier_stats[] =
    "{\"type\":\"consumer\",\"topics\":{\"hl.retry.1\":{\"partitions\":{"
    "\"4\":{\"desired\":true,\"consumer_lag\":6,\"consumer_lag_stored\":2}}}}}";

static const char log_stats[] =
    "{\"type\":\"consumer\",\"topics\":{\"hl.attempts\":{\"partitions\":{"
    "\"2\":{\"desired\":true,\"consumer_lag\":11,\"consumer_lag_stored\":-1}}}}}";

static const char *render(void)
{
    static struct hl_buf b = HL_BUF_INIT;
    hl_buf_clear(&b);
    hl_metrics_render(&b);
    return hl_buf_str(&b);
}

static int setup(void **state)
{
    static struct dp_config cfg;
    cfg.common.topic_prefix = "hl";
    dp_metrics_init(&cfg);
    return 0;
}

static void lag_of_assigned_partitions(void **state)
{
    dp_metrics_kafka_stats(DP_METRICS_CONSUMER, consumer_stats, sizeof(consumer_stats) - 1);
    dp_metrics_kafka_stats(DP_METRICS_LOG_CONSUMER, log_stats, sizeof(log_stats) - 1);
    dp_metrics_kafka_stats(DP_METRICS_TIER_CONSUMER, tier_stats, sizeof(tier_stats) - 1);
    const char *out = render();
    assert_non_null(strstr(out, "hookline_dispatcher_consumer_lag{topic=\"hl.retry.1\","
                                "partition=\"4\"} 2\n"));
    assert_non_null(strstr(out, "hookline_dispatcher_retry_backlog_messages{topic=\"hl.retry.1\"}"
                                " 2\n"));
    assert_non_null(strstr(out, "hookline_dispatcher_consumer_lag{topic=\"hl.events\","
                                "partition=\"0\"} 5\n"));
    assert_null(strstr(out, "partition=\"1\"} 7"));
    assert_null(strstr(out, "partition=\"-1\""));
    assert_non_null(strstr(out, "{topic=\"hl.retry.0\",partition=\"0\"} 3\n"));
    assert_non_null(strstr(out, "hookline_dispatcher_retry_backlog_messages{topic=\"hl.retry.0\"}"
                                " 7\n"));
    assert_non_null(strstr(out, "hookline_dispatcher_attempt_log_lag_messages 11\n"));
    /* a later round replaces the earlier one: revoked partitions disappear */
    static const char later[] = "{\"topics\":{}}";
    dp_metrics_kafka_stats(DP_METRICS_CONSUMER, later, sizeof(later) - 1);
    dp_metrics_kafka_stats(DP_METRICS_TIER_CONSUMER, later, sizeof(later) - 1);
    assert_null(strstr(render(), "hookline_dispatcher_consumer_lag{"));
}

static void outcomes_and_latency(void **state)
{
    dp_metrics_outcome("succeeded", NULL, false);
    dp_metrics_outcome("retrying", "timeout", false);
    dp_metrics_outcome("failed", "gone", true);
    dp_metrics_outcome("skipped", "paused", false);
    dp_metrics_outcome("succeeded", NULL, false);
    /* accepted 2026-02-25T15:00:00.000Z, delivered 1.5 s later */
    dp_metrics_delivered("2026-02-25T15:00:00.000Z", INT64_C(1772031601500));
    const char *out = render();
    assert_non_null(strstr(out, "{outcome=\"succeeded\",error_class=\"none\"} 2\n"));
    assert_non_null(strstr(out, "{outcome=\"retried\",error_class=\"timeout\"} 1\n"));
    assert_non_null(strstr(out, "{outcome=\"dead_lettered\",error_class=\"gone\"} 1\n"));
    assert_non_null(strstr(out, "{outcome=\"skipped\",error_class=\"paused\"} 1\n"));
    assert_non_null(strstr(out, "hookline_dispatcher_webhooks_auto_disabled_total 1\n"));
    assert_non_null(strstr(out, "hookline_dispatcher_delivery_latency_seconds_bucket{le=\"1\"} 0\n"
                                "hookline_dispatcher_delivery_latency_seconds_bucket{le=\"2.5\"} 1\n"));
    assert_non_null(strstr(out, "hookline_dispatcher_delivery_latency_seconds_sum 1.5\n"));
}

static void readiness_and_its_reasons(void **state)
{
    char why[200];
    assert_false(dp_metrics_ready(why, sizeof(why)));
    assert_non_null(strstr(why, "no webhook snapshot"));
    assert_non_null(strstr(why, "live topics' consumer is not in the Kafka consumer group"));
    assert_non_null(strstr(why, "retry tiers' consumer is not in the Kafka consumer group"));
    dp_metrics_group_joined(DP_METRICS_CONSUMER);
    dp_metrics_snapshot_checked(); /* a check alone loads nothing */
    assert_false(dp_metrics_ready(why, sizeof(why)));
    dp_metrics_snapshot_loaded(0, 0, 0);
    /* one consumer in the group is not enough: the retry tiers' is a client of its own */
    assert_false(dp_metrics_ready(why, sizeof(why)));
    assert_string_equal(why, "the retry tiers' consumer is not in the Kafka consumer group yet");
    dp_metrics_group_joined(DP_METRICS_TIER_CONSUMER);
    assert_true(dp_metrics_ready(why, sizeof(why)));
    assert_non_null(strstr(render(), "hookline_dispatcher_ready 1\n"));
    dp_metrics_shutting_down();
    assert_false(dp_metrics_ready(why, sizeof(why)));
    assert_string_equal(why, "shutting down");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lag_of_assigned_partitions),
        cmocka_unit_test(outcomes_and_latency),
        cmocka_unit_test(readiness_and_its_reasons),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
