/* dispatcher/src/dp_consumer.c: the offset FIFO. An offset may be stored only once every
 * message below it is finished, whatever order deliveries finish in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dp_consumer.h"
#include "hl/mem.h"

static int released;
static int64_t released_offsets[256];

static void release(struct dp_msg *m)
{
    released_offsets[released++] = m->offset;
    free(m);
}

static struct dp_msg *msg(struct dp_offset_fifo *f, int64_t offset, int pending)
{
    struct dp_msg *m = hl_xcalloc(1, sizeof(*m));
    m->offset = offset;
    m->pending = pending;
    dp_offset_fifo_push(f, m);
    return m;
}

static int setup(void **state)
{
    (void)state;
    released = 0;
    return 0;
}

static void empty_moves_nothing(void **state)
{
    (void)state;
    struct dp_offset_fifo f = {NULL, NULL, -1};
    assert_false(dp_offset_fifo_advance(&f, release));
    assert_int_equal(f.next_offset, -1);
}

/* The head finishing moves the offset past it and past every finished one behind it. */
static void in_order(void **state)
{
    (void)state;
    struct dp_offset_fifo f = {NULL, NULL, -1};
    struct dp_msg *a = msg(&f, 10, 1), *b = msg(&f, 11, 1);
    a->pending = 0;
    assert_true(dp_offset_fifo_advance(&f, release));
    assert_int_equal(f.next_offset, 11);
    b->pending = 0;
    assert_true(dp_offset_fifo_advance(&f, release));
    assert_int_equal(f.next_offset, 12);
    assert_null(f.head);
    assert_null(f.tail);
    assert_int_equal(released, 2);
}

/* A finished message behind an unfinished one does not move the offset: a crash then
 * replays both (never skips the unfinished one). */
static void out_of_order(void **state)
{
    (void)state;
    struct dp_offset_fifo f = {NULL, NULL, -1};
    struct dp_msg *a = msg(&f, 5, 1), *b = msg(&f, 6, 1), *c = msg(&f, 9, 1);
    c->pending = 0;
    assert_false(dp_offset_fifo_advance(&f, release));
    b->pending = 0;
    assert_false(dp_offset_fifo_advance(&f, release));
    assert_int_equal(f.next_offset, -1);
    assert_int_equal(released, 0);
    a->pending = 0;
    assert_true(dp_offset_fifo_advance(&f, release));
    assert_int_equal(f.next_offset, 10); /* after the last popped, gaps included */
    assert_int_equal(released, 3);
    assert_int_equal(released_offsets[0], 5);
    assert_int_equal(released_offsets[1], 6);
    assert_int_equal(released_offsets[2], 9);
    assert_null(f.tail);
}

/* Pops stop at the first unfinished message; pushes after a partial pop keep the order. */
static void partial_then_push(void **state)
{
    (void)state;
    struct dp_offset_fifo f = {NULL, NULL, -1};
    struct dp_msg *a = msg(&f, 1, 0), *b = msg(&f, 2, 2);
    (void)a;
    assert_true(dp_offset_fifo_advance(&f, release));
    assert_int_equal(f.next_offset, 2);
    assert_ptr_equal(f.head, b);
    assert_ptr_equal(f.tail, b);
    struct dp_msg *c = msg(&f, 3, 0);
    assert_false(dp_offset_fifo_advance(&f, release));
    b->pending = 1; /* one unit of two done */
    assert_false(dp_offset_fifo_advance(&f, release));
    b->pending = 0;
    assert_true(dp_offset_fifo_advance(&f, release));
    assert_int_equal(f.next_offset, 4);
    (void)c;
    assert_null(f.head);
}

/* Randomized: whatever order 200 messages finish in, next_offset is always exactly the
 * offset after the longest finished prefix. */
static void any_order(void **state)
{
    (void)state;
    enum { N = 200 };
    struct dp_offset_fifo f = {NULL, NULL, -1};
    struct dp_msg *m[N];
    int order[N];
    bool done[N] = {false};
    srandom(12345);
    for (int i = 0; i < N; i++) {
        m[i] = msg(&f, 1000 + 2 * i, 1);
        order[i] = i;
    }
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(random() % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < N; k++) {
        int i = order[k];
        m[i]->pending = 0;
        done[i] = true;
        dp_offset_fifo_advance(&f, release);
        int prefix = 0;
        while (prefix < N && done[prefix])
            prefix++;
        assert_int_equal(f.next_offset, prefix ? 1000 + 2 * (prefix - 1) + 1 : -1);
        assert_int_equal(released, prefix);
    }
    assert_null(f.head);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(empty_moves_nothing, setup),
        cmocka_unit_test_setup(in_order, setup),
        cmocka_unit_test_setup(out_of_order, setup),
        cmocka_unit_test_setup(partial_then_push, setup),
        cmocka_unit_test_setup(any_order, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
