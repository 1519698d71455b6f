/* dispatcher/src/dp_breaker.c: admission (concurrency, token bucket), the breaker's
 * window arithmetic, the half-open probe, the failure clock and the pace estimate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_breaker.h"

static struct dp_config cfg(void)
{
    struct dp_config c;
    memset(&c, 0, sizeof(c));
    c.default_max_concurrency = 3;
    c.breaker_window_ms = 10000;
    c.breaker_min_requests = 10;
    c.breaker_failure_pct = 70;
    c.breaker_open_ms = 30000;
    c.breaker_open_max_ms = 100000;
    return c;
}

static dp_admit admit(const struct dp_config *c, struct dp_breaker *h, int conc, int rate,
                      int64_t now, int64_t *wait)
{
    return dp_breaker_admit(c, h, conc, rate, now, wait);
}

static void table_finds_the_same_entry(void **state)
{
    (void)state;
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *a = dp_breaker_get(t, "wh-a"), *b = dp_breaker_get(t, "wh-b");
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(dp_breaker_get(t, "wh-a"), a);
    assert_string_equal(a->webhook_id, "wh-a");
    dp_breaker_table_free(t);
}

/* The webhook's max_concurrency, or the dispatcher's default when it sets none. */
static void concurrency(void **state)
{
    (void)state;
    struct dp_config c = cfg();
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    int64_t wait;
    for (int i = 0; i < 3; i++)
        assert_int_equal(admit(&c, h, 0, 0, 0, &wait), DP_ADMIT_GO);
    assert_int_equal(admit(&c, h, 0, 0, 0, &wait), DP_ADMIT_WAIT);
    assert_int_equal(wait, 0); /* a slot, not a token */
    assert_int_equal(admit(&c, h, 5, 0, 0, &wait), DP_ADMIT_GO);
    assert_int_equal(h->in_flight, 4);
    dp_breaker_done(&c, h, true, 1, 1);
    assert_int_equal(h->in_flight, 3);
    assert_int_equal(admit(&c, h, 0, 0, 1, &wait), DP_ADMIT_WAIT);
    dp_breaker_table_free(t);
}

/* A full bucket of rate_per_s tokens, refilled continuously; the wait says when the next
 * token comes. */
static void token_bucket(void **state)
{
    (void)state;
    struct dp_config c = cfg();
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    int64_t wait;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(admit(&c, h, 100, 4, 1000, &wait), DP_ADMIT_GO);
    }
    assert_int_equal(admit(&c, h, 100, 4, 1000, &wait), DP_ADMIT_WAIT);
    assert_int_equal(wait, 251); /* one token per 250 ms, +1 to land after it */
    assert_int_equal(admit(&c, h, 100, 4, 1100, &wait), DP_ADMIT_WAIT);
    assert_int_equal(wait, 151);
    assert_int_equal(admit(&c, h, 100, 4, 1250, &wait), DP_ADMIT_GO);
    /* never more than a full bucket after a long pause */
    for (int i = 0; i < 4; i++)
        assert_int_equal(admit(&c, h, 100, 4, 100000, &wait), DP_ADMIT_GO);
    assert_int_equal(admit(&c, h, 100, 4, 100000, &wait), DP_ADMIT_WAIT);
    dp_breaker_table_free(t);
}

static void run(const struct dp_config *c, struct dp_breaker *h, int n, bool ok, int64_t now)
{
    int64_t wait;
    for (int i = 0; i < n; i++) {
        assert_int_equal(admit(c, h, 1000, 0, now, &wait), DP_ADMIT_GO);
        dp_breaker_done(c, h, ok, now, now);
    }
}

/* Opens when at least breaker_min_requests ended in the window and at least
 * breaker_failure_pct of them failed; not before. */
static void opens_at_threshold(void **state)
{
    (void)state;
    struct dp_config c = cfg();
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    run(&c, h, 9, false, 100); /* 9 failures: fewer than 10 requests */
    assert_false(h->open);
    run(&c, h, 1, false, 100);
    assert_true(h->open);
    assert_true(h->tripped);
    assert_int_equal(h->open_until_ms, 100 + 30000);

    /* 7 of 10 failed = 70 %: opens; 6 of 10: stays closed */
    struct dp_breaker *g = dp_breaker_get(t, "seven");
    run(&c, g, 3, true, 100);
    run(&c, g, 6, false, 100);
    assert_false(g->open);
    run(&c, g, 1, false, 100);
    assert_true(g->open);
    struct dp_breaker *k = dp_breaker_get(t, "six");
    run(&c, k, 4, true, 100);
    run(&c, k, 6, false, 100);
    assert_false(k->open);
    dp_breaker_table_free(t);
}

/* The window restarts after breaker_window_ms: old failures stop counting. */
static void window_restarts(void **state)
{
    (void)state;
    struct dp_config c = cfg();
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    run(&c, h, 9, false, 100);
    run(&c, h, 1, false, 100 + 10001); /* a new window: 1 request */
    assert_false(h->open);
    assert_int_equal(h->window_total, 1);
    assert_int_equal(h->window_failed, 1);
    dp_breaker_table_free(t);
}

/* Open: nothing until open_until, then exactly one probe; a failed probe opens it again,
 * a successful one closes it and is a recovery. */
static void half_open_probe(void **state)
{
    (void)state;
    struct dp_config c = cfg();
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    int64_t wait;
    run(&c, h, 10, false, 0);
    assert_true(h->open);
    assert_int_equal(admit(&c, h, 1000, 0, 1000, &wait), DP_ADMIT_OPEN);
    assert_int_equal(wait, 29000);
    assert_int_equal(admit(&c, h, 1000, 0, 30000, &wait), DP_ADMIT_GO); /* the probe */
    assert_true(h->probing);
    assert_int_equal(admit(&c, h, 1000, 0, 30000, &wait), DP_ADMIT_OPEN);
    assert_int_equal(wait, 30000);
    assert_false(dp_breaker_done(&c, h, false, 30500, 30500));
    assert_true(h->open);
    assert_false(h->probing);
    assert_int_equal(h->open_until_ms, 90500); /* twice as long after a failed probe */
    assert_int_equal(admit(&c, h, 1000, 0, 90499, &wait), DP_ADMIT_OPEN);
    assert_int_equal(admit(&c, h, 1000, 0, 90500, &wait), DP_ADMIT_GO);
    assert_true(dp_breaker_done(&c, h, true, 90600, 90600)); /* recovered */
    assert_false(h->open);
    assert_false(h->tripped);
    assert_int_equal(h->window_total, 0);
    assert_int_equal(admit(&c, h, 1000, 0, 90600, &wait), DP_ADMIT_GO);
    assert_false(dp_breaker_done(&c, h, true, 90700, 90700)); /* only the first counts */
    dp_breaker_table_free(t);
}

/* Each failed probe doubles the open period, up to breaker_open_max_ms; the deliveries that
 * come while a probe is out wait breaker_open_ms, whatever the period (when the probe
 * succeeds, a backlog due at it goes that soon); a success starts over from
 * breaker_open_ms. */
static void failed_probes_double_the_open_period(void **state)
{
    (void)state;
    struct dp_config c = cfg();
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    int64_t wait, now = 0;
    run(&c, h, 10, false, now);
    assert_int_equal(h->open_until_ms, 30000);
    const int64_t periods[] = {60000, 100000, 100000};
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
        now = h->open_until_ms;
        assert_int_equal(admit(&c, h, 1000, 0, now, &wait), DP_ADMIT_GO); /* the probe */
        assert_int_equal(admit(&c, h, 1000, 0, now, &wait), DP_ADMIT_OPEN);
        assert_int_equal(wait, 30000);
        assert_false(dp_breaker_done(&c, h, false, now, now));
        assert_int_equal(h->open_until_ms - now, periods[i]);
        assert_int_equal(dp_breaker_open_ms(&c, h), periods[i]);
    }
    now = h->open_until_ms;
    assert_int_equal(admit(&c, h, 1000, 0, now, &wait), DP_ADMIT_GO);
    assert_true(dp_breaker_done(&c, h, true, now, now));
    run(&c, h, 10, false, now + 1); /* trips again: the first period once more */
    assert_true(h->open);
    assert_int_equal(h->open_until_ms, now + 1 + 30000);
    dp_breaker_table_free(t);
}

/* The failure clock starts at the first failure after a success and stops at a success;
 * a success also ends "disabled here" and counts as a recovery then. */
static void failure_clock(void **state)
{
    (void)state;
    struct dp_config c = cfg();
    c.breaker_min_requests = 1000;
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    int64_t wait;
    assert_int_equal(h->failing_since_ms, 0);
    admit(&c, h, 1000, 0, 0, &wait);
    dp_breaker_done(&c, h, false, 10, 5000);
    assert_int_equal(h->failing_since_ms, 5000);
    admit(&c, h, 1000, 0, 0, &wait);
    dp_breaker_done(&c, h, false, 20, 9000);
    assert_int_equal(h->failing_since_ms, 5000);
    h->disabled_sent = true;
    admit(&c, h, 1000, 0, 0, &wait);
    assert_true(dp_breaker_done(&c, h, true, 30, 9500));
    assert_int_equal(h->failing_since_ms, 0);
    assert_false(h->disabled_sent);
    dp_breaker_table_free(t);
}

/* Pace: the moving average of attempt times over the concurrency, or the rate limit when
 * that is slower; deferred due times queue up one pace apart. */
static void pace(void **state)
{
    (void)state;
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    dp_breaker_timed(h, 0, 99); /* first: 100 ms (+1) */
    assert_true(h->avg_attempt_ms > 99.9 && h->avg_attempt_ms < 100.1);
    dp_breaker_timed(h, 0, 199); /* 0.7 * 100 + 0.3 * 200 */
    assert_true(h->avg_attempt_ms > 129.9 && h->avg_attempt_ms < 130.1);
    h->nwait = 10;
    /* 130 ms / 2 per attempt, 10 ahead */
    double d = dp_breaker_drain_ms(h, 2, 0, 0);
    assert_true(d > 649.9 && d < 650.1);
    /* a rate limit of 1/s is slower */
    d = dp_breaker_drain_ms(h, 2, 1, 0);
    assert_true(d > 9999.9 && d < 10000.1);
    int64_t a = dp_breaker_defer_due(h, 2, 1, 1000000);
    int64_t b = dp_breaker_defer_due(h, 2, 1, 1000000);
    assert_int_equal(a, 1000000 + 10000 + 1000 + 1);
    assert_int_equal(b, a + 1000 + 1);
    h->nwait = 0;
    dp_breaker_table_free(t);
}

/* Attempts in flight and no answer for longer than the pace: the silence sets the pace. */
static void silence_slows_the_pace(void **state)
{
    (void)state;
    struct dp_config c = cfg();
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    int64_t wait;
    dp_breaker_timed(h, 0, 9); /* 10 ms per attempt */
    admit(&c, h, 1, 0, 1000, &wait);
    double quick = dp_breaker_drain_ms(h, 1, 0, 1100);
    assert_true(quick > 9.9 && quick < 10.1);
    double slow = dp_breaker_drain_ms(h, 1, 0, 6000); /* 5 s without an answer */
    assert_true(slow > 4999.9 && slow < 5000.1);
    dp_breaker_table_free(t);
}

/* A busy loop makes each attempt look long (40 ms here) while the webhook really ends one
 * every 0.5 ms: the ends counted while deliveries wait set the pace, not the attempt
 * times. Without waiters the ends measure the traffic and are not counted. */
static void ends_seen_while_busy_set_a_faster_pace(void **state)
{
    (void)state;
    struct dp_config c = cfg();
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *h = dp_breaker_get(t, "x");
    int64_t wait, now = 1000;
    h->nwait = 500;
    for (int i = 0; i < 2000; i++, now += 1) { /* two ends per ms, each attempt 40 ms */
        for (int k = 0; k < 2; k++) {
            assert_int_equal(admit(&c, h, 20, 0, now, &wait), DP_ADMIT_GO);
            dp_breaker_timed(h, now * 1000 - 40, now * 1000);
            dp_breaker_done(&c, h, true, now, now * 1000);
        }
    }
    /* attempt times alone: 40 ms / 20 = 2 ms per delivery; seen: 0.5 ms */
    double d = dp_breaker_drain_ms(h, 20, 0, now);
    assert_true(d > 0.45 * 500 && d < 0.55 * 500);

    /* an idle webhook's few ends do not make it look slow */
    struct dp_breaker *q = dp_breaker_get(t, "quiet");
    for (int i = 0; i < 100; i++, now += 100) {
        admit(&c, q, 20, 0, now, &wait);
        dp_breaker_timed(q, now * 1000 - 2, now * 1000);
        dp_breaker_done(&c, q, true, now, now * 1000);
    }
    assert_true(q->done_every_ms == 0);
    q->nwait = 100;
    d = dp_breaker_drain_ms(q, 20, 0, now); /* 3 ms / 20 per delivery */
    assert_true(d > 14.9 && d < 15.1);
    q->nwait = 0;
    h->nwait = 0;
    dp_breaker_table_free(t);
}

static void ready_list(void **state)
{
    (void)state;
    struct dp_breaker_table *t = dp_breaker_table_new();
    struct dp_breaker *a = dp_breaker_get(t, "a"), *b = dp_breaker_get(t, "b");
    dp_breaker_mark_ready(t, a); /* no waiters: not listed */
    assert_null(dp_breaker_take_ready(t));
    a->nwait = b->nwait = 1;
    dp_breaker_mark_ready(t, a);
    dp_breaker_mark_ready(t, a); /* once */
    dp_breaker_mark_ready(t, b);
    struct dp_breaker *x = dp_breaker_take_ready(t), *y = dp_breaker_take_ready(t);
    assert_true((x == a && y == b) || (x == b && y == a));
    assert_null(dp_breaker_take_ready(t));
    a->nwait = b->nwait = 0;
    dp_breaker_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_finds_the_same_entry),
        cmocka_unit_test(concurrency),
        cmocka_unit_test(token_bucket),
        cmocka_unit_test(opens_at_threshold),
        cmocka_unit_test(window_restarts),
        cmocka_unit_test(half_open_probe),
        cmocka_unit_test(failed_probes_double_the_open_period),
        cmocka_unit_test(failure_clock),
        cmocka_unit_test(pace),
        cmocka_unit_test(silence_slows_the_pace),
        cmocka_unit_test(ends_seen_while_busy_set_a_faster_pace),
        cmocka_unit_test(ready_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
