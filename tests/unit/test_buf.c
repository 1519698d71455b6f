/* The growable buffer and its JSON string escaping. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl/buf.h"

static void test_append_and_format(void **state)
{
    struct hl_buf b = HL_BUF_INIT;
    assert_string_equal(hl_buf_str(&b), "");
    hl_buf_adds(&b, "abc");
    hl_buf_addf(&b, "-%d-%s", 42, "x");
    for (int i = 0; i < 1000; i++)
        hl_buf_addch(&b, 'z');
    assert_int_equal(b.len, 3 + 5 + 1000);
    assert_int_equal(strncmp(hl_buf_str(&b), "abc-42-x", 8), 0);
    hl_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(hl_buf_str(&b), "");
    hl_buf_release(&b);
}

/* The integer appenders agree with printf at the edges of their ranges. */
static void test_integers(void **state)
{
    static const long long vals[] = {0, 7, -1, 10, -10, 1765000000, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char want[32], got[HL_INT_STR_MAX];
        int n = snprintf(want, sizeof(want), "%lld", vals[i]);
        assert_int_equal(hl_i64_str(vals[i], got), n);
        assert_string_equal(got, want);
        struct hl_buf b = HL_BUF_INIT;
        hl_buf_adds(&b, "x=");
        hl_buf_add_i64(&b, vals[i]);
        assert_int_equal(b.len, 2 + (size_t)n);
        assert_string_equal(b.ptr + 2, want);
        hl_buf_release(&b);
    }
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_add_u64(&b, ULLONG_MAX);
    hl_buf_addch(&b, ' ');
    hl_buf_add_u64(&b, 0);
    assert_string_equal(hl_buf_str(&b), "18446744073709551615 0");
    hl_buf_release(&b);
}

static void test_json_escaping(void **state)
{
    struct hl_buf b = HL_BUF_INIT;
    const char s[] = "a\"b\\c\nd\x01";
    hl_buf_add_json_str(&b, s, sizeof(s) - 1);
    assert_string_equal(hl_buf_str(&b), "\"a\\\"b\\\\c\\nd\\u0001\"");
    hl_buf_release(&b);
}

static void test_detach(void **state)
{
    struct hl_buf b = HL_BUF_INIT;
    size_t len;
    hl_buf_adds(&b, "hello");
    char *p = hl_buf_detach(&b, &len);
    assert_string_equal(p, "hello");
    assert_int_equal(len, 5);
    assert_null(b.ptr);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_format),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_detach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
