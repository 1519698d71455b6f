/* Delivery formats: every built-in compiles and renders its seed's contract, client input
 * is checked with a pointer to the problem, and the extra signature is the HMAC a seed's
 * receiver computes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/format.h"

static const char *ENV =
    "{\"id\":\"evt_1\",\"event\":\"user.created\",\"tenant\":\"acme\","
    "\"timestamp\":\"2026-02-25T15:00:00.123Z\",\"actor_id\":123,\"data\":{\"k\":1}}";

static struct hl_format *compile_named(const char *name)
{
    json_t *given = json_string(name), *stored = NULL;
    struct hl_template_error e;
    assert_int_equal(hl_format_check(given, &stored, &e), HL_OK);
    struct hl_format *f = NULL;
    assert_int_equal(hl_format_compile(stored, &f, &e), HL_OK);
    json_decref(given);
    json_decref(stored);
    return f;
}

static void test_builtins_compile(void **state)
{
    (void)state;
    assert_string_equal(hl_format_builtin_name(0), "standard");
    assert_null(compile_named("standard")); /* the standard path: no format at all */
    for (size_t i = 1; i < hl_format_builtin_count(); i++) {
        struct hl_format *f = compile_named(hl_format_builtin_name(i));
        assert_non_null(f);
        assert_non_null(f->body);
        assert_non_null(f->sig_header);
        hl_format_free(f);
    }
}

static void test_stacksos_renders_seed_000(void **state)
{
    (void)state;
    struct hl_format *f = compile_named("stacksos");
    json_t *env = json_loads(ENV, 0, NULL);
    struct hl_template_ctx c = {.envelope = env, .delivery_id = "dlv_7", .webhook_id = "wh_3"};
    struct hl_buf b = HL_BUF_INIT;
    hl_template_render(f->body, &c, &b);
    assert_string_equal(hl_buf_str(&b),
                        "{\"id\":\"dlv_7\",\"event\":\"user.created\",\"tenantId\":\"acme\","
                        "\"requestId\":null,\"actorId\":123,"
                        "\"occurredAt\":\"2026-02-25T15:00:00.123Z\",\"payload\":{\"k\":1}}");
    hl_buf_clear(&b);
    hl_format_render_headers(f, &c, &b);
    assert_memory_equal(b.ptr, "x-stacksos-event: user.created\0x-stacksos-delivery-id: dlv_7\0",
                        b.len);
    hl_buf_clear(&b);
    hl_format_sign(f, "plain-shared-secret", 19, "{\"a\":1}", 7, &b);
    assert_string_equal(
        hl_buf_str(&b),
        "x-stacksos-signature: sha256=9313f9eb29eb40739d33d78331f6d4812d72927e7a560deae42b3bd0a2f58b7a");
    hl_buf_release(&b);
    json_decref(env);
    hl_format_free(f);
}

static void test_custom_base64_signature(void **state)
{
    (void)state;
    json_t *given = json_loads("{\"headers\":{\"X-Ev\":\"{{event}}\\r\\n{{tenant}}\"},"
                               "\"user_agent\":\"Acme/2\",\"signature\":{\"header\":\"X-Sig\","
                               "\"prefix\":\"\",\"encoding\":\"base64\"}}",
                               0, NULL);
    json_t *stored;
    struct hl_template_error e;
    assert_int_equal(hl_format_check(given, &stored, &e), HL_OK);
    struct hl_format *f;
    assert_int_equal(hl_format_compile(stored, &f, &e), HL_OK);
    assert_null(f->body);
    assert_string_equal(f->user_agent_line, "User-Agent: Acme/2");
    json_t *env = json_loads(ENV, 0, NULL);
    struct hl_template_ctx c = {.envelope = env};
    struct hl_buf b = HL_BUF_INIT;
    hl_format_render_headers(f, &c, &b);
    assert_string_equal(b.ptr, "X-Ev: user.created  acme"); /* CR LF cannot split the request */
    hl_buf_clear(&b);
    hl_format_sign(f, "plain-shared-secret", 19, "{\"a\":1}", 7, &b);
    assert_string_equal(hl_buf_str(&b), "X-Sig: kxP56ynrQHOdM9eDMfbUgS1ykn56Vg3q5Cs70KL1i3o=");
    hl_buf_release(&b);
    json_decref(env);
    hl_format_free(f);
    json_decref(stored);
    json_decref(given);
}

static void expect_bad(const char *given_text, const char *pointer, const char *detail_part)
{
    json_t *given = json_loads(given_text, JSON_DECODE_ANY, NULL);
    assert_non_null(given);
    json_t *stored = (void *)1;
    struct hl_template_error e;
    assert_int_equal(hl_format_check(given, &stored, &e), HL_EINVAL);
    assert_null(stored);
    assert_string_equal(e.pointer, pointer);
    if (!strstr(e.detail, detail_part))
        fail_msg("detail '%s' lacks '%s'", e.detail, detail_part);
    json_decref(given);
}

static void test_bad_formats(void **state)
{
    (void)state;
    expect_bad("\"nope\"", "", "no built-in format 'nope'");
    expect_bad("42", "", "must be a built-in");
    expect_bad("{\"name\":\"stacksos\",\"body\":{}}", "/name", "only 'secret'");
    expect_bad("{\"name\":\"standard\",\"secret\":\"12345678\"}", "/secret", "no signature");
    expect_bad("{\"name\":\"stacksos\",\"secret\":\"short\"}", "/secret", "8..512");
    expect_bad("{\"body\":{\"x\":[\"{{evnt}}\"]}}", "/body/x/0", "unknown placeholder");
    expect_bad("{\"headers\":{\"X-A\":\"{{data\"}}", "/headers/X-A", "unterminated");
    expect_bad("{\"headers\":{\"Content-Type\":\"x\"}}", "/headers/Content-Type", "set by Hookline");
    expect_bad("{\"headers\":{\"bad name\":\"x\"}}", "/headers/bad name", "not a valid header");
    expect_bad("{\"signature\":{\"prefix\":\"\"}}", "/signature/header", "required");
    expect_bad("{\"signature\":{\"header\":\"X-S\",\"encoding\":\"hex2\"}}", "/signature/encoding",
               "hex");
    expect_bad("{\"signature\":{\"header\":\"X-S\",\"key\":\"k\"}}", "/signature/key", "whsec");
    expect_bad("{\"headers\":{\"x-s\":\"a\"},\"signature\":{\"header\":\"X-S\"}}",
               "/signature/header", "also one of");
    expect_bad("{\"user_agent\":\"a\\nb\"}", "/user_agent", "printable");
    expect_bad("{\"bodyy\":{}}", "/bodyy", "unknown field");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins_compile),
        cmocka_unit_test(test_stacksos_renders_seed_000),
        cmocka_unit_test(test_custom_base64_signature),
        cmocka_unit_test(test_bad_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
