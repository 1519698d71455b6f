/* cdc/src/cdc_types.c: PostgreSQL text output to JSON, type by type (booleans, integers,
 * floats and their specials, numeric exact or as a string, json/jsonb, bytea as base64,
 * timestamps as ISO 8601, arrays with quoting, NULLs and nesting, anything else as text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cdc_types.h"
#include "hl/buf.h"

/* The JSON written for text as type oid; it must also parse as JSON. */
static void expect(uint32_t oid, const char *text, const char *want)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_adds(&b, "x"); /* appends, never overwrites */
    cdc_value_write(&b, oid, text, strlen(text));
    const char *got = b.ptr + 1; /* b.ptr is set: "x" went in first */
    if (strcmp(got, want) != 0)
        fail_msg("type %u, '%s': got %s, want %s", oid, text, got, want);
    json_t *j = json_loads(got, JSON_DECODE_ANY, NULL);
    if (!j)
        fail_msg("type %u, '%s': %s is not JSON", oid, text, got);
    json_decref(j);
    hl_buf_release(&b);
}

static void scalars(void **state)
{
    (void)state;
    expect(CDC_OID_BOOL, "t", "true");
    expect(CDC_OID_BOOL, "f", "false");
    expect(CDC_OID_INT2, "-7", "-7");
    expect(CDC_OID_INT4, "2147483647", "2147483647");
    expect(CDC_OID_INT8, "-9223372036854775808", "-9223372036854775808");
    expect(CDC_OID_FLOAT8, "1.5", "1.5");
    expect(CDC_OID_FLOAT8, "0.1", "0.1");
    expect(CDC_OID_FLOAT8, "0.30000000000000004", "0.30000000000000004");
    expect(CDC_OID_FLOAT8, "1e+100", "1e+100");
    expect(CDC_OID_INT4, "12x", "\"12x\"");
    expect(CDC_OID_TEXT, "caf\xc3\xa9", "\"caf\xc3\xa9\"");
    expect(CDC_OID_TEXT, "bad \xff byte", "\"(not UTF-8)\"");
    expect(CDC_OID_TEXT, "\xed\xa0\x80", "\"(not UTF-8)\""); /* a surrogate */
    expect(CDC_OID_FLOAT8, "NaN", "\"NaN\"");
    expect(CDC_OID_FLOAT4, "-Infinity", "\"-Infinity\"");
    expect(CDC_OID_TEXT, "hello \"x\"", "\"hello \\\"x\\\"\"");
    expect(2950 /* uuid */, "0191e0a0-0000-7000-8000-000000000000",
           "\"0191e0a0-0000-7000-8000-000000000000\"");
    expect(1082 /* date */, "2026-12-05", "\"2026-12-05\"");
}

static void numerics(void **state)
{
    (void)state;
    expect(CDC_OID_NUMERIC, "12.50", "12.50"); /* as written, not through a double */
    expect(CDC_OID_NUMERIC, "42", "42");
    expect(CDC_OID_NUMERIC, "-0.000123", "-0.000123");
    expect(CDC_OID_NUMERIC, "123456789012345", "123456789012345");
    /* 16 significant digits and more: a double would round them */
    expect(CDC_OID_NUMERIC, "1234567890123456", "\"1234567890123456\"");
    expect(CDC_OID_NUMERIC, "0.1000000000000001", "\"0.1000000000000001\"");
    expect(CDC_OID_NUMERIC, "123456789012345678901234.5", "\"123456789012345678901234.5\"");
    expect(CDC_OID_NUMERIC, "NaN", "\"NaN\"");
    expect(CDC_OID_NUMERIC, "Infinity", "\"Infinity\"");
}

static void json_bytea_time(void **state)
{
    (void)state;
    expect(CDC_OID_JSONB, "{\"a\": [1, 2, null]}", "{\"a\": [1, 2, null]}");
    expect(CDC_OID_JSON, "{\"a\": 1", "\"{\\\"a\\\": 1\"");
    expect(CDC_OID_JSON, "\"s\"", "\"s\"");
    expect(CDC_OID_JSON, "42", "42");
    expect(CDC_OID_BYTEA, "\\x0102ff", "\"AQL/\"");
    expect(CDC_OID_BYTEA, "\\x", "\"\"");
    expect(CDC_OID_BYTEA, "\\x0g", "\"\\\\x0g\"");
    expect(CDC_OID_TIMESTAMPTZ, "2026-12-05 10:00:00.25+00", "\"2026-12-05T10:00:00.25Z\"");
    expect(CDC_OID_TIMESTAMPTZ, "2026-12-05 10:00:00+05:30", "\"2026-12-05T10:00:00+05:30\"");
    expect(CDC_OID_TIMESTAMPTZ, "2026-12-05 10:00:00-08", "\"2026-12-05T10:00:00-08:00\"");
    expect(CDC_OID_TIMESTAMP, "2026-12-05 10:00:00.123456", "\"2026-12-05T10:00:00.123456\"");
    expect(CDC_OID_TIMESTAMP, "infinity", "\"infinity\"");
}

static void arrays(void **state)
{
    (void)state;
    assert_int_equal(cdc_array_elem(1007), CDC_OID_INT4);
    assert_int_equal(cdc_array_elem(CDC_OID_INT4), 0);
    expect(1007, "{1,2,NULL}", "[1,2,null]");
    expect(1009, "{x,\"y z\",\"NULL\",\"a\\\"b\",\"c\\\\d\"}", "[\"x\",\"y z\",\"NULL\",\"a\\\"b\",\"c\\\\d\"]");
    expect(1007, "{{1,2},{3,4}}", "[[1,2],[3,4]]");
    expect(1007, "{}", "[]");
    expect(1000, "{t,f}", "[true,false]");
    expect(3807, "{\"{\\\"a\\\": 1}\"}", "[{\"a\": 1}]");
    expect(1231, "{1.10,12345678901234567}", "[1.10,\"12345678901234567\"]");
    expect(1007, "[0:1]={5,6}", "[5,6]");
    /* malformed literals stay text rather than being guessed */
    expect(1007, "{1,2", "\"{1,2\"");
    expect(1007, "{\"1}", "\"{\\\"1}\"");
    expect(1007, "{1}x", "\"{1}x\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalars),
        cmocka_unit_test(numerics),
        cmocka_unit_test(json_bytea_time),
        cmocka_unit_test(arrays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
