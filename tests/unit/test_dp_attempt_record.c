/* dispatcher/src/dp_attempt_record.c: a record is one JSON object with every field the
 * attempt-log writer reads, the event's text copied as the task carried it, and the
 * disable fields only on the record of an attempt that disabled its webhook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "dp_attempt_record.h"
#include "hl/json.h"
#include "hl/task.h"

#define EVENT "{\"id\":\"e1\",\"event\":\"order.created\",\"data\":{\"n\":1}}"

static void make_task(struct hl_task *t, char *tenant)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->delivery_id, sizeof(t->delivery_id), "msg_0123456789abcdef0123456789abcdef");
    t->tenant = tenant;
    t->webhook_id = "01a204fe-7900-7952-a695-b4f0f6ab8352";
    t->event_text = EVENT;
    t->event_len = strlen(EVENT);
}

static json_t *encode(const struct dp_attempt_record *r)
{
    struct hl_task t;
    char tenant[] = "acme";
    make_task(&t, tenant);
    struct hl_buf b = HL_BUF_INIT;
    dp_attempt_record_encode(&t, "e1", "order.created", r, &b, NULL);
    json_error_t e;
    json_t *o = json_loadb(b.ptr, b.len, 0, &e);
    hl_buf_release(&b);
    assert_non_null(o);
    return o;
}

static void fields(void **state)
{
    (void)state;
    struct dp_attempt_record r = {.status = "retrying", .attempt_no = 2, .started_ms = 1000,
                                  .finished_ms = 1250, .http_status = 503,
                                  .excerpt = "busy \"now\"", .excerpt_len = 10,
                                  .error_class = "http_status", .error = "HTTP 503",
                                  .next_attempt_ms = 2250};
    json_t *o = encode(&r);
    assert_string_equal(json_string_value(json_object_get(o, "delivery_id")),
                        "msg_0123456789abcdef0123456789abcdef");
    assert_string_equal(json_string_value(json_object_get(o, "tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(o, "status")), "retrying");
    assert_int_equal(json_integer_value(json_object_get(o, "attempt_no")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "http_status")), 503);
    assert_int_equal(json_integer_value(json_object_get(o, "next_attempt_ms")), 2250);
    assert_string_equal(json_string_value(json_object_get(o, "response_excerpt")),
                        "busy \"now\"");
    assert_string_equal(json_string_value(json_object_get(o, "error_class")), "http_status");
    assert_null(json_object_get(o, "disable_reason"));
    assert_null(json_object_get(o, "disable_version_ms"));
    json_t *ev = json_object_get(o, "event");
    assert_string_equal(json_string_value(json_object_get(ev, "id")), "e1");
    json_decref(o);
}

static void success_has_nulls(void **state)
{
    (void)state;
    struct dp_attempt_record r = {.status = "succeeded", .attempt_no = 1, .http_status = 200};
    json_t *o = encode(&r);
    assert_true(json_is_null(json_object_get(o, "error_class")));
    assert_true(json_is_null(json_object_get(o, "error")));
    assert_true(json_is_null(json_object_get(o, "response_excerpt")));
    json_decref(o);
}

static void disable_carries_its_version(void **state)
{
    (void)state;
    struct dp_attempt_record r = {.status = "failed", .attempt_no = 1, .http_status = 410,
                                  .error_class = "gone", .error = "HTTP 410",
                                  .disable_reason = "410 gone",
                                  .disable_version_ms = INT64_C(1767225600123)};
    json_t *o = encode(&r);
    assert_string_equal(json_string_value(json_object_get(o, "disable_reason")), "410 gone");
    assert_int_equal(json_integer_value(json_object_get(o, "disable_version_ms")),
                     INT64_C(1767225600123));
    json_decref(o);
}

static void excerpt_made_json_safe(void **state)
{
    (void)state;
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_add(&b, "a\0b\xff", 4);
    dp_attempt_record_sanitize_excerpt(&b);
    assert_memory_equal(b.ptr, "a b?", 4);
    hl_buf_clear(&b);
    hl_buf_adds(&b, "caf\xc3\xa9"); /* valid UTF-8 stays */
    dp_attempt_record_sanitize_excerpt(&b);
    assert_memory_equal(b.ptr, "caf\xc3\xa9", 5);
    hl_buf_release(&b);
}

/* The spans the encoder writes are where a scan of the text finds the members: the
 * attempt-log writer takes a direct record's columns from them without scanning. */
static void spans_are_where_a_scan_finds_the_members(void **state)
{
    (void)state;
    static const char *const names[DP_ATTEMPTLOG_COLUMNS] = {
        "delivery_id", "tenant", "webhook_id", "event_id", "event_type", "status", "attempt_no",
        "started_ms", "finished_ms", "http_status", "next_attempt_ms", "response_excerpt",
        "error_class", "error", "disable_reason", "disable_version_ms", "event"};
    const struct dp_attempt_record records[] = {
        {.status = "succeeded", .attempt_no = 1, .started_ms = 5, .finished_ms = 7,
         .http_status = 200, .excerpt = "ok \"\n\\", .excerpt_len = 6},
        {.status = "failed", .attempt_no = 3, .http_status = 410, .error_class = "gone",
         .error = "HTTP 410", .disable_reason = "410 gone", .disable_version_ms = 42,
         .next_attempt_ms = -1},
    };
    struct hl_task t;
    char tenant[] = "ac\"me";
    make_task(&t, tenant);
    for (size_t k = 0; k < sizeof(records) / sizeof(records[0]); k++) {
        struct hl_buf b = HL_BUF_INIT;
        hl_buf_adds(&b, "something before the record");
        size_t start = b.len;
        struct dp_record_spans got;
        dp_attempt_record_encode(&t, "e1", "order.created", &records[k], &b, &got);
        struct hl_json_span want[DP_ATTEMPTLOG_COLUMNS];
        assert_true(hl_json_valid_members(b.ptr + start, b.len - start, names,
                                          DP_ATTEMPTLOG_COLUMNS, want));
        for (int c = 0; c < DP_ATTEMPTLOG_COLUMNS; c++) {
            assert_int_equal(got.sp[c].len, want[c].len);
            if (want[c].len)
                assert_int_equal(got.sp[c].off, want[c].off);
        }
        assert_int_equal(got.sp[DP_AL_DISABLE_REASON].len, records[k].disable_reason ? 10 : 0);
        hl_buf_release(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields),
        cmocka_unit_test(success_has_nulls),
        cmocka_unit_test(disable_carries_its_version),
        cmocka_unit_test(excerpt_made_json_safe),
        cmocka_unit_test(spans_are_where_a_scan_finds_the_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
