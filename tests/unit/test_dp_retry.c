/* dispatcher/src/dp_retry.c: the decision after an attempt (every error class against
 * every budget and health state), backoff strategies, jitter bounds, harder back-off, tier
 * choice and Retry-After parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

static struct dp_config decide_cfg(void)
{
    struct dp_config c;
    memset(&c, 0, sizeof(c));
    c.retry_jitter_pct = 0;
    c.retry_after_max_ms = 3600000;
    c.throttle_min_delay_ms = 60000;
    c.auto_disable_after_ms = 1000000;
    return c;
}

static const char *const CLASSES[] = {NULL,      "redirect",       "gone",
                                      "http_status", "timeout",    "dns",
                                      "connect_failed", "tls",     "too_many_redirects",
                                      "network", "ssrf_blocked",   "secret_unavailable"};

static bool is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Every class x attempts used (below, at and above the budget) x health (healthy, failing
 * shorter than, exactly and longer than auto_disable_after_ms, already disabled) x
 * Retry-After (none, short, beyond the cap) x status 429 or not: the decision follows the
 * rules of dp_retry.h and nothing else. */
static void decide_exhaustive(void **state)
{
    (void)state;
    struct dp_config cfg = decide_cfg();
    struct dp_retry_policy p = {DP_BACKOFF_EXPONENTIAL, 3, 1000, 600000};
    const int64_t now = 10000000;
    const int64_t since[] = {0, now - 999999, now - 1000000, now - 5000000};
    const int64_t ra[] = {-1, 2000, 99999999};
    size_t n = 0;
    for (size_t c = 0; c < sizeof(CLASSES) / sizeof(CLASSES[0]); c++)
        for (int used = 1; used <= 4; used++)
            for (size_t s = 0; s < 4; s++)
                for (int disabled = 0; disabled <= 1; disabled++)
                    for (size_t r = 0; r < 3; r++)
                        for (int st429 = 0; st429 <= 1; st429++) {
                            const char *cls = CLASSES[c];
                            struct dp_attempt_result a = {cls, st429 ? 429 : 500, used, ra[r]};
                            struct dp_endpoint_health h = {since[s], disabled};
                            struct dp_retry_decision d =
                                dp_retry_decide(&cfg, &p, &a, &h, now, 0.5);
                            n++;
                            if (!cls) {
                                assert_int_equal(d.next, DP_NEXT_DONE);
                                assert_string_equal(d.status, "succeeded");
                                assert_null(d.disable_reason);
                                continue;
                            }
                            bool gone = is(cls, "gone"), ssrf = is(cls, "ssrf_blocked");
                            bool uns = is(cls, "secret_unavailable");
                            /* disable */
                            bool clock = since[s] > 0 && now - since[s] >= 1000000;
                            if (gone)
                                assert_string_equal(d.disable_reason, "410 gone");
                            else if (!uns && !disabled && clock)
                                assert_string_equal(d.disable_reason, "failing continuously");
                            else
                                assert_null(d.disable_reason);
                            /* retry or dead letter */
                            if (!gone && !ssrf && used < 3) {
                                assert_int_equal(d.next, DP_NEXT_RETRY);
                                assert_string_equal(d.status, "retrying");
                                assert_null(d.dead_letter_reason);
                                int64_t base = used == 1 ? 1000 : 2000;
                                bool throttled = !uns && (st429 || is(cls, "timeout"));
                                int64_t want = throttled ? 60000 : base;
                                int64_t after = uns ? -1 : r == 2 ? 3600000 : ra[r];
                                if (after > want)
                                    want = after;
                                assert_int_equal(d.wait_ms, want);
                            } else {
                                assert_int_equal(d.next, DP_NEXT_DEAD_LETTER);
                                assert_string_equal(d.status, "failed");
                                assert_string_equal(d.dead_letter_reason,
                                                    gone   ? "410 gone"
                                                    : ssrf ? "ssrf blocked"
                                                    : uns  ? "secret unavailable"
                                                           : "attempts exhausted");
                            }
                        }
    assert_int_equal(n, 12 * 4 * 4 * 2 * 3 * 2);
}

/* A re-driven delivery counts its budget from budget_base: attempts_used, not the attempt
 * number, meets max_attempts; a one-attempt policy never retries. */
static void decide_budget(void **state)
{
    (void)state;
    struct dp_config cfg = decide_cfg();
    struct dp_retry_policy one = {DP_BACKOFF_FIXED, 1, 500, 500};
    struct dp_endpoint_health h = {0, false};
    struct dp_attempt_result a = {"http_status", 500, 1, -1};
    assert_int_equal(dp_retry_decide(&cfg, &one, &a, &h, 0, 0.5).next, DP_NEXT_DEAD_LETTER);
    struct dp_retry_policy fix = {DP_BACKOFF_FIXED, 20, 500, 500};
    a.attempts_used = 19;
    struct dp_retry_decision d = dp_retry_decide(&cfg, &fix, &a, &h, 0, 0.5);
    assert_int_equal(d.next, DP_NEXT_RETRY);
    assert_int_equal(d.wait_ms, 500);
    a.attempts_used = 20;
    assert_int_equal(dp_retry_decide(&cfg, &fix, &a, &h, 0, 0.5).next, DP_NEXT_DEAD_LETTER);
}

/* The throttle floor never exceeds the policy's max delay; jitter applies to the wait. */
static void decide_throttle_and_jitter(void **state)
{
    (void)state;
    struct dp_config cfg = decide_cfg();
    struct dp_retry_policy p = {DP_BACKOFF_FIXED, 5, 1000, 2000};
    struct dp_endpoint_health h = {0, false};
    struct dp_attempt_result a = {"timeout", 0, 1, -1};
    assert_int_equal(dp_retry_decide(&cfg, &p, &a, &h, 0, 0.5).wait_ms, 2000);
    cfg.retry_jitter_pct = 20;
    a.error_class = "http_status";
    a.http_status = 503;
    assert_int_equal(dp_retry_decide(&cfg, &p, &a, &h, 0, 0.0).wait_ms, 800);
    assert_int_equal(dp_retry_decide(&cfg, &p, &a, &h, 0, 0.5).wait_ms, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decide_exhaustive),
        cmocka_unit_test(decide_budget),
        cmocka_unit_test(decide_throttle_and_jitter),
        cmocka_unit_test(strategies),
        cmocka_unit_test(jitter_throttle_retry_after),
        cmocka_unit_test(tiers),
        cmocka_unit_test(retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
