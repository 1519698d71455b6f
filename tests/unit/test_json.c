/* hl_json_depth_ok: the gateway's cheap nesting check before any JSON parsing.
 * hl_json_write: the same bytes as jansson's json_dumps(JSON_COMPACT), written faster.
 * hl_json_parse: jansson's tree or NULL, never anything else, checked differentially.
 * The member scan and the validator the dispatcher uses to pass JSON text on unparsed. */
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

/* hl_json_parse against json_loadb(JSON_REJECT_DUPLICATES): when it answers, the tree must
 * be jansson's (equal, and dumping to the same bytes, which also checks key order); when
 * jansson refuses, it must not answer. Returns whether it answered. */
static bool parse_agrees(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *want = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *got = hl_json_parse(text, len, HL_JSON_MAX_DEPTH);
    if (!want) {
        if (got)
            fail_msg("jansson refuses '%.*s' (%s) but hl_json_parse accepted it", (int)len, text,
                     jerr.text);
        return false;
    }
    if (!got) {
        json_decref(want);
        return false;
    }
    if (!json_equal(want, got))
        fail_msg("different trees for '%.*s'", (int)len, text);
    char *a = json_dumps(want, JSON_COMPACT), *b = json_dumps(got, JSON_COMPACT);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(want);
    json_decref(got);
    return true;
}

static bool agrees(const char *text)
{
    return parse_agrees(text, strlen(text));
}

static void test_parse_gives_janssons_tree(void **state)
{
    static const char *const ok[] = {
        "{}", "[]", " \t\r\n{ } ", "{\"event\":\"bench.ping\",\"data\":{\"pad\":\"xxxx\"}}",
        "[1,-1,0,-0,9223372036854775807,-9223372036854775808]",
        "[1.5,-0.0,1e300,1E5,1e-5,2.5e+22,0.1,3.141592653589793]",
        "[true,false,null,\"\",[],{},[[[]]]]",
        "{\"z\":1,\"a\":2,\"m\":{\"y\":[{\"b\":null}]}}",
        "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u00e9\\u20AC\\ud83d\\ude00\"}",
        "{\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"}",
        "{\"k\\u00e9y\\n\":1,\"k\xc3\xa9y\":2,\"\":3}",
        "{\"a\":\"x\\\"y\",\"b\":\"ab\\u0041c\"}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!agrees(ok[i]))
            fail_msg("hl_json_parse gave up on '%s'", ok[i]);
    /* an underflowing real is left to jansson (which accepts it) */
    assert_false(agrees("[1e-320]"));
}

static void test_parse_refuses_what_jansson_refuses(void **state)
{
    static const char *const bad[] = {
        "", " ", "1", "\"s\"", "null", "{", "[", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]",
        "[1 2]", "{\"a\":1}x", "{} {}", "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":1}}",
        "[01]", "[-]", "[1.]", "[.5]", "[1e]", "[1e+]", "[+1]", "[0x10]", "[NaN]", "[Infinity]",
        "[tru]", "[nul]", "[True]", "[9223372036854775808]", "[-9223372036854775809]", "[1e400]",
        "[\"\\u0000\"]", "{\"\\u0000\":1}", "[\"\\ud83d\"]", "[\"\\ude00\"]", "[\"\\ud83dx\"]",
        "[\"\\x\"]", "[\"\\u12\"]", "[\"\\u12g4\"]", "[\"tab\there\"]", "[\"nl\nhere\"]",
        "[\"\xc3\"]", "[\"\xc0\x80\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
        "[\"\xe0\x80\xaf\"]", "[\"\xf8\x88\x80\x80\x80\"]", "[\"\xff\"]", "[\"unterminated]",
        "{'a':1}", "{a:1}", "[1]\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(agrees(bad[i]));
    /* a NUL byte inside the text */
    assert_false(parse_agrees("[\"a\0b\"]", 7));
    assert_false(parse_agrees("{}\0", 3));
}

/* Every one-byte change of a few documents: whatever jansson decides, hl_json_parse never
 * disagrees with it (parse_agrees fails the test if it does). */
static void test_parse_mutations_never_disagree(void **state)
{
    static const char *const seeds[] = {
        "{\"event\":\"a.b\",\"data\":{\"n\":[1,-2.5e3,true,null],\"s\":\"x\\u00e9\\\"y\"},"
        "\"id\":\"k\"}",
        "[{\"\":0},\"caf\xc3\xa9\",\"\\ud83d\\ude00\",12,0.5]",
    };
    static const char subst[] = {'"', '\\', '{', '}', '[', ']', ':', ',', '0', '9', '-', '.', 'e',
                                 'u', 'd', 'a', ' ', '\n', '\x01', '\x7f', '\x80', '\xc3', '\xe9',
                                 '\xed', '\xf4', '\0'};
    char buf[256];
    int answered = 0;
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        size_t n = strlen(seeds[s]);
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < sizeof(subst); k++) {
                memcpy(buf, seeds[s], n);
                buf[i] = subst[k];
                answered += parse_agrees(buf, n);
                /* and the same text cut short here */
                parse_agrees(buf, i);
            }
        }
    }
    assert_true(answered > 100); /* it does answer for most harmless changes */
}

/* The member's span by hl_json_member_span and, the texts being valid, by
 * hl_json_valid_members, which must find the same. */
static void span_is(const char *text, const char *key, const char *want)
{
    size_t off = 0, len = 0;
    struct hl_json_span sp;
    bool found = hl_json_valid_members(text, strlen(text), &key, 1, &sp) && sp.len;
    if (!want) {
        assert_false(hl_json_member_span(text, strlen(text), key, &off, &len));
        assert_false(found);
        return;
    }
    assert_true(hl_json_member_span(text, strlen(text), key, &off, &len));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(text + off, want, len);
    assert_true(found);
    assert_int_equal(sp.off, off);
    assert_int_equal(sp.len, len);
}

/* The parser's own depth bound (which spares its callers a pass of hl_json_depth_ok): no
 * tree for input deeper than max_depth, counted as hl_json_depth_ok counts, and a tree
 * again within it. Deep input must not recurse: a million brackets would blow the stack. */
static void test_parse_stops_at_its_depth_bound(void **state)
{
    const char *texts[] = {"{\"a\":[1,{\"b\":[2]}]}", "[[[[]]]]", "{\"x\":\"[[[[\"}"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t len = strlen(texts[i]);
        for (int max = 1; max <= 5; max++) {
            json_t *got = hl_json_parse(texts[i], len, max);
            if ((got != NULL) != hl_json_depth_ok(texts[i], len, max))
                fail_msg("'%s' at depth bound %d: %s", texts[i], max,
                         got ? "parsed" : "refused");
            json_decref(got);
        }
    }
    size_t n = 1000000;
    char *deep = malloc(n);
    memset(deep, '[', n / 2);
    memset(deep + n / 2, ']', n / 2);
    assert_null(hl_json_parse(deep, n, 64));
    free(deep);
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

/* The members of text that is not checked yet: the spans of valid text, nothing for text
 * hl_json_members alone would have taken apart. */
static void test_valid_members_checks_and_finds_in_one_pass(void **state)
{
    (void)state;
    static const char *const keys[] = {"id", "status", "payload", "absent"};
    struct hl_json_span sp[4];
    const char *rec = "{\"id\":\"d1\",\"payload\":{\"a\":[1,{}],\"b\":\"}\"},\"status\":200,"
                      "\"id\":\"d2\",\"x\":[]}";
    assert_true(hl_json_valid_members(rec, strlen(rec), keys, 4, sp));
    assert_memory_equal(rec + sp[0].off, "\"d2\"", sp[0].len); /* the last duplicate */
    assert_int_equal(sp[1].len, 3);
    assert_memory_equal(rec + sp[1].off, "200", 3);
    assert_int_equal(sp[2].len, strlen("{\"a\":[1,{}],\"b\":\"}\"}"));
    assert_memory_equal(rec + sp[2].off, "{\"a\":[1,{}],\"b\":\"}\"}", sp[2].len);
    assert_int_equal(sp[3].len, 0);
    static const char *const refused[] = {
        "{\"id\":\"d1\",\"status\":tru}", "{\"id\":\"d1\",}", "{\"id\":\"d1\"} x",
        "{\"id\":\"d1\",\"payload\":{\"a\":1}", "{\"id\":\"\x01\"}", "[{\"id\":1}]", "\"id\"",
        "{\"i\\u0064\":1}", "{\"payload\":{\"a\":1,\"a\\\"\":2},\"st\\\"atus\":1}", "",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (hl_json_valid_members(refused[i], strlen(refused[i]), keys, 4, sp))
            fail_msg("accepted '%s'", refused[i]);
    /* an escape in a nested name is no business of the top level's */
    const char *nested = "{\"payload\":{\"a\\\"\":2},\"id\":1}";
    assert_true(hl_json_valid_members(nested, strlen(nested), keys, 4, sp));
    assert_memory_equal(nested + sp[0].off, "1", sp[0].len);
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
        /* and in one pass with finding members: valid, and an object at the top */
        static const char *const key = "a";
        struct hl_json_span sp;
        bool object = j && json_is_object(j);
        if (hl_json_valid_members(texts[i], strlen(texts[i]), &key, 1, &sp) != object)
            fail_msg("'%s': hl_json_valid_members disagrees", texts[i]);
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

/* An API answer explains a refused body in Hookline's words: no jansson flag, no token. */
static void test_error_text_names_no_library_detail(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"a\":\"\\u0000\"}", NULL}, /* accepted: valid JSON */
        {"{\"a\\u0000\":1}", "a member name containing \\u0000 is not accepted"},
        {"{\"a\":1,\"a\":2}", "duplicate member name"},
        {"{\"a\":\"secret-token", "unexpected end of input"},
        {"{\"a\":1} x", "unexpected text after the value"},
        {"{\"a\":tru}", "invalid token"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t jerr;
        char why[JSON_ERROR_TEXT_LENGTH];
        json_t *v = json_loads(cases[i].text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (!cases[i].want) {
            assert_non_null(v);
            json_decref(v);
            continue;
        }
        assert_null(v);
        const char *got = hl_json_error_text(&jerr, why, sizeof(why));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: '%s', want '%s' (jansson: '%s')", cases[i].text, got, cases[i].want,
                     jerr.text);
        assert_null(strstr(got, "JSON_"));
        assert_null(strstr(got, "near"));
    }
}

static void test_find_nul_escape_steps_over_escapes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t want; /* SIZE_MAX: none (the length) */
    } cases[] = {
        {"{\"a\":\"\\u0000\"}", 6},
        {"{\"a\":\"\\\\u0000\"}", SIZE_MAX},   /* an escaped backslash, then letters */
        {"{\"a\":\"\\\\\\u0000\"}", 8},        /* escaped backslash, then the escape */
        {"{\"a\":\"\\u00001\"}", 6},
        {"{\"a\":\"\\u0001\\u000\"}", SIZE_MAX}, /* too short at the end */
        {"\\", SIZE_MAX},
        {"", SIZE_MAX},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].text);
        size_t want = cases[i].want == SIZE_MAX ? len : cases[i].want;
        size_t got = hl_json_find_nul_escape(cases[i].text, len);
        if (got != want)
            fail_msg("%s: %zu, want %zu", cases[i].text, got, want);
    }
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
        cmocka_unit_test(test_parse_gives_janssons_tree),
        cmocka_unit_test(test_parse_refuses_what_jansson_refuses),
        cmocka_unit_test(test_parse_mutations_never_disagree),
        cmocka_unit_test(test_parse_stops_at_its_depth_bound),
        cmocka_unit_test(test_member_span_finds_values_verbatim),
        cmocka_unit_test(test_valid_agrees_with_jansson),
        cmocka_unit_test(test_valid_members_checks_and_finds_in_one_pass),
        cmocka_unit_test(test_valid_limits_depth),
        cmocka_unit_test(test_member_span_last_duplicate_and_escaped_names),
        cmocka_unit_test(test_error_text_names_no_library_detail),
        cmocka_unit_test(test_find_nul_escape_steps_over_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
