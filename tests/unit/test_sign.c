/* Signing: the Standard Webhooks spec's published example, legacy hex signatures, secret
 * parsing, and the receiver-side verification rules (tolerance, rotation lists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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

/* hl_hmac keeps keyed contexts per thread (8 of them): with more keys than that in turn,
 * sizes up to past the cached limit, split messages, and every algorithm, each MAC must
 * equal OpenSSL's one-shot HMAC of the same key and message. */
static void test_hmac_with_cached_keys_equals_one_shot(void **state)
{
    (void)state;
    static const hl_hmac_alg algs[] = {HL_HMAC_SHA1, HL_HMAC_SHA256, HL_HMAC_SHA512};
    const EVP_MD *mds[] = {EVP_sha1(), EVP_sha256(), EVP_sha512()};
    unsigned char key[200];
    char msg[300];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(i * 7 + 3);
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (char)('a' + i % 26);
    for (int round = 0; round < 3; round++) {
        for (size_t k = 0; k < 12; k++) {
            size_t keylen = k == 11 ? 150 : k * 5; /* 0 (empty key) ... 50, and one too long */
            size_t alg = (k + (size_t)round) % 3;
            size_t split = 17 + k;
            const void *parts[] = {msg, msg + split};
            const size_t lens[] = {split, sizeof(msg) - split};
            unsigned char got[HL_HMAC_MAX], want[EVP_MAX_MD_SIZE];
            unsigned int wantlen = 0;
            size_t n = hl_hmac(algs[alg], key + k, keylen, parts, lens, 2, got);
            HMAC(mds[alg], key + k, (int)keylen, (const unsigned char *)msg, sizeof(msg), want,
                 &wantlen);
            assert_int_equal(n, wantlen);
            assert_memory_equal(got, want, n);
        }
    }
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
        cmocka_unit_test(test_hmac_with_cached_keys_equals_one_shot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
