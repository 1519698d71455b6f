/* Signing: the Standard Webhooks spec's published example, legacy hex signatures, secret
 * parsing, and the receiver-side verification rules (tolerance, rotation lists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/sign.h"

/* From the Standard Webhooks specification's example. */
#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS 1614265330
#define SPEC_BODY "{\"test\": 2432232314}"
#define SPEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static struct hl_secret spec_secret(void)
{
    struct hl_secret s;
    char err[128];
    assert_int_equal(hl_whsec_decode(SPEC_SECRET, &s, err, sizeof(err)), HL_OK);
    return s;
}

static void test_v1_matches_spec_example(void **state)
{
    struct hl_secret s = spec_secret();
    char sig[HL_SIG_V1_LEN];
    assert_int_equal(s.len, 24);
    hl_sign_v1(&s, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), sig);
    assert_string_equal(sig, SPEC_SIG);
}

static void test_legacy_is_hex_hmac_of_body(void **state)
{
    struct hl_secret s = spec_secret();
    char sig[HL_SIG_LEGACY_LEN];
    hl_sign_legacy(&s, SPEC_BODY, strlen(SPEC_BODY), sig);
    /* Computed independently with Python's hmac module. */
    assert_string_equal(sig,
                        "sha256=e2cb4f5251572539d458bfb8a7adb533b08801e6a794467e06f771debbb0818b");
}

static void test_verify_accepts_spec_example_within_tolerance(void **state)
{
    struct hl_secret s = spec_secret();
    char err[128];
    assert_int_equal(hl_verify_v1(&s, SPEC_ID, "1614265330", SPEC_SIG, SPEC_BODY,
                                  strlen(SPEC_BODY), SPEC_TS + 10, 300, err, sizeof(err)),
                     HL_OK);
}

static void test_verify_rejects_stale_timestamp(void **state)
{
    struct hl_secret s = spec_secret();
    char err[128];
    assert_int_equal(hl_verify_v1(&s, SPEC_ID, "1614265330", SPEC_SIG, SPEC_BODY,
                                  strlen(SPEC_BODY), SPEC_TS + 301, 300, err, sizeof(err)),
                     HL_EINVAL);
    assert_non_null(strstr(err, "tolerance"));
}

static void test_verify_rejects_tampered_body(void **state)
{
    struct hl_secret s = spec_secret();
    char err[128];
    const char *body = "{\"test\": 2432232315}";
    assert_int_equal(hl_verify_v1(&s, SPEC_ID, "1614265330", SPEC_SIG, body, strlen(body),
                                  SPEC_TS, 300, err, sizeof(err)),
                     HL_EINVAL);
}

static void test_verify_finds_match_in_rotation_list(void **state)
{
    struct hl_secret s = spec_secret();
    char err[128];
    const char *header = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SPEC_SIG " v1a,xyz";
    assert_int_equal(hl_verify_v1(&s, SPEC_ID, "1614265330", header, SPEC_BODY,
                                  strlen(SPEC_BODY), SPEC_TS, 300, err, sizeof(err)),
                     HL_OK);
}

static void test_verify_legacy(void **state)
{
    struct hl_secret s = spec_secret();
    char sig[HL_SIG_LEGACY_LEN], err[128];
    hl_sign_legacy(&s, "abc", 3, sig);
    assert_int_equal(hl_verify_legacy(&s, sig, "abc", 3, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_verify_legacy(&s, sig, "abd", 3, err, sizeof(err)), HL_EINVAL);
    assert_int_equal(hl_verify_legacy(&s, NULL, "abc", 3, err, sizeof(err)), HL_EINVAL);
}

static void test_generated_secret_round_trips(void **state)
{
    char a[HL_WHSEC_MAX_LEN], b[HL_WHSEC_MAX_LEN], err[128];
    struct hl_secret s;
    hl_whsec_generate(a);
    hl_whsec_generate(b);
    assert_int_equal(strncmp(a, "whsec_", 6), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(hl_whsec_decode(a, &s, err, sizeof(err)), HL_OK);
    assert_int_equal(s.len, HL_SECRET_GEN_BYTES);
}

static void test_bad_secrets_are_refused(void **state)
{
    struct hl_secret s;
    char err[128];
    assert_int_equal(hl_whsec_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &s, err, sizeof(err)),
                     HL_EINVAL); /* no prefix */
    assert_int_equal(hl_whsec_decode("whsec_not base64!", &s, err, sizeof(err)), HL_EINVAL);
    assert_int_equal(hl_whsec_decode("whsec_c2hvcnQ=", &s, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "24..64"));
}

static void test_ct_equal(void **state)
{
    assert_true(hl_ct_equal("abc", 3, "abc", 3));
    assert_false(hl_ct_equal("abc", 3, "abd", 3));
    assert_false(hl_ct_equal("abc", 3, "abcd", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_matches_spec_example),
        cmocka_unit_test(test_legacy_is_hex_hmac_of_body),
        cmocka_unit_test(test_verify_accepts_spec_example_within_tolerance),
        cmocka_unit_test(test_verify_rejects_stale_timestamp),
        cmocka_unit_test(test_verify_rejects_tampered_body),
        cmocka_unit_test(test_verify_finds_match_in_rotation_list),
        cmocka_unit_test(test_verify_legacy),
        cmocka_unit_test(test_generated_secret_round_trips),
        cmocka_unit_test(test_bad_secrets_are_refused),
        cmocka_unit_test(test_ct_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
