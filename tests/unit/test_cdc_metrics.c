/* cdc/src/cdc_metrics.c: per-source lag, confirmed LSN and counters from the snapshots the
 * control thread publishes; counters carry on across a stream's restart; a source no
 * longer held leaves the exposition; readiness follows the control connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cdc_metrics.h"
#include "hl/buf.h"
#include "hl/metrics.h"

#define SRC "01a2463c-34cd-7fd8-a81e-79bc923e5668"

static const char *render(void)
{
    static struct hl_buf b = HL_BUF_INIT;
    hl_buf_clear(&b);
    hl_metrics_render(&b);
    return hl_buf_str(&b);
}

static int setup(void **state)
{
    cdc_metrics_init();
    return 0;
}

static struct cdc_metrics_source row(const char *state, uint64_t events, uint64_t errors,
                                     uint64_t run)
{
    struct cdc_metrics_source r;
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", SRC);
    snprintf(r.state, sizeof(r.state), "%s", state);
    r.confirmed = 0x8545DE8;
    r.lag_bytes = 4096;
    r.events = events;
    r.errors = errors;
    r.run = run;
    return r;
}

static void per_source_series(void **state)
{
    struct cdc_metrics_source r = row("streaming", 5, 0, 1);
    cdc_metrics_publish(&r, 1);
    const char *out = render();
    assert_non_null(strstr(out, "hookline_cdc_slot_lag_bytes{source=\"" SRC "\"} 4096\n"));
    assert_non_null(strstr(out, "hookline_cdc_confirmed_lsn{source=\"" SRC "\"} 139746792\n"));
    assert_non_null(strstr(out, "hookline_cdc_events_total{source=\"" SRC "\"} 5\n"));
    assert_non_null(strstr(out, "hookline_cdc_errors_total{source=\"" SRC "\"} 0\n"));
    assert_non_null(strstr(out, "hookline_cdc_sources{state=\"streaming\"} 1\n"));
    assert_non_null(strstr(out, "hookline_cdc_sources{state=\"error\"} 0\n"));
}

static void counters_carry_on_across_a_restart(void **state)
{
    struct cdc_metrics_source r = row("streaming", 8, 0, 1); /* same stream: +3 */
    cdc_metrics_publish(&r, 1);
    r = row("error", 8, 1, 1);
    cdc_metrics_publish(&r, 1);
    r = row("streaming", 2, 0, 2); /* a new stream counts from 0 again */
    cdc_metrics_publish(&r, 1);
    const char *out = render();
    assert_non_null(strstr(out, "hookline_cdc_events_total{source=\"" SRC "\"} 10\n"));
    assert_non_null(strstr(out, "hookline_cdc_errors_total{source=\"" SRC "\"} 1\n"));
}

static void a_source_not_held_leaves(void **state)
{
    cdc_metrics_publish(NULL, 0);
    const char *out = render();
    assert_null(strstr(out, SRC));
    assert_non_null(strstr(out, "# TYPE hookline_cdc_slot_lag_bytes gauge\n"));
}

static void readiness(void **state)
{
    char why[160];
    cdc_metrics_control(false);
    assert_false(cdc_metrics_ready(why, sizeof(why)));
    assert_string_equal(why, "not connected to Hookline's PostgreSQL");
    cdc_metrics_control(true);
    assert_true(cdc_metrics_ready(why, sizeof(why)));
    assert_non_null(strstr(render(), "hookline_cdc_ready 1\n"));
    cdc_metrics_shutting_down();
    assert_false(cdc_metrics_ready(why, sizeof(why)));
    assert_string_equal(why, "shutting down");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(per_source_series),
        cmocka_unit_test(counters_carry_on_across_a_restart),
        cmocka_unit_test(a_source_not_held_leaves),
        cmocka_unit_test(readiness),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
