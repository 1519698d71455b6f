/* dispatcher/src/dp_direct.c: attempt records handed from the loop to the attempt-log
 * writer in-process. What the loop relies on: a refused offer takes nothing (the record
 * then goes through Kafka), every taken record comes back exactly once with its opaque,
 * key and text, and each side is woken when there is something for it. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dp_direct.h"

static const struct dp_record_spans no_spans;

#define KEY "msg_0123456789abcdef0123456789abcdef"

struct pipes {
    int writer[2], loop[2];
};

static void pipes_open(struct pipes *p)
{
    assert_int_equal(pipe2(p->writer, O_NONBLOCK), 0);
    assert_int_equal(pipe2(p->loop, O_NONBLOCK), 0);
}

static void pipes_close(struct pipes *p)
{
    for (int i = 0; i < 2; i++) {
        close(p->writer[i]);
        close(p->loop[i]);
    }
}

/* Bytes waiting in the pipe (read and so emptied). */
static size_t pending_bytes(int fd)
{
    char buf[64];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        n += (size_t)r;
    return n;
}

struct seen {
    int n;
    void *opaque[16];
    bool written[16];
    char text[16][32];
    char key[16][40];
};

static void remember(void *ud, void *opaque, bool written, const char *key, const char *rec,
                     size_t len)
{
    struct seen *s = ud;
    assert_true(s->n < 16);
    s->opaque[s->n] = opaque;
    s->written[s->n] = written;
    assert_true(len < sizeof(s->text[0]));
    memcpy(s->text[s->n], rec, len);
    s->text[s->n][len] = '\0';
    strcpy(s->key[s->n], key);
    s->n++;
}

static void written_and_handed_back_records_come_back_once(void **state)
{
    (void)state;
    struct pipes p;
    pipes_open(&p);
    struct dp_direct *q = dp_direct_new(2, 10, p.writer[1], p.loop[1], true);
    int a, b, c;
    assert_true(dp_direct_offer(q, KEY, "{\"r\":1}", 7, &no_spans, &a));
    assert_int_equal(pending_bytes(p.writer[0]), 0); /* below a batch: no wake-up */
    assert_true(dp_direct_offer(q, KEY, "{\"r\":2}", 7, &no_spans, &b));
    assert_int_equal(pending_bytes(p.writer[0]), 1); /* a batch: the writer is woken */

    size_t n;
    struct dp_direct_rec **v = dp_direct_take(q, &n);
    assert_int_equal(n, 2);
    assert_ptr_equal(v[0]->opaque, &a);
    assert_memory_equal(v[1]->text, "{\"r\":2}", 7);
    assert_true(dp_direct_offer(q, KEY, "{\"r\":3}", 7, &no_spans, &c)); /* a new inbox */

    struct seen s = {0};
    assert_int_equal(dp_direct_collect(q, remember, &s), 0); /* nothing finished yet */
    dp_direct_finish(q, v, 1, true);
    dp_direct_finish(q, v + 1, 1, false);
    free(v);
    assert_int_equal(pending_bytes(p.loop[0]), 1); /* woken once, on the first */
    assert_int_equal(dp_direct_collect(q, remember, &s), 2);
    assert_int_equal(s.n, 2);
    assert_ptr_equal(s.opaque[0], &a);
    assert_true(s.written[0]);
    assert_ptr_equal(s.opaque[1], &b);
    assert_false(s.written[1]); /* handed back: the loop produces it to Kafka */
    assert_string_equal(s.text[1], "{\"r\":2}");
    assert_string_equal(s.key[1], KEY);
    assert_int_equal(dp_direct_collect(q, remember, &s), 0); /* once only */

    v = dp_direct_take(q, &n);
    assert_int_equal(n, 1);
    assert_ptr_equal(v[0]->opaque, &c);
    dp_direct_finish(q, v, n, true);
    free(v);
    assert_int_equal(dp_direct_collect(q, remember, &s), 1);
    dp_direct_free(q);
    pipes_close(&p);
}

static void refuses_while_not_accepting_or_full(void **state)
{
    (void)state;
    struct pipes p;
    pipes_open(&p);
    struct dp_direct *q = dp_direct_new(100, 2, p.writer[1], p.loop[1], false);
    int x;
    assert_false(dp_direct_offer(q, KEY, "{}", 2, &no_spans, &x)); /* not accepting yet */
    size_t n;
    free(dp_direct_take(q, &n));
    assert_int_equal(n, 0); /* a refused offer takes nothing */

    dp_direct_set_accepting(q, true);
    assert_true(dp_direct_offer(q, KEY, "{}", 2, &no_spans, &x));
    assert_true(dp_direct_offer(q, KEY, "{}", 2, &no_spans, &x));
    assert_false(dp_direct_offer(q, KEY, "{}", 2, &no_spans, &x)); /* two held: the most */

    /* Held until collected, not merely until finished. */
    struct dp_direct_rec **v = dp_direct_take(q, &n);
    assert_int_equal(n, 2);
    dp_direct_finish(q, v, n, true);
    free(v);
    assert_false(dp_direct_offer(q, KEY, "{}", 2, &no_spans, &x));
    struct seen s = {0};
    assert_int_equal(dp_direct_collect(q, remember, &s), 2);
    assert_true(dp_direct_offer(q, KEY, "{}", 2, &no_spans, &x));

    dp_direct_set_accepting(q, false); /* a write failed */
    assert_false(dp_direct_accepting(q));
    assert_false(dp_direct_offer(q, KEY, "{}", 2, &no_spans, &x));
    dp_direct_free(q); /* frees the record still in the inbox */
    pipes_close(&p);
}

static void hurry_wakes_the_writer_once(void **state)
{
    (void)state;
    struct pipes p;
    pipes_open(&p);
    struct dp_direct *q = dp_direct_new(100, 1000, p.writer[1], p.loop[1], true);
    assert_false(dp_direct_hurried(q));
    dp_direct_hurry(q);
    dp_direct_hurry(q);
    assert_int_equal(pending_bytes(p.writer[0]), 1);
    assert_true(dp_direct_hurried(q));
    assert_false(dp_direct_hurried(q));
    dp_direct_hurry(q);
    assert_int_equal(pending_bytes(p.writer[0]), 1);
    dp_direct_free(q);
    pipes_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(written_and_handed_back_records_come_back_once),
        cmocka_unit_test(refuses_while_not_accepting_or_full),
        cmocka_unit_test(hurry_wakes_the_writer_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
