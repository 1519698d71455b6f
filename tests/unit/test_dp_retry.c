/* dispatcher/src/dp_retry.c: backoff strategies, jitter bounds, harder back-off, tier
 * choice and Retry-After parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dp_retry.h"

static void strategies(void **state)
{
    (void)state;
    struct dp_retry_policy exp = {DP_BACKOFF_EXPONENTIAL, 6, 1000, 60000};
    struct dp_retry_policy lin = {DP_BACKOFF_LINEAR, 6, 1000, 3500};
    struct dp_retry_policy fix = {DP_BACKOFF_FIXED, 3, 700, 700};
    assert_int_equal(dp_retry_base_delay_ms(&exp, 1), 1000);
    assert_int_equal(dp_retry_base_delay_ms(&exp, 2), 2000);
    assert_int_equal(dp_retry_base_delay_ms(&exp, 5), 16000);
    assert_int_equal(dp_retry_base_delay_ms(&exp, 30), 60000);
    assert_int_equal(dp_retry_base_delay_ms(&lin, 3), 3000);
    assert_int_equal(dp_retry_base_delay_ms(&lin, 4), 3500);
    assert_int_equal(dp_retry_base_delay_ms(&fix, 9), 700);
}

static void jitter_throttle_retry_after(void **state)
{
    (void)state;
    struct dp_retry_policy p = {DP_BACKOFF_EXPONENTIAL, 6, 1000, 60000};
    assert_int_equal(dp_retry_delay_ms(&p, 1, 0.0, 20, false, 0, -1), 800);
    assert_int_equal(dp_retry_delay_ms(&p, 1, 0.5, 20, false, 0, -1), 1000);
    assert_true(dp_retry_delay_ms(&p, 1, 0.999, 20, false, 0, -1) <= 1200);
    assert_int_equal(dp_retry_delay_ms(&p, 1, 0.5, 0, true, 30000, -1), 30000);
    assert_int_equal(dp_retry_delay_ms(&p, 1, 0.5, 0, true, 120000, -1), 60000);
    assert_int_equal(dp_retry_delay_ms(&p, 1, 0.5, 0, false, 0, 9000), 9000);
    assert_int_equal(dp_retry_delay_ms(&p, 7, 0.5, 50, false, 0, -1), 60000); /* capped */
}

static void tiers(void **state)
{
    (void)state;
    int64_t t[] = {5000, 60000, 600000};
    assert_int_equal(dp_retry_tier(t, 3, 100), 0);
    assert_int_equal(dp_retry_tier(t, 3, 5000), 0);
    assert_int_equal(dp_retry_tier(t, 3, 59999), 0);
    assert_int_equal(dp_retry_tier(t, 3, 60000), 1);
    assert_int_equal(dp_retry_tier(t, 3, 86400000), 2);
}

static void retry_after(void **state)
{
    (void)state;
    assert_int_equal(dp_retry_after_parse("120", 0), 120000);
    assert_int_equal(dp_retry_after_parse(" 3\r\n", 0), 3000);
    assert_int_equal(dp_retry_after_parse("soon", 0), -1);
    assert_int_equal(dp_retry_after_parse(NULL, 0), -1);
    /* Thu, 01 Jan 1970 00:01:40 GMT = 100 s */
    assert_int_equal(dp_retry_after_parse("Thu, 01 Jan 1970 00:01:40 GMT", 40), 60000);
    assert_int_equal(dp_retry_after_parse("Thu, 01 Jan 1970 00:01:40 GMT", 500), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strategies),
        cmocka_unit_test(jitter_throttle_retry_after),
        cmocka_unit_test(tiers),
        cmocka_unit_test(retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
