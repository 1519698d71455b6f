/* The metrics registry: series identity, histogram buckets, label escaping and the text
 * exposition's shape (families contiguous, HELP and TYPE first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/metrics.h"

static int teardown(void **state)
{
    hl_metrics_reset();
    return 0;
}

static char *render(void)
{
    static struct hl_buf b = HL_BUF_INIT;
    hl_buf_clear(&b);
    hl_metrics_render(&b);
    return (char *)hl_buf_str(&b);
}

static void test_same_name_and_labels_is_the_same_series(void **state)
{
    hl_metrics_family("t_requests_total", HL_METRIC_COUNTER, "requests");
    struct hl_counter *a = hl_metrics_counter("t_requests_total", "code=\"2xx\"");
    struct hl_counter *b = hl_metrics_counter("t_requests_total", "code=\"2xx\"");
    struct hl_counter *c = hl_metrics_counter("t_requests_total", "code=\"5xx\"");
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    hl_counter_add(a, 2);
    hl_counter_inc(b);
    hl_counter_inc(c);
    const char *out = render();
    assert_non_null(strstr(out, "# HELP t_requests_total requests\n# TYPE t_requests_total "
                                "counter\nt_requests_total{code=\"2xx\"} 3\n"
                                "t_requests_total{code=\"5xx\"} 1\n"));
}

static void test_histogram_buckets_are_cumulative_and_count_matches(void **state)
{
    static const double bounds[] = {0.1, 1, 10};
    hl_metrics_family("t_seconds", HL_METRIC_HISTOGRAM, "durations");
    struct hl_histogram *h = hl_metrics_histogram("t_seconds", NULL, bounds, 3);
    hl_histogram_observe(h, 0.05);
    hl_histogram_observe(h, 0.1); /* le is inclusive */
    hl_histogram_observe(h, 5);
    hl_histogram_observe(h, 100);
    const char *out = render();
    assert_non_null(strstr(out, "t_seconds_bucket{le=\"0.1\"} 2\n"
                                "t_seconds_bucket{le=\"1\"} 2\n"
                                "t_seconds_bucket{le=\"10\"} 3\n"
                                "t_seconds_bucket{le=\"+Inf\"} 4\n"
                                "t_seconds_sum 105.15000000000001\n"
                                "t_seconds_count 4\n"));
}

static void test_gauge_and_labelled_histogram(void **state)
{
    hl_metrics_family("t_in_flight", HL_METRIC_GAUGE, "in flight");
    struct hl_gauge *g = hl_metrics_gauge("t_in_flight", NULL);
    hl_gauge_add(g, 3);
    hl_gauge_add(g, -5);
    static const double bounds[] = {1};
    struct hl_histogram *h = hl_metrics_histogram("t_lat_seconds", "route=\"/x\"", bounds, 1);
    hl_histogram_observe(h, 2);
    const char *out = render();
    assert_non_null(strstr(out, "t_in_flight -2\n"));
    assert_non_null(strstr(out, "t_lat_seconds_bucket{route=\"/x\",le=\"1\"} 0\n"
                                "t_lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 1\n"
                                "t_lat_seconds_sum{route=\"/x\"} 2\n"));
}

static void test_label_values_and_help_are_escaped(void **state)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_metrics_label_value(&b, "a\"b\\c\nd");
    assert_string_equal(hl_buf_str(&b), "a\\\"b\\\\c\\nd");
    hl_buf_clear(&b);
    hl_metrics_write_header(&b, "x", HL_METRIC_GAUGE, "one\\two\nthree");
    assert_string_equal(hl_buf_str(&b), "# HELP x one\\\\two\\nthree\n# TYPE x gauge\n");
    hl_buf_release(&b);
}

static void collect(struct hl_buf *out, void *arg)
{
    hl_metrics_write_header(out, "t_collected", HL_METRIC_GAUGE, "from a collector");
    hl_metrics_write_sample(out, "t_collected", "k=\"v\"", *(double *)arg);
}

static void test_declared_family_without_series_and_collectors(void **state)
{
    static double v = 0.25;
    hl_metrics_family("t_empty_total", HL_METRIC_COUNTER, "nothing yet");
    hl_metrics_collector(collect, &v);
    hl_metrics_process_init("test");
    const char *out = render();
    assert_non_null(strstr(out, "# TYPE t_empty_total counter\n"));
    assert_non_null(strstr(out, "t_collected{k=\"v\"} 0.25\n"));
    assert_non_null(strstr(out, "hookline_build_info{service=\"test\",version=\""));
    assert_non_null(strstr(out, "\nprocess_open_fds "));
    assert_non_null(strstr(out, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(out, "\nprocess_cpu_seconds_total "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_same_name_and_labels_is_the_same_series, teardown),
        cmocka_unit_test_teardown(test_histogram_buckets_are_cumulative_and_count_matches,
                                  teardown),
        cmocka_unit_test_teardown(test_gauge_and_labelled_histogram, teardown),
        cmocka_unit_test_teardown(test_label_values_and_help_are_escaped, teardown),
        cmocka_unit_test_teardown(test_declared_family_without_series_and_collectors, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
