/* JSON Pointer: RFC 6901's own examples (section 5), escapes, array indexes, and pointers
 * that must refer to nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/jsonptr.h"

static const char *RFC_DOC =
    "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, \"e^f\": 3, \"g|h\": 4,"
    " \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, \"m~n\": 8}";

static void test_rfc6901_examples(void **state)
{
    json_t *doc = json_loads(RFC_DOC, 0, NULL);
    assert_non_null(doc);
    assert_ptr_equal(hl_jsonptr_get(doc, ""), doc);
    assert_true(json_is_array(hl_jsonptr_get(doc, "/foo")));
    assert_string_equal(json_string_value(hl_jsonptr_get(doc, "/foo/0")), "bar");
    static const struct {
        const char *ptr;
        int want;
    } v[] = {{"/", 0}, {"/a~1b", 1}, {"/c%d", 2}, {"/e^f", 3}, {"/g|h", 4},
             {"/i\\j", 5}, {"/k\"l", 6}, {"/ ", 7}, {"/m~0n", 8}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(json_integer_value(hl_jsonptr_get(doc, v[i].ptr)), v[i].want);
    json_decref(doc);
}

static void test_refers_to_nothing(void **state)
{
    json_t *doc = json_loads("{\"a\": {\"b\": [10, 20]}, \"~1\": 9, \"01\": 3}", 0, NULL);
    assert_int_equal(json_integer_value(hl_jsonptr_get(doc, "/a/b/1")), 20);
    /* "~01" is "~1" literally, not "/": escapes are undone left to right, once. */
    assert_int_equal(json_integer_value(hl_jsonptr_get(doc, "/~01")), 9);
    assert_int_equal(json_integer_value(hl_jsonptr_get(doc, "/01")), 3);
    static const char *const none[] = {"/a/b/2", "/a/b/-", "/a/b/01", "/a/b/x", "/a/b/1/c",
                                       "/x", "/a/c", "a", "/a~2", "/a~", "/a/b/99999999999"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        assert_null(hl_jsonptr_get(doc, none[i]));
    json_decref(doc);
}

static void test_validity(void **state)
{
    assert_true(hl_jsonptr_valid(""));
    assert_true(hl_jsonptr_valid("/type"));
    assert_true(hl_jsonptr_valid("/data/~0~1/0"));
    assert_false(hl_jsonptr_valid("type"));
    assert_false(hl_jsonptr_valid("/a~"));
    assert_false(hl_jsonptr_valid("/a~x"));
    char big[HL_JSONPTR_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[0] = '/';
    big[sizeof(big) - 1] = '\0';
    assert_false(hl_jsonptr_valid(big));
    big[HL_JSONPTR_MAX] = '\0';
    assert_true(hl_jsonptr_valid(big));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6901_examples),
        cmocka_unit_test(test_refers_to_nothing),
        cmocka_unit_test(test_validity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
