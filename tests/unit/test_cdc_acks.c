/* cdc/src/cdc_acks.c: the LSN confirmed to PostgreSQL never passes a transaction with an
 * event Kafka has not acknowledged, in whatever order the acknowledgements come; a failed
 * event stops confirmation; keepalives confirm only when nothing is pending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cdc_acks.h"

static void prefix_only(void **state)
{
    (void)state;
    bool failed;
    struct cdc_acks *a = cdc_acks_new(100);
    struct cdc_txn *t1 = cdc_acks_begin(a);
    cdc_acks_produced(a, t1);
    cdc_acks_produced(a, t1);
    cdc_acks_commit(a, t1, 200);
    struct cdc_txn *t2 = cdc_acks_begin(a);
    cdc_acks_produced(a, t2);
    cdc_acks_commit(a, t2, 300);
    struct cdc_txn *t3 = cdc_acks_begin(a); /* open: no Commit yet */
    cdc_acks_produced(a, t3);

    assert_int_equal(cdc_acks_advance(a, &failed), 100);
    cdc_acks_done(t2, true); /* the later transaction first */
    assert_int_equal(cdc_acks_advance(a, &failed), 100);
    cdc_acks_done(t1, true);
    assert_int_equal(cdc_acks_advance(a, &failed), 100); /* t1 has one more in flight */
    cdc_acks_done(t1, true);
    assert_int_equal(cdc_acks_advance(a, &failed), 300);
    assert_false(failed);
    cdc_acks_done(t3, true);
    assert_int_equal(cdc_acks_advance(a, &failed), 300); /* t3 is not committed */
    assert_false(cdc_acks_idle(a, 999));
    cdc_acks_commit(a, t3, 400);
    assert_int_equal(cdc_acks_advance(a, &failed), 400);
    assert_true(cdc_acks_idle(a, 999)); /* nothing pending: the keepalive's LSN */
    assert_int_equal(cdc_acks_advance(a, &failed), 999);
    assert_true(cdc_acks_idle(a, 5)); /* idle, but never backwards */
    assert_int_equal(cdc_acks_advance(a, &failed), 999);
    cdc_acks_orphan(a);
}

static void failure_stops(void **state)
{
    (void)state;
    bool failed;
    struct cdc_acks *a = cdc_acks_new(0);
    struct cdc_txn *t1 = cdc_acks_begin(a);
    cdc_acks_produced(a, t1);
    cdc_acks_commit(a, t1, 10);
    struct cdc_txn *t2 = cdc_acks_begin(a);
    cdc_acks_produced(a, t2);
    cdc_acks_commit(a, t2, 20);
    cdc_acks_done(t1, false);
    cdc_acks_done(t2, true);
    assert_int_equal(cdc_acks_advance(a, &failed), 0);
    assert_true(failed);
    assert_false(cdc_acks_idle(a, 50));
    cdc_acks_orphan(a);
}

static void empty_transactions_and_orphans(void **state)
{
    (void)state;
    bool failed;
    struct cdc_acks *a = cdc_acks_new(0);
    struct cdc_txn *t1 = cdc_acks_begin(a); /* every change filtered out */
    cdc_acks_commit(a, t1, 10);
    assert_int_equal(cdc_acks_advance(a, &failed), 10);
    struct cdc_txn *t2 = cdc_acks_begin(a);
    cdc_acks_produced(a, t2);
    assert_int_equal(cdc_acks_in_flight(a), 1);
    cdc_acks_orphan(a);      /* the stream went away with an event in flight */
    cdc_acks_done(t2, true); /* its report frees everything (ASan checks) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefix_only),
        cmocka_unit_test(failure_stops),
        cmocka_unit_test(empty_transactions_and_orphans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
