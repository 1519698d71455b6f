/* The gateway's token buckets: the arithmetic (gw_bucket_take, with a fake clock) and the
 * shared table (gw_rate_allow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gw_ratelimit.h"

static void test_burst_then_refused_with_retry_after(void **state)
{
    struct hl_bucket b = {.tokens = 5, .last_ms = 1000};
    int retry = 0;
    for (int i = 0; i < 5; i++)
        assert_true(gw_bucket_take(&b, 1.0, 5, 1000, &retry));
    assert_false(gw_bucket_take(&b, 1.0, 5, 1000, &retry));
    assert_int_equal(retry, 1);
    /* 0.5 s later: half a token, still refused, still "1 s" (never 0) */
    assert_false(gw_bucket_take(&b, 1.0, 5, 1500, &retry));
    assert_int_equal(retry, 1);
    /* a refusal takes nothing: after the advertised wait the request passes */
    assert_true(gw_bucket_take(&b, 1.0, 5, 2000, &retry));
}

static void test_refill_is_capped_at_burst(void **state)
{
    struct hl_bucket b = {.tokens = 0, .last_ms = 0};
    int retry = 0, allowed = 0;
    /* an hour idle at 10/s refills to the burst of 3, not 36000 */
    for (int i = 0; i < 10; i++)
        allowed += gw_bucket_take(&b, 10.0, 3, 3600 * 1000, &retry);
    assert_int_equal(allowed, 3);
}

static void test_slow_rates_round_retry_after_up(void **state)
{
    struct hl_bucket b = {.tokens = 0, .last_ms = 0};
    int retry = 0;
    /* 0.1/s: a token every 10 s */
    assert_false(gw_bucket_take(&b, 0.1, 1, 0, &retry));
    assert_int_equal(retry, 10);
    assert_false(gw_bucket_take(&b, 0.1, 1, 2500, &retry));
    assert_int_equal(retry, 8); /* 7.5 s rounded up */
    assert_true(gw_bucket_take(&b, 0.1, 1, 10000, &retry));
}

static void test_clock_going_back_changes_nothing(void **state)
{
    struct hl_bucket b = {.tokens = 1, .last_ms = 5000};
    int retry = 0;
    assert_true(gw_bucket_take(&b, 1.0, 1, 4000, &retry));
    assert_false(gw_bucket_take(&b, 1.0, 1, 4000, &retry));
}

static void test_table_keeps_keys_apart(void **state)
{
    int retry = 0, allowed_a = 0;
    for (int i = 0; i < 10; i++)
        allowed_a += gw_rate_allow("test:a", 0.001, 4, &retry);
    assert_int_equal(allowed_a, 4);
    assert_true(retry >= 1);
    assert_true(gw_rate_allow("test:b", 0.001, 4, &retry));
    /* rate 0 is unlimited */
    for (int i = 0; i < 100; i++)
        assert_true(gw_rate_allow("test:a", 0, 4, &retry));
}

static void test_table_is_bounded_and_evicts(void **state)
{
    /* Far more keys than slots: every new key still gets a (fresh, full) bucket. */
    char key[32];
    int retry = 0;
    for (int i = 0; i < 200000; i++) {
        snprintf(key, sizeof(key), "test:many:%d", i);
        if (!gw_rate_allow(key, 0.001, 1, &retry))
            fail_msg("new key '%s' refused", key);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refused_with_retry_after),
        cmocka_unit_test(test_refill_is_capped_at_burst),
        cmocka_unit_test(test_slow_rates_round_retry_after_up),
        cmocka_unit_test(test_clock_going_back_changes_nothing),
        cmocka_unit_test(test_table_keeps_keys_apart),
        cmocka_unit_test(test_table_is_bounded_and_evicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
