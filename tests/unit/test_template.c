/* Delivery templates: typed substitution, text interpolation, JSON pointers, timestamps in
 * both forms, and templates that must not compile (with the pointer to the problem). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/template.h"
#include "hl/time.h"

static const char *ENV =
    "{\"id\":\"evt_1\",\"event\":\"user.created\",\"tenant\":\"acme\","
    "\"timestamp\":\"2026-02-25T15:00:00.123Z\",\"request_id\":\"req-9\",\"actor_id\":123,"
    "\"data\":{\"user\":{\"id\":42,\"email\":\"a\\\"b@example.com\"},\"tags\":[\"x\"]},"
    "\"metadata\":{\"source\":\"cli\"}}";

/* Renders the JSON template text tpl against ENV. */
static char *render_json(const char *tpl)
{
    static char out[4096];
    json_t *t = json_loads(tpl, JSON_DECODE_ANY, NULL);
    assert_non_null(t);
    struct hl_template *c;
    struct hl_template_error e;
    assert_int_equal(hl_template_compile_json(t, &c, &e), HL_OK);
    json_decref(t);
    json_t *env = json_loads(ENV, 0, NULL);
    struct hl_template_ctx ctx = {.envelope = env, .delivery_id = "dlv_7", .webhook_id = "wh_3"};
    struct hl_buf b = HL_BUF_INIT;
    hl_template_render(c, &ctx, &b);
    snprintf(out, sizeof(out), "%s", hl_buf_str(&b));
    hl_buf_release(&b);
    hl_template_free(c);
    json_decref(env);
    return out;
}

static void test_typed_values(void **state)
{
    (void)state;
    assert_string_equal(
        render_json("{\"id\":\"{{delivery_id}}\",\"e\":\"{{event}}\",\"a\":\"{{actor_id}}\","
                    "\"p\":\"{{data}}\",\"m\":\"{{metadata}}\",\"w\":\"{{ webhook_id }}\"}"),
        "{\"id\":\"dlv_7\",\"e\":\"user.created\",\"a\":123,"
        "\"p\":{\"user\":{\"id\":42,\"email\":\"a\\\"b@example.com\"},\"tags\":[\"x\"]},"
        "\"m\":{\"source\":\"cli\"},\"w\":\"wh_3\"}");
}

static void test_pointers_and_missing(void **state)
{
    (void)state;
    assert_string_equal(render_json("[\"{{data/user/id}}\",\"{{data/tags/0}}\",\"{{data/nope}}\","
                                    "\"{{metadata/source}}\",\"{{occurred_at}}\"]"),
                        "[42,\"x\",null,\"cli\",\"2026-02-25T15:00:00.123Z\"]");
}

/* Constant parts next to placeholders are serialized once, at compile time. */
static void test_constant_subtrees(void **state)
{
    (void)state;
    assert_string_equal(render_json("{\"c\":[1,{\"a\":null}],\"e\":\"{{event}}\",\"k\":{\"x\":true}}"),
                        "{\"c\":[1,{\"a\":null}],\"e\":\"user.created\",\"k\":{\"x\":true}}");
}

static void test_timestamps(void **state)
{
    (void)state;
    assert_string_equal(render_json("{\"t\":\"{{timestamp}}\",\"u\":\"{{timestamp:unix}}\"}"),
                        "{\"t\":\"2026-02-25T15:00:00.123Z\",\"u\":1772031600}");
    long long s;
    assert_int_equal(hl_iso8601_parse("1970-01-01T00:00:00Z", &s), HL_OK);
    assert_int_equal(s, 0);
    assert_int_equal(hl_iso8601_parse("1970-01-01T02:00:00+02:00", &s), HL_OK);
    assert_int_equal(s, 0);
    assert_int_equal(hl_iso8601_parse("2026-02-25", &s), HL_EINVAL);
    assert_int_equal(hl_iso8601_parse("2026-02-25T15:00:00", &s), HL_EINVAL);
}

/* Values inside text stay text: an event cannot inject JSON through a placeholder. */
static void test_text_is_escaped(void **state)
{
    (void)state;
    assert_string_equal(render_json("{\"s\":\"<{{data/user/email}}> {{actor_id}}{{request_id}}\","
                                    "\"k\":\"no placeholders {\"}"),
                        "{\"s\":\"<a\\\"b@example.com> 123req-9\",\"k\":\"no placeholders {\"}");
    assert_string_equal(render_json("\"{{data/user}}!\""),
                        "\"{\\\"id\\\":42,\\\"email\\\":\\\"a\\\\\\\"b@example.com\\\"}!\"");
}

static void test_text_template(void **state)
{
    (void)state;
    struct hl_template *c;
    struct hl_template_error e;
    assert_int_equal(hl_template_compile_text("{{event}} at {{timestamp:unix}}", &c, &e), HL_OK);
    json_t *env = json_loads(ENV, 0, NULL);
    struct hl_template_ctx ctx = {.envelope = env};
    struct hl_buf b = HL_BUF_INIT;
    hl_template_render(c, &ctx, &b);
    assert_string_equal(hl_buf_str(&b), "user.created at 1772031600");
    hl_buf_release(&b);
    hl_template_free(c);
    json_decref(env);
}

static void expect_error(const char *tpl, const char *pointer, const char *detail_part)
{
    json_t *t = json_loads(tpl, JSON_DECODE_ANY, NULL);
    assert_non_null(t);
    struct hl_template *c = (void *)1;
    struct hl_template_error e;
    assert_int_equal(hl_template_compile_json(t, &c, &e), HL_EINVAL);
    assert_null(c);
    assert_string_equal(e.pointer, pointer);
    assert_non_null(strstr(e.detail, detail_part));
    json_decref(t);
}

static void test_bad_templates(void **state)
{
    (void)state;
    expect_error("{\"a\":{\"b\":[1,\"{{evnt}}\"]}}", "/a/b/1", "unknown placeholder '{{evnt}}'");
    expect_error("{\"a~b/c\":\"{{data\"}", "/a~0b~1c", "unterminated");
    expect_error("\"{{event/x}}\"", "", "takes no JSON pointer");
    expect_error("\"{{data/a~2}}\"", "", "not a valid JSON pointer");
    expect_error("\"{{}}\"", "", "empty placeholder");
    char deep[200];
    memset(deep, '[', 20);
    memcpy(deep + 20, "\"{{event}}\"", 11);
    memset(deep + 31, ']', 20);
    deep[51] = '\0';
    expect_error(deep, "/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0", "nests deeper");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_values),     cmocka_unit_test(test_pointers_and_missing),
        cmocka_unit_test(test_timestamps),       cmocka_unit_test(test_constant_subtrees),       cmocka_unit_test(test_text_is_escaped),
        cmocka_unit_test(test_text_template),    cmocka_unit_test(test_bad_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
