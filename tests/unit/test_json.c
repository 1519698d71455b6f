/* hl/json.h: the gateway's cheap nesting check before any JSON parsing, the member scan
 * and the validator the dispatcher uses to pass JSON text on without parsing it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hl/json.h"

static bool ok(const char *s, int max)
{
    return hl_json_depth_ok(s, strlen(s), max);
}

static void test_counts_arrays_and_objects(void **state)
{
    assert_true(ok("{}", 1));
    assert_false(ok("{}", 0));
    assert_true(ok("{\"a\":[1,{\"b\":2}]}", 3));
    assert_false(ok("{\"a\":[1,{\"b\":2}]}", 2));
    /* siblings do not add up */
    assert_true(ok("[[1],[2],[3],{\"x\":1}]", 2));
    assert_true(ok("42", 0));
}

static void test_ignores_brackets_in_strings(void **state)
{
    assert_true(ok("{\"a\":\"[[[[[[{{{{\"}", 1));
    /* an escaped quote does not end the string; an escaped backslash does not escape */
    assert_true(ok("[\"\\\"[[[[\"]", 1));
    assert_false(ok("[\"\\\\\",[[[]]]]", 3));
    assert_true(ok("[\"\\\\\",[[[]]]]", 4));
}

static void test_deep_input_stops_early(void **state)
{
    size_t n = 1000000;
    char *s = malloc(n);
    memset(s, '[', n);
    assert_false(hl_json_depth_ok(s, n, 32));
    memset(s, '"', n); /* 500000 empty strings: flat */
    assert_true(hl_json_depth_ok(s, n, 1));
    free(s);
}

static void test_stray_closers_do_not_go_negative(void **state)
{
    /* "]]]]" first must not give credit for deeper nesting later */
    assert_false(ok("]]]][[", 1));
    assert_true(ok("]]]][", 1));
}

static void span_is(const char *text, const char *key, const char *want)
{
    size_t off = 0, len = 0;
    if (!want) {
        assert_false(hl_json_member_span(text, strlen(text), key, &off, &len));
        return;
    }
    assert_true(hl_json_member_span(text, strlen(text), key, &off, &len));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(text + off, want, len);
}

static void test_member_span_finds_values_verbatim(void **state)
{
    (void)state;
    const char *task = "{\"v\":1,\"delivery_id\":\"msg_1\",\"last_error\":\"a \\\"}\\\" b\","
                       "\"event\":{\"id\":\"e\",\"data\":{\"x\":[1,{\"y\":\"]}\"}]}},\"due_ms\":5}";
    span_is(task, "event", "{\"id\":\"e\",\"data\":{\"x\":[1,{\"y\":\"]}\"}]}}");
    span_is(task, "v", "1");
    span_is(task, "due_ms", "5");
    span_is(task, "last_error", "\"a \\\"}\\\" b\"");
    span_is(task, "data", NULL); /* nested, not a top-level member */
    span_is(task, "even", NULL);
    span_is(" \n{ \"event\" :\t[ 1 , 2 ] , \"b\" : true }\n", "event", "[ 1 , 2 ]");
    span_is("{\"b\": true}", "b", "true");
    span_is("{\"a\":null,\"b\":-1.5e3}", "b", "-1.5e3");
    span_is("{}", "event", NULL);
    span_is("[{\"event\":1}]", "event", NULL);
}

static void test_member_span_last_duplicate_and_escaped_names(void **state)
{
    (void)state;
    span_is("{\"event\":1,\"event\":{\"n\":2}}", "event", "{\"n\":2}");
    /* the escaped name could be "event" to the parser: the scan does not guess */
    span_is("{\"event\":1,\"ev\\u0065nt\":2}", "event", NULL);
    span_is("{\"e\\\"\":1,\"event\":2}", "event", NULL);
    /* backslashes inside values are fine */
    span_is("{\"a\":\"\\\\\",\"event\":{\"k\":\"\\u00e9\"}}", "event", "{\"k\":\"\\u00e9\"}");
}

/* hl_json_valid says what jansson says, on texts chosen for the edges of the grammar. */
static void test_valid_agrees_with_jansson(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{}", "[]", " {\"a\" : [1, -2.5e+3, 0, -0, 0.0, 1E5, true, false, null, \"x\"]} \n",
        "\"s\"", "1", "-", "01", "1.", ".5", "1e", "1e+", "-a", "+1", "0x10", "[1,]", "[,1]",
        "{\"a\":1,}", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{1:1}", "[1 2]", "[1] [2]", "[",
        "]", "{\"a\":[}]", "tru", "truex", "nul", "[true,false,null]", "\"\\u00e9\\n\\/\\\"\"",
        "\"\\u0000\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83dx\"",
        "\"\\ud83d\\u0041\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"a\tb\"", "\"\x7f\"",
        "\"\xc3\xa9\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xf0\x9f\x98\x80\"", "\"\xff\"", "\"unterminated", "",
        "  ", "{\"a\":{\"b\":{\"c\":[[[]]]}}}", "[\"\\\\\"]", "\"\\\"",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *j = json_loadb(texts[i], strlen(texts[i]), JSON_DECODE_ANY, NULL);
        if (hl_json_valid(texts[i], strlen(texts[i])) != (j != NULL))
            fail_msg("'%s': hl_json_valid %d, jansson %d", texts[i],
                     hl_json_valid(texts[i], strlen(texts[i])), j != NULL);
        json_decref(j);
    }
    /* a NUL byte is no JSON whitespace nor string content */
    assert_false(hl_json_valid("{} \0", 4));
    assert_false(hl_json_valid("\"a\0b\"", 5));
}

static void test_valid_limits_depth(void **state)
{
    (void)state;
    static char deep[2 * (HL_JSON_MAX_DEPTH + 1)];
    for (int n = HL_JSON_MAX_DEPTH; n <= HL_JSON_MAX_DEPTH + 1; n++) {
        memset(deep, '[', (size_t)n);
        memset(deep + n, ']', (size_t)n);
        assert_int_equal(hl_json_valid(deep, 2 * (size_t)n), n <= HL_JSON_MAX_DEPTH);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_arrays_and_objects),
        cmocka_unit_test(test_ignores_brackets_in_strings),
        cmocka_unit_test(test_deep_input_stops_early),
        cmocka_unit_test(test_stray_closers_do_not_go_negative),
        cmocka_unit_test(test_member_span_finds_values_verbatim),
        cmocka_unit_test(test_valid_agrees_with_jansson),
        cmocka_unit_test(test_valid_limits_depth),
        cmocka_unit_test(test_member_span_last_duplicate_and_escaped_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
