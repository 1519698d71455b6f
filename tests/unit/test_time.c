/* hl_iso8601_ms: the envelope's "timestamp", formatted from a per-thread cache of the
 * current second; every answer must equal the full formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/time.h"

static const char *iso(int64_t ms)
{
    static char out[HL_ISO8601_LEN];
    hl_iso8601_ms(ms, out);
    return out;
}

static void test_iso8601_within_and_across_seconds(void **state)
{
    /* 2026-02-25T15:00:00Z = 1772031600 */
    assert_string_equal(iso(1772031600000), "2026-02-25T15:00:00.000Z");
    assert_string_equal(iso(1772031600007), "2026-02-25T15:00:00.007Z");
    assert_string_equal(iso(1772031600042), "2026-02-25T15:00:00.042Z");
    assert_string_equal(iso(1772031600999), "2026-02-25T15:00:00.999Z");
    assert_string_equal(iso(1772031601000), "2026-02-25T15:00:01.000Z");
    /* back to an earlier second, across a day and a year */
    assert_string_equal(iso(1772031600500), "2026-02-25T15:00:00.500Z");
    assert_string_equal(iso(1772063999999), "2026-02-25T23:59:59.999Z");
    assert_string_equal(iso(1772064000001), "2026-02-26T00:00:00.001Z");
    assert_string_equal(iso(1798761599123), "2026-12-31T23:59:59.123Z");
    assert_string_equal(iso(1798761600456), "2027-01-01T00:00:00.456Z");
    assert_string_equal(iso(0), "1970-01-01T00:00:00.000Z");
    assert_string_equal(iso(1), "1970-01-01T00:00:00.001Z");
}

static void test_iso8601_of_now_has_the_shape(void **state)
{
    const char *s = iso(hl_now_ms());
    assert_int_equal(strlen(s), 24);
    assert_int_equal(s[10], 'T');
    assert_int_equal(s[19], '.');
    assert_int_equal(s[23], 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso8601_within_and_across_seconds),
        cmocka_unit_test(test_iso8601_of_now_has_the_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
