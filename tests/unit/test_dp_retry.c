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
    struct dp_retry_policy exp = {.strategy = DP_BACKOFF_EXPONENTIAL, .max_attempts = 6, .initial_delay_ms = 1000, .max_delay_ms = 60000};
    struct dp_retry_policy lin = {.strategy = DP_BACKOFF_LINEAR, .max_attempts = 6, .initial_delay_ms = 1000, .max_delay_ms = 3500};
    struct dp_retry_policy fix = {.strategy = DP_BACKOFF_FIXED, .max_attempts = 3, .initial_delay_ms = 700, .max_delay_ms = 700};
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
    struct dp_retry_policy p = {.strategy = DP_BACKOFF_EXPONENTIAL, .max_attempts = 6, .initial_delay_ms = 1000, .max_delay_ms = 60000};
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
    struct dp_retry_policy p = {.strategy = DP_BACKOFF_EXPONENTIAL, .max_attempts = 3, .initial_delay_ms = 1000, .max_delay_ms = 600000};
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
    struct dp_retry_policy one = {.strategy = DP_BACKOFF_FIXED, .max_attempts = 1, .initial_delay_ms = 500, .max_delay_ms = 500};
    struct dp_endpoint_health h = {0, false};
    struct dp_attempt_result a = {"http_status", 500, 1, -1};
    assert_int_equal(dp_retry_decide(&cfg, &one, &a, &h, 0, 0.5).next, DP_NEXT_DEAD_LETTER);
    struct dp_retry_policy fix = {.strategy = DP_BACKOFF_FIXED, .max_attempts = 20, .initial_delay_ms = 500, .max_delay_ms = 500};
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
    struct dp_retry_policy p = {.strategy = DP_BACKOFF_FIXED, .max_attempts = 5, .initial_delay_ms = 1000, .max_delay_ms = 2000};
    struct dp_endpoint_health h = {0, false};
    struct dp_attempt_result a = {"timeout", 0, 1, -1};
    assert_int_equal(dp_retry_decide(&cfg, &p, &a, &h, 0, 0.5).wait_ms, 2000);
    cfg.retry_jitter_pct = 20;
    a.error_class = "http_status";
    a.http_status = 503;
    assert_int_equal(dp_retry_decide(&cfg, &p, &a, &h, 0, 0.0).wait_ms, 800);
    assert_int_equal(dp_retry_decide(&cfg, &p, &a, &h, 0, 0.5).wait_ms, 1000);
}

/* An explicit schedule (seed 003: 1m, 5m, 15m, 1h, 2h) is followed as written: no jitter,
 * no throttle floor, no max_delay_ms cap; a longer Retry-After still wins; the budget is
 * one attempt plus one per entry. */
static struct dp_retry_policy seed003_schedule(void)
{
    struct dp_retry_policy p = {.strategy = DP_BACKOFF_EXPONENTIAL, .max_attempts = 6,
                                .initial_delay_ms = 5000, .max_delay_ms = 3600000,
                                .nschedule = 5,
                                .schedule_ms = {60000, 300000, 900000, 3600000, 7200000}};
    return p;
}

static void schedule_followed_exactly(void **state)
{
    (void)state;
    struct dp_retry_policy p = seed003_schedule();
    for (int n = 1; n <= 5; n++) {
        assert_int_equal(dp_retry_base_delay_ms(&p, n), p.schedule_ms[n - 1]);
        /* the jitter's extremes and a throttled attempt change nothing */
        assert_int_equal(dp_retry_delay_ms(&p, n, 0.0, 20, false, 0, -1), p.schedule_ms[n - 1]);
        assert_int_equal(dp_retry_delay_ms(&p, n, 0.999, 20, true, 600000, -1),
                         p.schedule_ms[n - 1]);
    }
    assert_int_equal(dp_retry_base_delay_ms(&p, 9), 7200000); /* past the end: the last */
    assert_int_equal(dp_retry_delay_ms(&p, 1, 0.5, 20, false, 0, 90000), 90000);
    assert_int_equal(dp_retry_delay_ms(&p, 2, 0.5, 20, false, 0, 90000), 300000);

    struct dp_config cfg = decide_cfg();
    cfg.retry_jitter_pct = 20;
    struct dp_endpoint_health h = {0, false};
    p.max_attempts = 1 + p.nschedule; /* as dp_subs loads it */
    struct dp_attempt_result a = {"timeout", 0, 1, -1};
    struct dp_retry_decision d = dp_retry_decide(&cfg, &p, &a, &h, 0, 0.9);
    assert_int_equal(d.next, DP_NEXT_RETRY);
    assert_int_equal(d.wait_ms, 60000);
    a.attempts_used = 5;
    assert_int_equal(dp_retry_decide(&cfg, &p, &a, &h, 0, 0.9).wait_ms, 7200000);
    a.attempts_used = 6;
    assert_int_equal(dp_retry_decide(&cfg, &p, &a, &h, 0, 0.9).next, DP_NEXT_DEAD_LETTER);
}

/* How a wait travels (dp_deliver.c): into the longest tier not longer than what remains,
 * again from that tier while a tier still fits, and the rest below the shortest tier in
 * memory. With the default tiers every entry of seed 003's schedule (and of a short test
 * schedule) is carried to its due time exactly, in a handful of hops: the only error left
 * is each hop's Kafka latency, far below 10 % of the wait. A 60 s retry never waits for a
 * longer tier. */
static void tiers_carry_schedules_to_their_due_time(void **state)
{
    (void)state;
    const int64_t tiers[] = {5000, 60000, 600000, 3600000}; /* retry_tiers_ms's default */
    const int64_t waits[] = {1000, 3000, 2000, 60000, 300000, 900000, 3600000, 7200000, 86400000};
    for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
        int64_t remaining = waits[i], waited = 0;
        int hops = 0;
        while (remaining >= tiers[0]) {
            size_t t = dp_retry_tier(tiers, 4, remaining);
            assert_true(tiers[t] <= remaining); /* never past the due time */
            waited += tiers[t];
            remaining -= tiers[t];
            hops++;
        }
        waited += remaining; /* held in memory */
        assert_int_equal(waited, waits[i]);
        assert_true(hops <= 24);
        if (waits[i] == 60000)
            assert_int_equal(hops, 1);
    }
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
        cmocka_unit_test(schedule_followed_exactly),
        cmocka_unit_test(tiers_carry_schedules_to_their_due_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
