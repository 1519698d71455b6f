/* Payload filters: each operator on matching and non-matching events, missing paths,
 * numbers of either representation, nested groups, and compile errors that name the path
 * inside the filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/filter.h"

static const char *EVENT =
    "{\"id\": \"e1\", \"event\": \"order.created\", \"tenant\": \"acme\","
    " \"data\": {\"amount\": 250, \"price\": 9.5, \"currency\": \"EUR\", \"country\": \"DE\","
    " \"tags\": [\"vip\", \"eu\"], \"a/b\": true, \"nothing\": null}}";

/* Compiles spec (must succeed) and evaluates it against EVENT. */
static bool matches(const char *spec)
{
    json_error_t je;
    json_t *s = json_loads(spec, 0, &je);
    json_t *ev = json_loads(EVENT, 0, NULL);
    assert_non_null(s);
    char where[128], err[256];
    struct hl_filter *f = NULL;
    assert_int_equal(hl_filter_compile(s, &f, where, sizeof(where), err, sizeof(err)), HL_OK);
    json_decref(s); /* the compiled filter keeps what it needs */
    bool m = hl_filter_match(f, ev);
    hl_filter_free(f);
    json_decref(ev);
    return m;
}

/* Compiles spec (must fail) and checks where it says the problem is. */
static void refused(const char *spec, const char *want_where)
{
    json_t *s = json_loads(spec, JSON_DECODE_ANY, NULL);
    assert_non_null(s);
    char where[128] = "unset", err[256] = "";
    struct hl_filter *f = (struct hl_filter *)1;
    assert_int_equal(hl_filter_compile(s, &f, where, sizeof(where), err, sizeof(err)), HL_EINVAL);
    assert_null(f);
    assert_string_equal(where, want_where);
    assert_true(err[0] != '\0');
    json_decref(s);
}

static void test_equality(void **state)
{
    assert_true(matches("{\"path\": \"/data/currency\", \"op\": \"eq\", \"value\": \"EUR\"}"));
    assert_false(matches("{\"path\": \"/data/currency\", \"op\": \"eq\", \"value\": \"USD\"}"));
    assert_true(matches("{\"path\": \"/data/currency\", \"op\": \"ne\", \"value\": \"USD\"}"));
    assert_false(matches("{\"path\": \"/data/currency\", \"op\": \"ne\", \"value\": \"EUR\"}"));
    /* 250 and 250.0 are the same number */
    assert_true(matches("{\"path\": \"/data/amount\", \"op\": \"eq\", \"value\": 250.0}"));
    assert_true(matches("{\"path\": \"/data/tags\", \"op\": \"eq\", \"value\": [\"vip\", \"eu\"]}"));
    assert_true(matches("{\"path\": \"/data/nothing\", \"op\": \"eq\", \"value\": null}"));
    /* a missing value equals nothing and differs from everything */
    assert_false(matches("{\"path\": \"/data/missing\", \"op\": \"eq\", \"value\": null}"));
    assert_true(matches("{\"path\": \"/data/missing\", \"op\": \"ne\", \"value\": 1}"));
}

static void test_in_and_exists(void **state)
{
    assert_true(matches("{\"path\": \"/data/country\", \"op\": \"in\", \"value\": [\"FR\", \"DE\"]}"));
    assert_false(matches("{\"path\": \"/data/country\", \"op\": \"in\", \"value\": [\"FR\", \"US\"]}"));
    assert_false(matches("{\"path\": \"/data/missing\", \"op\": \"in\", \"value\": [null]}"));
    assert_true(matches("{\"path\": \"/data/tags/1\", \"op\": \"in\", \"value\": [\"eu\"]}"));
    assert_true(matches("{\"path\": \"/data/a~1b\", \"op\": \"exists\"}"));
    assert_true(matches("{\"path\": \"/data/nothing\", \"op\": \"exists\", \"value\": true}"));
    assert_false(matches("{\"path\": \"/data/missing\", \"op\": \"exists\"}"));
    assert_true(matches("{\"path\": \"/data/missing\", \"op\": \"exists\", \"value\": false}"));
    assert_false(matches("{\"path\": \"/data/tags/2\", \"op\": \"exists\"}"));
    assert_false(matches("{\"path\": \"/data/tags/01\", \"op\": \"exists\"}"));
}

static void test_numeric_and_prefix(void **state)
{
    assert_true(matches("{\"path\": \"/data/amount\", \"op\": \"gt\", \"value\": 100}"));
    assert_true(matches("{\"path\": \"/data/amount\", \"op\": \"gte\", \"value\": 250}"));
    assert_false(matches("{\"path\": \"/data/amount\", \"op\": \"gt\", \"value\": 250}"));
    assert_true(matches("{\"path\": \"/data/price\", \"op\": \"lt\", \"value\": 10}"));
    assert_true(matches("{\"path\": \"/data/price\", \"op\": \"lte\", \"value\": 9.5}"));
    assert_false(matches("{\"path\": \"/data/price\", \"op\": \"lt\", \"value\": 9.5}"));
    /* a string is not a number, and a number has no prefix */
    assert_false(matches("{\"path\": \"/data/currency\", \"op\": \"gt\", \"value\": 0}"));
    assert_false(matches("{\"path\": \"/data/amount\", \"op\": \"prefix\", \"value\": \"2\"}"));
    assert_true(matches("{\"path\": \"/event\", \"op\": \"prefix\", \"value\": \"order.\"}"));
    assert_true(matches("{\"path\": \"/event\", \"op\": \"prefix\", \"value\": \"\"}"));
    assert_false(matches("{\"path\": \"/event\", \"op\": \"prefix\", \"value\": \"order.created.x\"}"));
}

static void test_groups(void **state)
{
    const char *vip_eu_big =
        "{\"all\": [{\"path\": \"/data/amount\", \"op\": \"gte\", \"value\": 100},"
        " {\"any\": [{\"path\": \"/data/country\", \"op\": \"eq\", \"value\": \"FR\"},"
        "            {\"path\": \"/data/tags/0\", \"op\": \"eq\", \"value\": \"vip\"}]},"
        " {\"path\": \"/tenant\", \"op\": \"eq\", \"value\": \"acme\"}]}";
    assert_true(matches(vip_eu_big));
    /* the last member of an all decides too (the subtree walk must reach it) */
    assert_false(matches(
        "{\"all\": [{\"any\": [{\"path\": \"/event\", \"op\": \"exists\"}]},"
        " {\"path\": \"/tenant\", \"op\": \"eq\", \"value\": \"other\"}]}"));
    assert_false(matches("{\"any\": [{\"path\": \"/data/x\", \"op\": \"exists\"},"
                         " {\"all\": [{\"path\": \"/data/amount\", \"op\": \"lt\", \"value\": 0}]}]}"));
    assert_true(matches("{\"any\": [{\"path\": \"/data/x\", \"op\": \"exists\"},"
                        " {\"all\": [{\"path\": \"/data/amount\", \"op\": \"gt\", \"value\": 0}]}]}"));
}

static void test_compile_errors_name_the_path(void **state)
{
    refused("[]", "");
    refused("{\"path\": \"data\", \"op\": \"eq\", \"value\": 1}", "/path");
    refused("{\"path\": \"\", \"op\": \"eq\", \"value\": 1}", "/path");
    refused("{\"path\": \"/a\", \"op\": \"like\", \"value\": 1}", "/op");
    refused("{\"path\": \"/a\", \"op\": \"eq\"}", "/value");
    refused("{\"path\": \"/a\", \"op\": \"gt\", \"value\": \"1\"}", "/value");
    refused("{\"path\": \"/a\", \"op\": \"in\", \"value\": []}", "/value");
    refused("{\"path\": \"/a\", \"op\": \"prefix\", \"value\": 1}", "/value");
    refused("{\"path\": \"/a\", \"op\": \"exists\", \"value\": 1}", "/value");
    refused("{\"path\": \"/a\", \"op\": \"eq\", \"value\": 1, \"x\": 2}", "/x");
    refused("{\"all\": []}", "/all");
    refused("{\"all\": [{\"path\": \"/a\", \"op\": \"eq\", \"value\": 1}], \"any\": []}", "");
    refused("{\"all\": [{\"path\": \"/a\", \"op\": \"eq\", \"value\": 1},"
            " {\"any\": [{\"path\": \"/a\", \"op\": \"bad\", \"value\": 1}]}]}",
            "/all/1/any/0/op");
}

static void test_limits(void **state)
{
    /* 9 nested groups: one too deep */
    char deep[1024] = "";
    for (int i = 0; i < 9; i++)
        strcat(deep, "{\"all\": [");
    strcat(deep, "{\"path\": \"/a\", \"op\": \"exists\"}");
    for (int i = 0; i < 9; i++)
        strcat(deep, "]}");
    refused(deep, "/all/0/all/0/all/0/all/0/all/0/all/0/all/0/all/0/all/0");
    /* 64 nodes is the most: a group and 63 conditions compile, 64 conditions do not */
    char big[8192] = "{\"any\": [";
    for (int i = 0; i < 64; i++)
        strcat(big, i ? ", {\"path\": \"/a\", \"op\": \"exists\"}" : "{\"path\": \"/a\", \"op\": \"exists\"}");
    strcat(big, "]}");
    refused(big, "/any/63");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_in_and_exists),
        cmocka_unit_test(test_numeric_and_prefix),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_compile_errors_name_the_path),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
