/* common/src/task.c: a decoded task keeps its event's text as carried, and encoding splices
 * that text back instead of serializing the parsed event. */
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
    assert_string_equal(json_string_value(json_object_get(t.event, "id")), "e1");

    struct hl_buf b = HL_BUF_INIT;
    hl_task_encode(&t, &b);
    /* the text verbatim: a re-serialization would print 0.10000000000000001, no space */
    assert_non_null(strstr(hl_buf_str(&b), ",\"event\":" EVENT "}"));
    struct hl_task again;
    assert_int_equal(hl_task_decode(b.ptr, b.len, &again, err, sizeof(err)), HL_OK);
    assert_int_equal(again.attempt, 2);
    assert_string_equal(again.last_error, "HTTP 500");
    assert_true(json_equal(again.event, t.event));
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
        cmocka_unit_test(encode_without_text_serializes_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
