/* hl_json_depth_ok: the gateway's cheap nesting check before any JSON parsing. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_arrays_and_objects),
        cmocka_unit_test(test_ignores_brackets_in_strings),
        cmocka_unit_test(test_deep_input_stops_early),
        cmocka_unit_test(test_stray_closers_do_not_go_negative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
