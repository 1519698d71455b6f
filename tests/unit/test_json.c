/* hl_json_depth_ok: the gateway's cheap nesting check before any JSON parsing.
 * hl_json_write: the same bytes as jansson's json_dumps(JSON_COMPACT), written faster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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


/* hl_json_write's output must equal jansson's, byte for byte, for the same tree. */
static void assert_writes_like_jansson(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    assert_non_null(v);
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(want);
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_adds(&b, "prefix:");
    hl_json_write(&b, v);
    assert_string_equal(hl_buf_str(&b) + 7, want);
    assert_int_equal(b.len - 7, strlen(want));
    hl_buf_release(&b);
    free(want);
    json_decref(v);
}

static void test_write_matches_jansson_for_tricky_strings(void **state)
{
    assert_writes_like_jansson("\"\"");
    assert_writes_like_jansson("\"quote \\\" backslash \\\\ slash / done\"");
    /* every control character, with jansson's short and \\u00XX escapes */
    assert_writes_like_jansson("\"\\u0001\\b\\f\\n\\r\\t\\u000b\\u001f\\u001e \\u007f\"");
    /* non-ASCII stays UTF-8: two-, three- and four-byte sequences, U+2028 */
    assert_writes_like_jansson("\"caf\\u00e9 \u20ac \\ud83d\\ude00 \\u2028 \u65e5\u672c\"");
    assert_writes_like_jansson("\"nul \\u0000 inside\"");
    assert_writes_like_jansson("{\"k\\\"ey\\n\\u00e9\":\"v\"}");
}

static void test_write_matches_jansson_for_every_type(void **state)
{
    assert_writes_like_jansson("{}");
    assert_writes_like_jansson("[]");
    assert_writes_like_jansson("[true,false,null,0,-1,42]");
    assert_writes_like_jansson("[9223372036854775807,-9223372036854775808]");
    assert_writes_like_jansson("[1.5,-0.0,1e300,1.0,100.0,0.1,3.141592653589793,1e-7,2.5e22]");
    /* keys keep their insertion order, not sorted */
    assert_writes_like_jansson("{\"z\":1,\"a\":{\"y\":[1,{\"b\":null}],\"c\":\"x\"},\"m\":[]}");
    assert_writes_like_jansson("{\"order\":{\"items\":[{\"sku\":\"A-1\",\"qty\":2,"
                               "\"price\":19.99}],\"note\":\"tab\\there\"}}");
}

static void test_write_keeps_insertion_order_of_built_objects(void **state)
{
    json_t *o = json_object();
    json_object_set_new(o, "zeta", json_integer(1));
    json_object_set_new(o, "alpha", json_string("a\"b"));
    json_object_set_new(o, "mid", json_real(0.5));
    json_object_set_new(o, "zeta", json_integer(2)); /* replaced in place */
    struct hl_buf b = HL_BUF_INIT;
    hl_json_write(&b, o);
    assert_string_equal(hl_buf_str(&b), "{\"zeta\":2,\"alpha\":\"a\\\"b\",\"mid\":0.5}");
    hl_buf_release(&b);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_arrays_and_objects),
        cmocka_unit_test(test_ignores_brackets_in_strings),
        cmocka_unit_test(test_deep_input_stops_early),
        cmocka_unit_test(test_stray_closers_do_not_go_negative),
        cmocka_unit_test(test_write_matches_jansson_for_tricky_strings),
        cmocka_unit_test(test_write_matches_jansson_for_every_type),
        cmocka_unit_test(test_write_keeps_insertion_order_of_built_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
