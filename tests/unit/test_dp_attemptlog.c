/* dispatcher/src/dp_attemptlog.c: the attempt-log batch is the records' texts joined into one
 * JSON array unparsed, and a batch PostgreSQL refused loses only the records that are not
 * JSON objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_attemptlog.h"

struct batch {
    struct hl_buf buf;
    size_t *ends, nalloc, n;
};

static bool add(struct batch *b, const char *rec)
{
    return dp_attemptlog_batch_append(&b->buf, &b->ends, &b->nalloc, &b->n, rec, strlen(rec));
}

static void release(struct batch *b)
{
    hl_buf_release(&b->buf);
    free(b->ends);
}

static void joins_texts_verbatim(void **state)
{
    (void)state;
    struct batch b = {HL_BUF_INIT, NULL, 0, 0};
    assert_true(add(&b, "{\"delivery_id\":\"msg_1\",\"event\":{\"data\":[1, 2]}}"));
    assert_true(add(&b, " {\"delivery_id\":\"msg_2\"}\n"));
    assert_int_equal(b.n, 2);
    hl_buf_addch(&b.buf, ']');
    assert_string_equal(hl_buf_str(&b.buf), "[{\"delivery_id\":\"msg_1\",\"event\":{\"data\":[1, 2]}},"
                                            " {\"delivery_id\":\"msg_2\"}\n]");
    release(&b);
}

static void refuses_what_cannot_be_an_object(void **state)
{
    (void)state;
    struct batch b = {HL_BUF_INIT, NULL, 0, 0};
    assert_false(add(&b, "[1]"));
    assert_false(add(&b, "42"));
    assert_false(add(&b, ""));
    assert_false(add(&b, "{"));
    assert_false(dp_attemptlog_batch_append(&b.buf, &b.ends, &b.nalloc, &b.n, "{\0}", 3));
    assert_int_equal(b.n, 0);
    assert_int_equal(b.buf.len, 0);
    release(&b);
}

/* jsonb has no U+0000: one \u0000 would fail a batch of 500 records */
static void nul_escapes_become_replacement_characters(void **state)
{
    (void)state;
    struct batch b = {HL_BUF_INIT, NULL, 0, 0};
    assert_true(add(&b, "{\"event\":{\"data\":\"a\\u0000b\\\\u0000c\\\\\\u0000\\u00e9\"}}"));
    hl_buf_addch(&b.buf, ']');
    assert_string_equal(hl_buf_str(&b.buf),
                        "[{\"event\":{\"data\":\"a\\uFFFDb\\\\u0000c\\\\\\uFFFD\\u00e9\"}}]");
    release(&b);
}

static void grows_past_first_allocation(void **state)
{
    (void)state;
    struct batch b = {HL_BUF_INIT, NULL, 0, 0};
    for (int i = 0; i < 200; i++)
        assert_true(add(&b, "{}"));
    assert_int_equal(b.n, 200);
    assert_int_equal(b.ends[199], b.buf.len);
    assert_int_equal(b.buf.len, 1 + 200 * 2 + 199);
    release(&b);
}

static void sanitize_drops_only_bad_records(void **state)
{
    (void)state;
    struct batch b = {HL_BUF_INIT, NULL, 0, 0};
    assert_true(add(&b, "{not json}"));
    assert_true(add(&b, "{\"a\":1}"));
    assert_true(add(&b, "{\"b\":\"\xff\"}")); /* not UTF-8 */
    assert_true(add(&b, "{\"c\":[true]}"));
    assert_true(add(&b, "{\"d\":}"));
    assert_int_equal(dp_attemptlog_batch_sanitize(&b.buf, b.ends, &b.n), 3);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.ends[0], strlen("[{\"a\":1}"));
    assert_int_equal(b.ends[1], b.buf.len);
    /* appending goes on where the kept records end */
    assert_true(add(&b, "{\"e\":null}"));
    hl_buf_addch(&b.buf, ']');
    assert_string_equal(hl_buf_str(&b.buf), "[{\"a\":1},{\"c\":[true]},{\"e\":null}]");
    release(&b);
}

static void sanitize_can_empty_the_batch(void **state)
{
    (void)state;
    struct batch b = {HL_BUF_INIT, NULL, 0, 0};
    assert_true(add(&b, "{x}"));
    assert_int_equal(dp_attemptlog_batch_sanitize(&b.buf, b.ends, &b.n), 1);
    assert_int_equal(b.n, 0);
    assert_int_equal(b.buf.len, 0);
    assert_true(add(&b, "{\"a\":1}"));
    hl_buf_addch(&b.buf, ']');
    assert_string_equal(hl_buf_str(&b.buf), "[{\"a\":1}]");
    release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(joins_texts_verbatim),
        cmocka_unit_test(refuses_what_cannot_be_an_object),
        cmocka_unit_test(nul_escapes_become_replacement_characters),
        cmocka_unit_test(grows_past_first_allocation),
        cmocka_unit_test(sanitize_drops_only_bad_records),
        cmocka_unit_test(sanitize_can_empty_the_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
