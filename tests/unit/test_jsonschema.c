/* JSON Schema validator: error pointers and keywords, the problem+json errors array,
 * refusal of what is not implemented, $ref cycles, and sharing one schema across threads.
 * Conformance as such is the job of jsonschema_suite (the official test suite). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hl/jsonschema.h"
#include "hl/banned.h"

static json_t *parse(const char *s)
{
    json_error_t jerr;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &jerr);
    if (!j)
        fail_msg("bad test JSON: %s: %s", jerr.text, s);
    return j;
}

static struct hl_schema *compile_ok(const char *text)
{
    char err[256] = "";
    struct hl_schema *s = NULL;
    json_t *j = parse(text);
    hl_err rc = hl_schema_compile(j, &s, err, sizeof(err));
    json_decref(j);
    if (rc != HL_OK)
        fail_msg("schema refused: %s", err);
    return s;
}

/* Compiles text expecting failure `want`; returns the error message for inspection. */
static void compile_fails(const char *text, hl_err want, char *err, size_t errlen)
{
    struct hl_schema *s = (struct hl_schema *)1;
    json_t *j = parse(text);
    hl_err rc = hl_schema_compile(j, &s, err, errlen);
    json_decref(j);
    assert_int_equal(rc, want);
    assert_null(s);
}

static bool valid(const struct hl_schema *s, const char *instance)
{
    json_t *j = parse(instance);
    bool ok = hl_schema_validate(s, j, NULL);
    json_decref(j);
    return ok;
}

static void test_errors_carry_pointer_keyword_and_detail(void **state)
{
    struct hl_schema *s = compile_ok(
        "{\"type\":\"object\",\"required\":[\"id\",\"c\"],"
        "\"properties\":{\"id\":{\"type\":\"string\"},\"c\":true,"
        "\"b\":{\"type\":\"array\",\"items\":{\"minimum\":0}}},"
        "\"additionalProperties\":false}");
    json_t *inst = parse("{\"id\":1,\"b\":[1,-1],\"x/y~\":true}");
    struct hl_schema_result res;
    hl_schema_result_init(&res, 0);
    assert_int_equal(res.max_errors, HL_SCHEMA_DEFAULT_MAX_ERRORS);
    assert_false(hl_schema_validate(s, inst, &res));
    assert_int_equal(res.nerrors, 4);
    assert_false(res.truncated);

    json_t *errs = hl_schema_errors_to_json(&res);
    char *text = json_dumps(errs, JSON_COMPACT);
    assert_string_equal(
        text, "[{\"pointer\":\"\",\"keyword\":\"required\",\"detail\":\"missing required "
              "property 'c'\"},"
              "{\"pointer\":\"/id\",\"keyword\":\"type\",\"detail\":\"must be string\"},"
              "{\"pointer\":\"/b/1\",\"keyword\":\"minimum\",\"detail\":\"must be >= 0\"},"
              "{\"pointer\":\"/x~1y~0\",\"keyword\":\"additionalProperties\",\"detail\":\"no "
              "value is allowed here\"}]");
    free(text);
    json_decref(errs);

    /* the result is reusable: a valid instance leaves no errors behind */
    json_t *good = parse("{\"id\":\"a\",\"c\":0}");
    assert_true(hl_schema_validate(s, good, &res));
    assert_int_equal(res.nerrors, 0);
    json_decref(good);

    /* the fast path agrees */
    assert_false(hl_schema_validate(s, inst, NULL));
    hl_schema_result_release(&res);
    json_decref(inst);
    hl_schema_free(s);
}

static void test_error_collection_stops_at_max(void **state)
{
    struct hl_schema *s = compile_ok("{\"items\":{\"type\":\"string\"}}");
    json_t *inst = parse("[1,2,3,4,5]");
    struct hl_schema_result res;
    hl_schema_result_init(&res, 2);
    assert_false(hl_schema_validate(s, inst, &res));
    assert_int_equal(res.nerrors, 2);
    assert_true(res.truncated);
    assert_string_equal(res.errors[0].pointer, "/0");
    assert_string_equal(res.errors[1].pointer, "/1");
    assert_string_equal(res.errors[1].keyword, "type");
    hl_schema_result_release(&res);
    json_decref(inst);
    hl_schema_free(s);
}

static void test_combinators_report_once_at_their_keyword(void **state)
{
    struct hl_schema *s = compile_ok(
        "{\"properties\":{\"v\":{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":10}]},"
        "\"w\":{\"not\":{\"type\":\"null\"}},\"o\":{\"oneOf\":[{\"type\":\"integer\"},"
        "{\"minimum\":0}]}}}");
    json_t *inst = parse("{\"v\":3,\"w\":null,\"o\":5}");
    struct hl_schema_result res;
    hl_schema_result_init(&res, 10);
    assert_false(hl_schema_validate(s, inst, &res));
    assert_int_equal(res.nerrors, 3);
    for (size_t i = 0; i < res.nerrors; i++) {
        const struct hl_schema_error *e = &res.errors[i];
        if (strcmp(e->pointer, "/v") == 0)
            assert_string_equal(e->keyword, "anyOf");
        else if (strcmp(e->pointer, "/w") == 0)
            assert_string_equal(e->keyword, "not");
        else
            assert_string_equal(e->keyword, "oneOf");
    }
    hl_schema_result_release(&res);
    json_decref(inst);
    hl_schema_free(s);
}

static void test_unsupported_keywords_are_refused_by_name_and_pointer(void **state)
{
    char err[256];
    compile_fails("{\"properties\":{\"a\":{\"unevaluatedProperties\":false}}}",
                  HL_SCHEMA_EUNSUPPORTED, err, sizeof(err));
    assert_non_null(strstr(err, "'unevaluatedProperties'"));
    assert_non_null(strstr(err, "'/properties/a/unevaluatedProperties'"));

    compile_fails("{\"$defs\":{\"x~y\":{\"maxlength\":3}}}", HL_SCHEMA_EUNSUPPORTED, err,
                  sizeof(err));
    assert_non_null(strstr(err, "unknown keyword 'maxlength' at '/$defs/x~0y/maxlength'"));

    compile_fails("{\"$dynamicRef\":\"#x\"}", HL_SCHEMA_EUNSUPPORTED, err, sizeof(err));
    compile_fails("{\"format\":\"idn-hostname\"}", HL_SCHEMA_EUNSUPPORTED, err, sizeof(err));
    assert_non_null(strstr(err, "idn-hostname"));
    compile_fails("{\"$ref\":\"https://example.com/other.json\"}", HL_SCHEMA_EUNSUPPORTED,
                  err, sizeof(err));
    compile_fails("{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}",
                  HL_SCHEMA_EUNSUPPORTED, err, sizeof(err));

    /* malformed rather than unsupported */
    compile_fails("{\"minLength\":-1}", HL_EINVAL, err, sizeof(err));
    assert_non_null(strstr(err, "'/minLength'"));
    compile_fails("{\"pattern\":\"(\"}", HL_EINVAL, err, sizeof(err));
    assert_non_null(strstr(err, "invalid regular expression '(' at '/pattern'"));
    compile_fails("{\"pattern\":\"(*FOO)a\"}", HL_EINVAL, err, sizeof(err));
    assert_null(strstr(err, "PCRE"));
    compile_fails("{\"$ref\":\"#/$defs/missing\"}", HL_EINVAL, err, sizeof(err));
    compile_fails("{\"type\":\"strin\"}", HL_EINVAL, err, sizeof(err));
    compile_fails("42", HL_EINVAL, err, sizeof(err));

    /* annotations are accepted and change nothing */
    struct hl_schema *s = compile_ok(
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":\"urn:x\","
        "\"$comment\":\"c\",\"title\":\"t\",\"description\":\"d\",\"default\":1,"
        "\"examples\":[1],\"deprecated\":true,\"readOnly\":false,\"writeOnly\":false,"
        "\"contentMediaType\":\"application/json\",\"contentEncoding\":\"base64\"}");
    assert_true(valid(s, "\"anything\""));
    hl_schema_free(s);
}

static void test_ref_cycles_do_not_loop(void **state)
{
    char err[256];
    /* a cycle that never leaves the instance is refused at compile time */
    compile_fails("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"allOf\":[{\"$ref\":"
                  "\"#/$defs/a\"}]}},\"$ref\":\"#/$defs/a\"}",
                  HL_EINVAL, err, sizeof(err));
    assert_non_null(strstr(err, "cycle"));
    compile_fails("{\"$ref\":\"#\"}", HL_EINVAL, err, sizeof(err));

    /* recursion through the instance's children is fine and terminates */
    struct hl_schema *s = compile_ok(
        "{\"$id\":\"https://hookline.dev/tree\",\"$defs\":{\"node\":{\"$anchor\":\"node\","
        "\"type\":\"object\",\"required\":[\"v\"],\"properties\":{\"v\":{\"type\":"
        "\"integer\"},\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"tree#node\"}}}}},"
        "\"$ref\":\"#/$defs/node\"}");
    assert_true(valid(s, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":3}]},{\"v\":4}]}"));
    json_t *inst = parse("{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":\"x\"}]}]}");
    struct hl_schema_result res;
    hl_schema_result_init(&res, 4);
    assert_false(hl_schema_validate(s, inst, &res));
    assert_int_equal(res.nerrors, 1);
    assert_string_equal(res.errors[0].pointer, "/kids/0/kids/0/v");
    assert_string_equal(res.errors[0].keyword, "type");
    json_decref(inst);

    /* an absurdly deep instance is refused, not a stack overflow */
    json_t *deep = json_pack("{s:i}", "v", 0);
    for (int i = 0; i < 3000; i++)
        deep = json_pack("{s:i, s:[o]}", "v", i, "kids", deep);
    assert_false(hl_schema_validate(s, deep, &res));
    assert_int_equal(res.nerrors, 1);
    assert_string_equal(res.errors[0].keyword, "$ref");
    json_decref(deep);
    hl_schema_result_release(&res);
    hl_schema_free(s);
}

static void test_strings_count_code_points_and_patterns_are_ecma_like(void **state)
{
    struct hl_schema *s =
        compile_ok("{\"type\":\"string\",\"maxLength\":2,\"pattern\":\"^\\\\u00e9\"}");
    assert_true(valid(s, "\"\\u00e9\\u20ac\"")); /* two code points, five bytes */
    assert_false(valid(s, "\"\\u00e9\\u20acx\""));
    assert_false(valid(s, "\"x\""));
    hl_schema_free(s);
    s = compile_ok("{\"pattern\":\"^a$\"}"); /* $ does not match before a final newline */
    assert_true(valid(s, "\"a\""));
    assert_false(valid(s, "\"a\\n\""));
    hl_schema_free(s);
}

/* One pattern each way: compiled from ECMA-262 text, then matched against strings. */
static void pattern_case(const char *pattern, const char *yes, const char *no)
{
    json_t *schema = json_pack("{s:s}", "pattern", pattern);
    char err[256] = "";
    struct hl_schema *s = NULL;
    if (hl_schema_compile(schema, &s, err, sizeof(err)) != HL_OK)
        fail_msg("pattern '%s' refused: %s", pattern, err);
    json_decref(schema);
    json_t *y = json_string(yes), *n = json_string(no);
    if (!hl_schema_validate(s, y, NULL))
        fail_msg("'%s' should match '%s'", yes, pattern);
    if (hl_schema_validate(s, n, NULL))
        fail_msg("'%s' should not match '%s'", no, pattern);
    json_decref(y);
    json_decref(n);
    hl_schema_free(s);
}

static void test_unicode_property_escapes_as_ecma_262_spells_them(void **state)
{
    (void)state;
    pattern_case("^\\p{Letter}+$", "h\xc3\xa9llo\xce\xa9", "abc1");
    pattern_case("^\\p{L}+$", "\xce\xb1\xce\xb2", "a b");
    pattern_case("^\\p{General_Category=Letter}+$", "ab", "a-");
    pattern_case("^\\p{gc=Lu}+$", "AB", "Ab");
    pattern_case("^\\p{Lu}\\p{Lowercase_Letter}+$", "Abc", "ABC");
    pattern_case("^\\P{Uppercase_Letter}+$", "abc", "aBc");
    pattern_case("^\\p{Script=Greek}+$", "\xce\xb1\xce\xb2", "ab");
    pattern_case("^\\p{sc=Grek}$", "\xce\xa9", "W");
    pattern_case("^\\p{Script_Extensions=Latin}+$", "abc", "\xce\xb1");
    pattern_case("^\\p{Decimal_Number}+$", "12\xd9\xa3", "1a");
    pattern_case("^[\\p{Letter}\\p{Nd}_]+$", "a_1", "a-1");
    pattern_case("^\\p{White_Space}$", " ", "x");
    pattern_case("^\\p{ASCII}+$", "abc", "\xc3\xa9");
    pattern_case("^\\p{Assigned}$", "a", "\xcd\xb8" /* U+0378, unassigned */);
    /* \s is ECMA-262's: Unicode spaces and U+FEFF too; \d stays ASCII */
    pattern_case("^\\s$", "\xc2\xa0", "x");
    pattern_case("^[\\s\\d]+$", "\xef\xbb\xbf" "1\xe2\x80\x83", "\xd9\xa3");
    pattern_case("^\\S+$", "ab", "a\xe2\x80\xa9");
    pattern_case("^[\\s]\\s\\\\s$", "\t\xe3\x80\x80\\s", "\t \\ ");
    /* an escaped backslash before "p{": text, not a property */
    pattern_case("^\\\\p\\{Letter\\}$", "\\p{Letter}", "a");
}

static void test_strings_may_hold_nul(void **state)
{
    (void)state;
    struct hl_schema *s =
        compile_ok("{\"type\":\"string\",\"maxLength\":3,\"pattern\":\"^a\\\\u0000b$\"}");
    json_t *yes = json_stringn("a\0b", 3), *longer = json_stringn("a\0bc", 4),
           *cut = json_stringn("a\0c", 3);
    assert_true(hl_schema_validate(s, yes, NULL));
    assert_false(hl_schema_validate(s, longer, NULL)); /* four code points */
    assert_false(hl_schema_validate(s, cut, NULL));    /* compared past the NUL */
    json_decref(yes);
    json_decref(longer);
    json_decref(cut);
    hl_schema_free(s);
}

static void test_formats_are_assertions(void **state)
{
    struct hl_schema *s = compile_ok(
        "{\"properties\":{\"t\":{\"format\":\"date-time\"},\"u\":{\"format\":\"uuid\"},"
        "\"e\":{\"format\":\"email\"},\"h\":{\"format\":\"hostname\"},"
        "\"i\":{\"format\":\"ipv4\"},\"j\":{\"format\":\"ipv6\"},\"w\":{\"format\":\"uri\"}}}");
    assert_true(valid(s, "{\"t\":\"2026-02-25T15:00:00.000Z\","
                         "\"u\":\"2eb8aa08-aa98-11ea-b4aa-73b441d16380\","
                         "\"e\":\"ops@hookline.dev\",\"h\":\"hookline.dev\","
                         "\"i\":\"10.0.0.1\",\"j\":\"::1\",\"w\":\"https://x.dev/a?b#c\"}"));
    assert_false(valid(s, "{\"t\":\"2026-02-30T15:00:00Z\"}"));
    assert_false(valid(s, "{\"u\":\"not-a-uuid\"}"));
    assert_false(valid(s, "{\"e\":\"no-at-sign\"}"));
    assert_false(valid(s, "{\"h\":\"-bad-\"}"));
    assert_false(valid(s, "{\"i\":\"256.0.0.1\"}"));
    assert_false(valid(s, "{\"j\":\"1::2::3\"}"));
    assert_false(valid(s, "{\"w\":\"/relative\"}"));
    assert_true(valid(s, "{\"t\":42}")); /* formats constrain strings only */
    hl_schema_free(s);

    assert_null(hl_schema_format_find("idn-email"));
    hl_schema_format_fn uuid = hl_schema_format_find("uuid");
    assert_non_null(uuid);
    assert_true(uuid("00000000-0000-0000-0000-000000000000", 36));
}

static void test_event_schema_file(void **state)
{
    char err[256];
    struct hl_schema *s;
    assert_int_equal(hl_schema_compile_file("/nonexistent.json", &s, err, sizeof(err)),
                     HL_EIO);
    assert_int_equal(
        hl_schema_compile_file(HL_SCHEMAS_DIR "/event.schema.json", &s, err, sizeof(err)),
        HL_OK);
    assert_true(valid(s, "{\"id\":\"evt_1\",\"event\":\"order.created\",\"tenant\":\"t\","
                         "\"timestamp\":\"2026-02-25T15:00:00Z\",\"data\":{}}"));
    json_t *bad = parse("{\"id\":\"evt 1\",\"event\":\"order..created\",\"tenant\":\"t\","
                        "\"timestamp\":\"x\",\"actor_id\":1.5,\"data\":null}");
    struct hl_schema_result res;
    hl_schema_result_init(&res, 10);
    assert_false(hl_schema_validate(s, bad, &res));
    assert_int_equal(res.nerrors, 4);
    assert_string_equal(res.errors[0].pointer, "/id");
    assert_string_equal(res.errors[0].keyword, "pattern");
    assert_string_equal(res.errors[1].pointer, "/event");
    assert_string_equal(res.errors[2].pointer, "/timestamp");
    assert_string_equal(res.errors[2].keyword, "format");
    assert_string_equal(res.errors[3].pointer, "/actor_id");
    assert_string_equal(res.errors[3].keyword, "type");
    assert_string_equal(res.errors[3].detail, "must be string or integer");
    hl_schema_result_release(&res);
    json_decref(bad);
    hl_schema_free(s);
}

struct worker {
    const struct hl_schema *schema;
    json_t *good, *bad;
    int mismatches;
};

static void *validate_many(void *arg)
{
    struct worker *w = arg;
    struct hl_schema_result res;
    hl_schema_result_init(&res, 4);
    for (int i = 0; i < 20000; i++) {
        if (!hl_schema_validate(w->schema, w->good, (i & 1) ? &res : NULL))
            w->mismatches++;
        if (hl_schema_validate(w->schema, w->bad, (i & 1) ? &res : NULL))
            w->mismatches++;
        if ((i & 1) && (res.nerrors != 4 || strcmp(res.errors[2].pointer, "/event") != 0))
            w->mismatches++;
    }
    hl_schema_result_release(&res);
    return NULL;
}

static void test_one_schema_two_threads(void **state)
{
    char err[256];
    struct hl_schema *s;
    assert_int_equal(
        hl_schema_compile_file(HL_SCHEMAS_DIR "/event.schema.json", &s, err, sizeof(err)),
        HL_OK);
    json_t *good = parse("{\"id\":\"evt_1\",\"event\":\"order.created\",\"tenant\":\"t\","
                         "\"timestamp\":\"2026-02-25T15:00:00Z\",\"data\":[1,2]}");
    json_t *bad = parse("{\"id\":\"\",\"event\":\"a b\",\"tenant\":\"t\","
                        "\"timestamp\":\"2026\",\"data\":1}");
    struct worker w[2] = {{s, good, bad, 0}, {s, good, bad, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, validate_many, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(w[0].mismatches, 0);
    assert_int_equal(w[1].mismatches, 0);
    json_decref(good);
    json_decref(bad);
    hl_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_carry_pointer_keyword_and_detail),
        cmocka_unit_test(test_error_collection_stops_at_max),
        cmocka_unit_test(test_combinators_report_once_at_their_keyword),
        cmocka_unit_test(test_unsupported_keywords_are_refused_by_name_and_pointer),
        cmocka_unit_test(test_ref_cycles_do_not_loop),
        cmocka_unit_test(test_strings_count_code_points_and_patterns_are_ecma_like),
        cmocka_unit_test(test_unicode_property_escapes_as_ecma_262_spells_them),
        cmocka_unit_test(test_strings_may_hold_nul),
        cmocka_unit_test(test_formats_are_assertions),
        cmocka_unit_test(test_event_schema_file),
        cmocka_unit_test(test_one_schema_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
