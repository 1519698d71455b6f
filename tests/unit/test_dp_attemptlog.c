/* dispatcher/src/dp_attemptlog.c: which records join a batch, the binary text[] arrays,
 * one per column, that carry a batch's fields to PostgreSQL, which batches are of first
 * attempts only, and the binary COPY data such a batch is loaded with. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_attemptlog.h"
#include "hl/json.h"

#define ID "\"delivery_id\":\"msg_0123456789abcdef0123456789abcdef\""
#define HEAD ID ",\"tenant\":\"acme\",\"webhook_id\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"," \
             "\"event_id\":\"evt_1\",\"event_type\":\"order.created\","
#define NUMS "\"attempt_no\":1,\"started_ms\":1780000000000,\"finished_ms\":1780000000002"
#define EVENT_TEXT "{\"id\":\"evt_1\",\"data\":{\"s\":\"x\\\"y\",\"n\":[1, 2]}}"
#define GOOD "{" HEAD "\"status\":\"succeeded\"," NUMS ",\"event\":" EVENT_TEXT "}"

static bool add(struct dp_attemptlog_batch *b, const char *rec)
{
    return dp_attemptlog_batch_add(b, rec, strlen(rec));
}

static int32_t i32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return (int32_t)ntohl(v);
}

struct arrays {
    struct hl_buf out;
    size_t off[DP_ATTEMPTLOG_COLUMNS];
    int len[DP_ATTEMPTLOG_COLUMNS];
};

/* Element i of column c as a string (NULL for NULL), after checking the array's header. */
static char *element(const struct arrays *a, int c, int count, int i)
{
    const char *p = a->out.ptr + a->off[c], *end = p + a->len[c];
    assert_int_equal(i32(p), 1);      /* one dimension */
    assert_int_equal(i32(p + 8), 25); /* of text */
    assert_int_equal(i32(p + 12), count);
    assert_int_equal(i32(p + 16), 1); /* from index 1 */
    p += 20;
    char *found = NULL;
    for (int k = 0; k < count; k++) {
        int32_t n = i32(p);
        p += 4;
        if (k == i && n >= 0)
            found = strndup(p, (size_t)n);
        p += n > 0 ? n : 0;
    }
    assert_ptr_equal(p, end);
    return found;
}

static bool has_nulls(const struct arrays *a, int c)
{
    return i32(a->out.ptr + a->off[c] + 4) != 0;
}

static void expect_element(const struct arrays *a, int c, int count, int i, const char *want)
{
    char *got = element(a, c, count, i);
    if (want)
        assert_string_equal(got, want);
    else
        assert_null(got);
    free(got);
}

static void columns_of_a_record(void **state)
{
    (void)state;
    struct dp_attemptlog_batch b = {.text = HL_BUF_INIT};
    assert_true(add(&b, GOOD));
    assert_true(add(&b, "{" HEAD "\"status\":\"failed\",\"attempt_no\":3,\"started_ms\":-5,"
                        "\"finished_ms\":7,\"http_status\":500,\"next_attempt_ms\":null,"
                        "\"response_excerpt\":\"{\\\"ok\\\":false}\\n\\u00e9\","
                        "\"error_class\":\"http_status\",\"error\":\"HTTP 500\","
                        "\"disable_reason\":\"failing\",\"disable_version_ms\":42,"
                        "\"event\":{}}"));
    assert_int_equal(b.n, 2);
    struct arrays a = {HL_BUF_INIT, {0}, {0}};
    dp_attemptlog_batch_arrays(&b, 0, 2, &a.out, a.off, a.len);
    expect_element(&a, DP_AL_DELIVERY_ID, 2, 0, "msg_0123456789abcdef0123456789abcdef");
    expect_element(&a, DP_AL_WEBHOOK_ID, 2, 1, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    expect_element(&a, DP_AL_STATUS, 2, 0, "succeeded");
    expect_element(&a, DP_AL_STATUS, 2, 1, "failed");
    expect_element(&a, DP_AL_ATTEMPT_NO, 2, 1, "3");
    expect_element(&a, DP_AL_STARTED_MS, 2, 0, "1780000000000");
    expect_element(&a, DP_AL_STARTED_MS, 2, 1, "-5");
    expect_element(&a, DP_AL_HTTP_STATUS, 2, 0, NULL); /* absent */
    expect_element(&a, DP_AL_HTTP_STATUS, 2, 1, "500");
    expect_element(&a, DP_AL_NEXT_ATTEMPT_MS, 2, 1, NULL); /* null */
    expect_element(&a, DP_AL_RESPONSE_EXCERPT, 2, 1, "{\"ok\":false}\n\xc3\xa9"); /* unescaped */
    expect_element(&a, DP_AL_DISABLE_VERSION_MS, 2, 1, "42");
    expect_element(&a, DP_AL_EVENT, 2, 0, EVENT_TEXT); /* the JSON text as it came */
    expect_element(&a, DP_AL_EVENT, 2, 1, "{}");
    assert_false(has_nulls(&a, DP_AL_DELIVERY_ID));
    assert_true(has_nulls(&a, DP_AL_HTTP_STATUS));
    assert_true(has_nulls(&a, DP_AL_ERROR)); /* the first record has none */
    hl_buf_release(&a.out);
    dp_attemptlog_batch_release(&b);
}

static void refuses_what_is_not_a_record(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "[1]", "42", "{", "{not json}", "{\"a\":1}",
        "{" HEAD "\"status\":\"succeeded\"," NUMS "}",                           /* no event */
        "{" HEAD "\"status\":\"succeeded\"," NUMS ",\"event\":[1]}",             /* event not object */
        "{" HEAD "\"status\":\"done\"," NUMS ",\"event\":{}}",                   /* status */
        "{" HEAD "\"status\":\"succeeded\",\"attempt_no\":\"1\",\"started_ms\":1,\"finished_ms\":1,"
        "\"event\":{}}",                                                          /* a string */
        "{" HEAD "\"status\":\"succeeded\",\"attempt_no\":1.5,\"started_ms\":1,\"finished_ms\":1,"
        "\"event\":{}}",                                                          /* a fraction */
        "{" HEAD "\"status\":\"succeeded\",\"attempt_no\":1234567890,\"started_ms\":1,"
        "\"finished_ms\":1,\"event\":{}}",                                        /* beyond int */
        "{" HEAD "\"status\":\"succeeded\",\"attempt_no\":1,\"started_ms\":1,\"event\":{}}",
        "{" HEAD "\"status\":\"succeeded\"," NUMS ",\"error\":5,\"event\":{}}",   /* error not text */
        "{" ID ",\"tenant\":\"acme\",\"webhook_id\":\"not-a-uuid\",\"event_id\":\"evt_1\","
        "\"event_type\":\"a.b\",\"status\":\"succeeded\"," NUMS ",\"event\":{}}",
        "{\"delivery_id\":\"msg_1\",\"tenant\":\"acme\",\"webhook_id\":"
        "\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\",\"event_id\":\"evt_1\",\"event_type\":\"a.b\","
        "\"status\":\"succeeded\"," NUMS ",\"event\":{}}",                        /* short id */
        "{" HEAD "\"status\":\"succeeded\"," NUMS ",\"event\":{\"s\":\"\xff\"}}", /* not UTF-8 */
    };
    struct dp_attemptlog_batch b = {.text = HL_BUF_INIT};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (add(&b, bad[i]))
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(b.n, 0);
        assert_int_equal(b.text.len, 0);
    }
    char nul[] = GOOD;
    nul[strlen(GOOD) - 3] = '\0'; /* a NUL byte inside the event */
    assert_false(dp_attemptlog_batch_add(&b, nul, sizeof(nul) - 1));
    assert_true(add(&b, GOOD)); /* and a good one still joins */
    assert_int_equal(b.n, 1);
    dp_attemptlog_batch_release(&b);
}

/* PostgreSQL's text has no U+0000: the record still gets in, with U+FFFD in its place */
static void nul_escapes_become_replacement_characters(void **state)
{
    (void)state;
    struct dp_attemptlog_batch b = {.text = HL_BUF_INIT};
    assert_true(add(&b, "{" HEAD "\"status\":\"failed\"," NUMS ",\"error\":\"a\\u0000b\","
                        "\"event\":{\"data\":\"a\\u0000b\\\\u0000c\\\\\\u0000\\u00e9\"}}"));
    struct arrays a = {HL_BUF_INIT, {0}, {0}};
    dp_attemptlog_batch_arrays(&b, 0, 1, &a.out, a.off, a.len);
    expect_element(&a, DP_AL_ERROR, 1, 0, "a\xef\xbf\xbd" "b");
    expect_element(&a, DP_AL_EVENT, 1, 0, "{\"data\":\"a\\uFFFDb\\\\u0000c\\\\\\uFFFD\\u00e9\"}");
    hl_buf_release(&a.out);
    dp_attemptlog_batch_release(&b);
}

/* A record of this process joins with the spans its encoder wrote, unscanned, and gives
 * the same arrays as the same text scanned; its \u0000 escapes are replaced too. */
static void own_records_join_with_their_spans(void **state)
{
    (void)state;
    static const char *const names[DP_ATTEMPTLOG_COLUMNS] = {
        "delivery_id", "tenant", "webhook_id", "event_id", "event_type", "status", "attempt_no",
        "started_ms", "finished_ms", "http_status", "next_attempt_ms", "response_excerpt",
        "error_class", "error", "disable_reason", "disable_version_ms", "event"};
    const char *rec = "{" HEAD "\"status\":\"failed\"," NUMS ",\"error\":\"a\\u0000b\","
                      "\"event\":" EVENT_TEXT "}";
    /* the encoder's spans; a scan refuses the \u0000 escape, which keeps its length */
    const char *same = "{" HEAD "\"status\":\"failed\"," NUMS ",\"error\":\"a\\uFFFDb\","
                       "\"event\":" EVENT_TEXT "}";
    struct dp_record_spans spans;
    assert_true(hl_json_valid_members(same, strlen(same), names, DP_ATTEMPTLOG_COLUMNS,
                                      spans.sp));
    struct dp_attemptlog_batch scanned = {.text = HL_BUF_INIT};
    struct dp_attemptlog_batch own = {.text = HL_BUF_INIT};
    assert_true(add(&scanned, GOOD));
    assert_true(add(&scanned, rec));
    assert_true(add(&own, GOOD)); /* from Kafka and direct in one batch */
    dp_attemptlog_batch_add_own(&own, rec, strlen(rec), &spans);
    assert_int_equal(own.n, 2);
    assert_null(own.recs[1].direct);
    struct arrays a = {HL_BUF_INIT, {0}, {0}}, w = {HL_BUF_INIT, {0}, {0}};
    dp_attemptlog_batch_arrays(&own, 0, 2, &a.out, a.off, a.len);
    dp_attemptlog_batch_arrays(&scanned, 0, 2, &w.out, w.off, w.len);
    assert_int_equal(a.out.len, w.out.len);
    assert_memory_equal(a.out.ptr, w.out.ptr, a.out.len);
    expect_element(&a, DP_AL_ERROR, 2, 1, "a\xef\xbf\xbd" "b");
    expect_element(&a, DP_AL_EVENT, 2, 1, EVENT_TEXT);
    hl_buf_release(&a.out);
    hl_buf_release(&w.out);
    dp_attemptlog_batch_release(&scanned);
    dp_attemptlog_batch_release(&own);
}

/* A part of a batch (what is written a record at a time after a refusal), and a batch
 * emptied and filled again. */
static void ranges_and_reuse(void **state)
{
    (void)state;
    struct dp_attemptlog_batch b = {.text = HL_BUF_INIT};
    char rec[512];
    for (int i = 0; i < 200; i++) {
        snprintf(rec, sizeof(rec), "{" HEAD "\"status\":\"succeeded\",\"attempt_no\":%d,"
                 "\"started_ms\":1,\"finished_ms\":2,\"event\":{}}", i + 1);
        assert_true(add(&b, rec));
    }
    assert_int_equal(b.n, 200);
    struct arrays a = {HL_BUF_INIT, {0}, {0}};
    dp_attemptlog_batch_arrays(&b, 150, 200, &a.out, a.off, a.len);
    expect_element(&a, DP_AL_ATTEMPT_NO, 50, 0, "151");
    expect_element(&a, DP_AL_ATTEMPT_NO, 50, 49, "200");
    dp_attemptlog_batch_clear(&b);
    assert_int_equal(b.n, 0);
    assert_true(add(&b, GOOD));
    dp_attemptlog_batch_arrays(&b, 0, 1, &a.out, a.off, a.len);
    expect_element(&a, DP_AL_ATTEMPT_NO, 1, 0, "1");
    expect_element(&a, DP_AL_EVENT, 1, 0, EVENT_TEXT);
    hl_buf_release(&a.out);
    dp_attemptlog_batch_release(&b);
}

/* Which records the writer loads with COPY, without looking for their rows first: those
 * of first attempts, each normally its delivery's first record. The split moves them to
 * the range's front, each group keeping its order. */
static void first_attempts(void **state)
{
    (void)state;
#define REC(status, attempt, rest)                                                         \
    "{" HEAD "\"status\":\"" status "\",\"attempt_no\":" attempt                           \
    ",\"started_ms\":1,\"finished_ms\":2" rest ",\"event\":{}}"
    static const struct {
        const char *rec;
        bool first;
    } cases[] = {
        {GOOD, true},
        {REC("retrying", "1", ",\"http_status\":500,\"error_class\":\"http_status\""), true},
        {REC("failed", "1", ",\"error_class\":\"timeout\",\"disable_reason\":null"), true},
        {REC("succeeded", "2", ""), false},  /* a retry: the first attempt's row is there */
        {REC("succeeded", "10", ""), false},
        {REC("skipped", "0", ",\"error_class\":\"webhook_paused\""), false},
        {REC("skipped", "1", ",\"error_class\":\"webhook_disabled\""), false},
        /* deferred while the breaker is open: repeats the attempt number of its last try */
        {REC("retrying", "1", ",\"error_class\":\"circuit_open\""), false},
        {REC("retrying", "0", ",\"error_class\":\"circuit_open\""), false},
        /* a disable goes with the upsert (BATCH_DISABLES_SQL) */
        {REC("failed", "1", ",\"error_class\":\"gone\",\"disable_reason\":\"410 gone\","
                            "\"disable_version_ms\":42"), false},
    };
#undef REC
    enum { N = sizeof(cases) / sizeof(*cases) };
    struct dp_attemptlog_batch b = {.text = HL_BUF_INIT};
    for (size_t i = 0; i < N; i++) {
        assert_true(add(&b, cases[i].rec));
        /* alone in its range: first or not */
        if (dp_attemptlog_batch_split(&b, i, i + 1) != i + (cases[i].first ? 1 : 0))
            fail_msg("case %zu (%s): want %d", i, cases[i].rec, cases[i].first);
    }
    assert_int_equal(dp_attemptlog_batch_split(&b, 2, 2), 2); /* nothing to write */

    /* Interleaved: the first attempts of cases 0, 2 and 1 (in that order in the batch)
     * among others; records are told apart by where their text starts. */
    struct dp_attemptlog_batch m = {.text = HL_BUF_INIT};
    static const size_t order[] = {3, 0, 7, 2, 5, 1, 9};
    size_t starts[sizeof(order) / sizeof(*order)];
    for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
        starts[i] = m.text.len;
        assert_true(add(&m, cases[order[i]].rec));
    }
    assert_true(add(&m, GOOD)); /* outside the range: stays where it is */
    size_t last = m.recs[7].start;
    assert_int_equal(dp_attemptlog_batch_split(&m, 0, 7), 3);
    static const size_t want[] = {1, 3, 5, 0, 2, 4, 6}; /* indexes into order[] */
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(m.recs[i].start, starts[want[i]]);
    assert_int_equal(m.recs[7].start, last);
    /* the records moved whole: their spans still find their members */
    assert_true(dp_attemptlog_batch_split(&m, 0, 3) == 3);
    assert_int_equal(dp_attemptlog_batch_split(&m, 3, 7), 3);
    dp_attemptlog_batch_release(&m);
    dp_attemptlog_batch_release(&b);
}

/* --- binary COPY ------------------------------------------------------------------------ */

static int64_t i64(const char *p)
{
    return (int64_t)(((uint64_t)(uint32_t)i32(p) << 32) | (uint32_t)i32(p + 4));
}

/* A reader of binary COPY data: the signature and header checked at the start. */
struct copy_reader {
    const char *p, *end;
};

static struct copy_reader copy_open(const struct hl_buf *b)
{
    assert_true(b->len >= 21);
    assert_memory_equal(b->ptr, "PGCOPY\n\377\r\n\0", 11);
    assert_int_equal(i32(b->ptr + 11), 0); /* flags */
    assert_int_equal(i32(b->ptr + 15), 0); /* no header extension */
    return (struct copy_reader){b->ptr + 19, b->ptr + b->len};
}

/* The next row's field count, or -1 at the trailer (which must end the data). */
static int copy_row(struct copy_reader *r)
{
    assert_true(r->end - r->p >= 2);
    int16_t n = (int16_t)((unsigned char)r->p[0] << 8 | (unsigned char)r->p[1]);
    r->p += 2;
    if (n == -1)
        assert_ptr_equal(r->p, r->end);
    return n;
}

/* The next field: its length (-1 for NULL) and, through *data, its bytes. */
static int32_t copy_field(struct copy_reader *r, const char **data)
{
    assert_true(r->end - r->p >= 4);
    int32_t n = i32(r->p);
    r->p += 4;
    *data = r->p;
    if (n > 0) {
        assert_true(r->end - r->p >= n);
        r->p += n;
    }
    return n;
}

static void expect_text(struct copy_reader *r, const char *want)
{
    const char *d;
    int32_t n = copy_field(r, &d);
    if (!want) {
        assert_int_equal(n, -1);
        return;
    }
    assert_int_equal(n, (int32_t)strlen(want));
    assert_memory_equal(d, want, (size_t)n);
}

static void expect_int4(struct copy_reader *r, int64_t want) /* want < 0: NULL */
{
    const char *d;
    int32_t n = copy_field(r, &d);
    if (want < 0) {
        assert_int_equal(n, -1);
        return;
    }
    assert_int_equal(n, 4);
    assert_int_equal(i32(d), want);
}

/* timestamptz: microseconds since 2000-01-01 UTC */
static void expect_timestamp(struct copy_reader *r, int64_t unix_ms)
{
    const char *d;
    assert_int_equal(copy_field(r, &d), 8);
    assert_int_equal(i64(d), (unix_ms - 946684800000LL) * 1000);
}

static void expect_null(struct copy_reader *r)
{
    const char *d;
    assert_int_equal(copy_field(r, &d), -1);
}

/* The rows of a batch of first attempts, as binary COPY takes them, column by column in
 * the order of COPY_DELIVERIES_SQL and COPY_ATTEMPTS_SQL. */
static void copy_rows(void **state)
{
    (void)state;
    struct dp_attemptlog_batch b = {.text = HL_BUF_INIT};
    assert_true(add(&b, GOOD));
    assert_true(add(&b, "{" HEAD "\"status\":\"retrying\",\"attempt_no\":1,"
                        "\"started_ms\":1780000000000,\"finished_ms\":1780000001500,"
                        "\"http_status\":503,\"next_attempt_ms\":1780000060000,"
                        "\"response_excerpt\":\"busy\\nnow\",\"error_class\":\"http_status\","
                        "\"error\":\"HTTP 503\",\"event\":{}}"));
    /* no answer (http_status 0), a clock that went back, no next attempt */
    assert_true(add(&b, "{" HEAD "\"status\":\"failed\",\"attempt_no\":1,"
                        "\"started_ms\":1780000000900,\"finished_ms\":1780000000100,"
                        "\"http_status\":0,\"next_attempt_ms\":0,\"error_class\":\"timeout\","
                        "\"event\":{}}"));
    /* an attempt of 30 days (more ms than int4 holds), a time PostgreSQL does not hold */
    assert_true(add(&b, "{" HEAD "\"status\":\"failed\",\"attempt_no\":1,"
                        "\"started_ms\":0,\"finished_ms\":2592000000,"
                        "\"next_attempt_ms\":999999999999999999,\"event\":{}}"));
    struct hl_buf deliveries = HL_BUF_INIT, attempts = HL_BUF_INIT;
    dp_attemptlog_batch_copy(&b, 0, 4, &deliveries, &attempts);

    static const unsigned char uuid[16] = {0x01, 0x90, 0xa1, 0xb2, 0xc3, 0xd4, 0x7e, 0x5f,
                                           0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b};
    static const struct {
        const char *status;
        int64_t http, started, finished, next, duration;
        const char *excerpt, *error_class, *error, *event;
    } want[] = {
        {"succeeded", -1, 1780000000000, 1780000000002, -1, 2, NULL, NULL, NULL,
         EVENT_TEXT},
        {"retrying", 503, 1780000000000, 1780000001500, 1780000060000, 1500, "busy\nnow",
         "http_status", "HTTP 503", "{}"},
        {"failed", -1, 1780000000900, 1780000000100, -1, 0, NULL, "timeout", NULL, "{}"},
        {"failed", -1, 0, 2592000000, -2, INT32_MAX, NULL, NULL, NULL, "{}"},
    };
    struct copy_reader d = copy_open(&deliveries), a = copy_open(&attempts);
    for (size_t i = 0; i < 4; i++) {
        const char *x;
        assert_int_equal(copy_row(&d), 14);
        expect_text(&d, "msg_0123456789abcdef0123456789abcdef");
        expect_text(&d, "acme");
        assert_int_equal(copy_field(&d, &x), 16);
        assert_memory_equal(x, uuid, 16);
        expect_text(&d, "evt_1");
        expect_text(&d, "order.created");
        expect_text(&d, want[i].status);
        expect_int4(&d, 1);            /* attempts */
        expect_int4(&d, want[i].http); /* last_status_code: nullif(http_status, 0) */
        expect_text(&d, want[i].error);
        expect_text(&d, want[i].error_class);
        expect_timestamp(&d, want[i].started);  /* created_at */
        expect_timestamp(&d, want[i].finished); /* updated_at */
        if (want[i].next == -1) {
            expect_null(&d);
        } else if (want[i].next == -2) { /* beyond timestamptz: a value it refuses */
            assert_int_equal(copy_field(&d, &x), 8);
            assert_int_equal(i64(x), INT64_MAX - 1);
        } else {
            expect_timestamp(&d, want[i].next);
        }
        expect_text(&d, want[i].event);

        assert_int_equal(copy_row(&a), 9);
        expect_text(&a, "msg_0123456789abcdef0123456789abcdef");
        expect_int4(&a, 1);
        expect_timestamp(&a, want[i].started);
        expect_timestamp(&a, want[i].finished);
        expect_int4(&a, want[i].http);
        expect_int4(&a, want[i].duration);
        expect_text(&a, want[i].excerpt);
        expect_text(&a, want[i].error_class);
        expect_text(&a, want[i].error);
    }
    assert_int_equal(copy_row(&d), -1);
    assert_int_equal(copy_row(&a), -1);

    /* a range: the data of records [1, 2) only, reusing the buffers */
    dp_attemptlog_batch_copy(&b, 1, 2, &deliveries, &attempts);
    d = copy_open(&deliveries);
    assert_int_equal(copy_row(&d), 14);
    expect_text(&d, "msg_0123456789abcdef0123456789abcdef");
    a = copy_open(&attempts);
    assert_int_equal(copy_row(&a), 9);
    hl_buf_release(&deliveries);
    hl_buf_release(&attempts);
    dp_attemptlog_batch_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(columns_of_a_record),
        cmocka_unit_test(refuses_what_is_not_a_record),
        cmocka_unit_test(nul_escapes_become_replacement_characters),
        cmocka_unit_test(ranges_and_reuse),
        cmocka_unit_test(own_records_join_with_their_spans),
        cmocka_unit_test(first_attempts),
        cmocka_unit_test(copy_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
