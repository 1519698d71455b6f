/* Standard Webhooks v1a (ed25519): the reference libraries' published vector, key formats,
 * and the receiver-side rules (round trip, tamper, wrong key, tolerance, rotation lists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hl/sign.h"

/* The vector of standard-webhooks' Go library (TestAsymmetricWebhookSign), recomputed
 * independently with Python's `cryptography` (Ed25519PrivateKey.from_private_bytes). */
#define VEC_SK "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
#define VEC_PK "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g="
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG                                                                                    \
    "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="

static struct hl_v1a_key vec_key(void)
{
    struct hl_v1a_key k;
    char err[128];
    assert_int_equal(hl_whsk_decode(VEC_SK, &k, err, sizeof(err)), HL_OK);
    return k;
}

static hl_err verify(const unsigned char pub[32], const char *sig, const char *body,
                     int64_t now)
{
    char err[128];
    return hl_verify_v1a(pub, VEC_ID, "1614265330", sig, body, strlen(body), now, 300, err,
                         sizeof(err));
}

static void test_sign_matches_reference_vector(void **state)
{
    struct hl_v1a_key k = vec_key();
    char sig[HL_SIG_V1A_LEN], pk[HL_V1A_KEY_LEN];
    hl_sign_v1a(&k, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig);
    assert_string_equal(sig, VEC_SIG);
    hl_whpk_encode(&k, pk);
    assert_string_equal(pk, VEC_PK);
}

static void test_verify_round_trip_tamper_and_tolerance(void **state)
{
    unsigned char pub[32];
    char err[128];
    assert_int_equal(hl_whpk_decode(VEC_PK, pub, err, sizeof(err)), HL_OK);
    assert_int_equal(verify(pub, VEC_SIG, VEC_BODY, VEC_TS + 10), HL_OK);
    assert_int_equal(verify(pub, VEC_SIG, "{\"test\": 2432232315}", VEC_TS), HL_EINVAL);
    assert_int_equal(verify(pub, VEC_SIG, VEC_BODY, VEC_TS + 301), HL_EINVAL);
    /* one flipped signature character */
    char bad[] = VEC_SIG;
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(pub, bad, VEC_BODY, VEC_TS), HL_EINVAL);
    /* a v1 entry carrying the same bytes is not a v1a signature */
    assert_int_equal(verify(pub, VEC_SIG + 1, VEC_BODY, VEC_TS), HL_EINVAL);
}

static void test_generated_keys_sign_and_verify_only_with_their_pair(void **state)
{
    char sk1[HL_V1A_KEY_LEN], pk1[HL_V1A_KEY_LEN], sk2[HL_V1A_KEY_LEN], pk2[HL_V1A_KEY_LEN];
    char sig1[HL_SIG_V1A_LEN], sig2[HL_SIG_V1A_LEN], both[2 * HL_SIG_V1A_LEN + 8], err[128];
    struct hl_v1a_key k1, k2;
    unsigned char pub1[32], pub2[32];
    hl_v1a_generate(sk1, pk1);
    hl_v1a_generate(sk2, pk2);
    assert_memory_equal(sk1, "whsk_", 5);
    assert_memory_equal(pk1, "whpk_", 5);
    assert_string_not_equal(sk1, sk2);
    assert_int_equal(hl_whsk_decode(sk1, &k1, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_whsk_decode(sk2, &k2, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_whpk_decode(pk1, pub1, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_whpk_decode(pk2, pub2, err, sizeof(err)), HL_OK);
    assert_memory_equal(k1.pub, pub1, 32); /* the public key derives from the private one */

    hl_sign_v1a(&k1, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig1);
    hl_sign_v1a(&k2, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig2);
    assert_int_equal(verify(pub1, sig1, VEC_BODY, VEC_TS), HL_OK);
    assert_int_equal(verify(pub2, sig1, VEC_BODY, VEC_TS), HL_EINVAL); /* wrong key */
    /* during a rotation the header lists both; either public key verifies */
    snprintf(both, sizeof(both), "v1,abc= %s %s", sig2, sig1);
    assert_int_equal(verify(pub1, both, VEC_BODY, VEC_TS), HL_OK);
    assert_int_equal(verify(pub2, both, VEC_BODY, VEC_TS), HL_OK);
}

static void test_bad_keys_are_refused(void **state)
{
    struct hl_v1a_key k;
    unsigned char pub[32];
    char err[128];
    assert_int_equal(hl_whsk_decode(VEC_PK, &k, err, sizeof(err)), HL_EINVAL);
    assert_int_equal(hl_whsk_decode("whsk_c2hvcnQ=", &k, err, sizeof(err)), HL_EINVAL);
    assert_int_equal(hl_whpk_decode(VEC_SK, pub, err, sizeof(err)), HL_EINVAL);
    assert_int_equal(hl_whpk_decode("whpk_!!!!", pub, err, sizeof(err)), HL_EINVAL);
    assert_int_equal(verify(pub, "", VEC_BODY, VEC_TS), HL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_matches_reference_vector),
        cmocka_unit_test(test_verify_round_trip_tamper_and_tolerance),
        cmocka_unit_test(test_generated_keys_sign_and_verify_only_with_their_pair),
        cmocka_unit_test(test_bad_keys_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
