/* common/src/task.c: a decoded task keeps its event's text as carried (read off the text
 * without a parse when it is plain, through jansson otherwise, with the same result), and
 * encoding splices that text back instead of serializing the parsed event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/task.h"

#define ID "msg_0123456789abcdef0123456789abcdef"
#define EVENT "{\"id\":\"e1\", \"event\":\"order.created\",\"tenant\":\"acme\"," \
              "\"timestamp\":\"2026-11-22T10:00:00.000Z\",\"data\":{\"price\":0.1,\"s\":\"}\\\"\"}}"

static void decode_keeps_event_text_and_encode_reuses_it(void **state)
{
    (void)state;
    const char *in = "{\"v\":1,\"delivery_id\":\"" ID "\",\"tenant\":\"acme\",\"webhook_id\":\"w\","
                     "\"attempt\":2,\"budget_base\":1,\"due_ms\":5,\"created_ms\":4,"
                     "\"event\": " EVENT " ,\"last_error\":\"HTTP 500\"}";
    char err[256];
    struct hl_task t;
    assert_int_equal(hl_task_decode(in, strlen(in), &t, err, sizeof(err)), HL_OK);
    assert_non_null(t.event_text);
    assert_int_equal(t.event_len, strlen(EVENT));
    assert_memory_equal(t.event_text, EVENT, t.event_len);
    assert_null(t.event); /* plain text: no tree built */
    assert_string_equal(t.delivery_id, ID);
    assert_string_equal(t.tenant, "acme");
    assert_string_equal(t.webhook_id, "w");
    assert_int_equal(t.attempt, 2);
    assert_int_equal(t.budget_base, 1);
    assert_int_equal(t.due_ms, 5);
    assert_int_equal(t.created_ms, 4);
    assert_string_equal(t.last_error, "HTTP 500");

    struct hl_buf b = HL_BUF_INIT;
    hl_task_encode(&t, &b);
    /* the text verbatim: a re-serialization would print 0.10000000000000001, no space */
    assert_non_null(strstr(hl_buf_str(&b), ",\"event\":" EVENT "}"));
    struct hl_task again;
    assert_int_equal(hl_task_decode(b.ptr, b.len, &again, err, sizeof(err)), HL_OK);
    assert_int_equal(again.attempt, 2);
    assert_string_equal(again.last_error, "HTTP 500");
    assert_int_equal(again.event_len, t.event_len);
    assert_memory_equal(again.event_text, t.event_text, t.event_len);
    hl_task_release(&again);
    hl_task_release(&t);
    hl_buf_release(&b);
}

static void escaped_names_fall_back_to_the_parsed_event(void **state)
{
    (void)state;
    /* two names a parser reads as "event": jansson keeps the last, the scan gives up */
    const char *in = "{\"delivery_id\":\"" ID "\",\"tenant\":\"acme\",\"webhook_id\":\"w\","
                     "\"event\":{\"id\":\"first\"},\"ev\\u0065nt\":{\"id\":\"last\"}}";
    char err[256];
    struct hl_task t;
    assert_int_equal(hl_task_decode(in, strlen(in), &t, err, sizeof(err)), HL_OK);
    assert_string_equal(json_string_value(json_object_get(t.event, "id")), "last");
    assert_int_equal(t.event_len, strlen("{\"id\":\"last\"}"));
    assert_memory_equal(t.event_text, "{\"id\":\"last\"}", t.event_len);
    hl_task_release(&t);
}

/* Decoded without and with jansson: the same task. */
static void expect_same(const char *plain, const char *escaped)
{
    char err[256];
    struct hl_task a, b;
    assert_int_equal(hl_task_decode(plain, strlen(plain), &a, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_task_decode(escaped, strlen(escaped), &b, err, sizeof(err)), HL_OK);
    assert_null(a.event);
    assert_non_null(b.event);
    assert_string_equal(a.delivery_id, b.delivery_id);
    assert_string_equal(a.tenant, b.tenant);
    assert_string_equal(a.webhook_id, b.webhook_id);
    assert_int_equal(a.attempt, b.attempt);
    assert_int_equal(a.budget_base, b.budget_base);
    assert_int_equal(a.due_ms, b.due_ms);
    assert_int_equal(a.created_ms, b.created_ms);
    if (a.last_error || b.last_error)
        assert_string_equal(a.last_error, b.last_error);
    hl_task_release(&a);
    hl_task_release(&b);
}

#define HEAD "{\"delivery_id\":\"" ID "\",\"webhook_id\":\"w\",\"event\":{},"

static void escapes_go_through_jansson_alike(void **state)
{
    (void)state;
    expect_same(HEAD "\"tenant\":\"acme\",\"last_error\":\"x\"}",
                HEAD "\"tenant\":\"ac\\u006de\",\"last_error\":\"\\u0078\"}");
    /* ints json_integer_value reads as 0, and the clamps */
    expect_same(HEAD "\"tenant\":\"a\",\"attempt\":1.5,\"budget_base\":\"2\",\"due_ms\":-7,"
                     "\"created_ms\":1e3,\"last_error\":7}",
                HEAD "\"tenant\":\"\\u0061\",\"attempt\":1.5,\"budget_base\":\"2\",\"due_ms\":-7,"
                     "\"created_ms\":1e3,\"last_error\":7}");
    expect_same(HEAD "\"tenant\":\"a\",\"attempt\":-3,\"budget_base\":5}",
                HEAD "\"tenant\":\"\\u0061\",\"attempt\":-3,\"budget_base\":5}");
}

static void bad_tasks_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"delivery_id\":\"" ID "\",\"tenant\":\"a\",\"webhook_id\":\"w\",\"event\":{}", /* cut */
        "{\"delivery_id\":\"msg_0123\",\"tenant\":\"a\",\"webhook_id\":\"w\",\"event\":{}}",
        "{\"delivery_id\":\"msg_0123456789ABCDEF0123456789abcdef\",\"tenant\":\"a\","
        "\"webhook_id\":\"w\",\"event\":{}}",
        "{\"delivery_id\":\"" ID "\",\"tenant\":1,\"webhook_id\":\"w\",\"event\":{}}",
        "{\"delivery_id\":\"" ID "\",\"tenant\":\"a\",\"webhook_id\":\"w\",\"event\":[]}",
        "{\"delivery_id\":\"" ID "\",\"tenant\":\"a\",\"webhook_id\":\"w\"}",
        "{\"delivery_id\":\"" ID "\",\"tenant\":\"a\",\"webhook_id\":\"w\",\"event\":{},"
        "\"attempt\":99999999999999999999}",
        "[]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        struct hl_task t;
        if (hl_task_decode(bad[i], strlen(bad[i]), &t, err, sizeof(err)) != HL_EINVAL)
            fail_msg("accepted: %s", bad[i]);
        assert_true(err[0]);
    }
}

static void encode_without_text_serializes_event(void **state)
{
    (void)state;
    struct hl_task t = {.delivery_id = ID, .tenant = "acme", .webhook_id = "w"};
    t.event = json_pack("{s:s}", "id", "e2");
    struct hl_buf b = HL_BUF_INIT;
    hl_task_encode(&t, &b);
    assert_non_null(strstr(hl_buf_str(&b), ",\"event\":{\"id\":\"e2\"}}"));
    json_decref(t.event);
    hl_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_keeps_event_text_and_encode_reuses_it),
        cmocka_unit_test(escaped_names_fall_back_to_the_parsed_event),
        cmocka_unit_test(escapes_go_through_jansson_alike),
        cmocka_unit_test(bad_tasks_are_refused),
        cmocka_unit_test(encode_without_text_serializes_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
