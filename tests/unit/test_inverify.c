/* Incoming webhook verification: known-answer vectors computed independently with Python's
 * hmac module (GitHub's is also the example in GitHub's documentation), and the parsers'
 * handling of malformed, missing, stale and hostile headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hl/inverify.h"
#include "hl/sign.h"

#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY "Hello, World!"
#define GH_SIG "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

#define ST_SECRET "whsec_test_secret"
#define ST_BODY "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\"}"
#define ST_T 1700000000
#define ST_V1 "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31"

#define G_SECRET "generic-secret"
#define G_BODY "{\"hello\":\"world\"}"

static char err[256];

static hl_err hmac_check(const char *alg, const char *enc, const char *prefix, const char *key,
                         const char *header, const char *body)
{
    hl_hmac_alg a;
    hl_sig_encoding e;
    assert_int_equal(hl_hmac_alg_parse(alg, &a), HL_OK);
    assert_int_equal(hl_sig_encoding_parse(enc, &e), HL_OK);
    return hl_inverify_hmac(a, e, prefix, key, strlen(key), header, body, strlen(body), err,
                            sizeof(err));
}

static void test_github_documented_example(void **state)
{
    assert_int_equal(hmac_check("sha256", "hex", "sha256=", GH_SECRET, GH_SIG, GH_BODY), HL_OK);
    /* Hex in upper case is the same signature. */
    char upper[sizeof(GH_SIG)];
    memcpy(upper, GH_SIG, sizeof(GH_SIG));
    for (char *p = upper + 7; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_equal(hmac_check("sha256", "hex", "sha256=", GH_SECRET, upper, GH_BODY), HL_OK);
}

static void test_github_rejects_wrong_body_secret_prefix(void **state)
{
    assert_int_equal(hmac_check("sha256", "hex", "sha256=", GH_SECRET, GH_SIG, "Hello, World?"),
                     HL_EINVAL);
    assert_string_equal(err, "the signature does not match");
    assert_int_equal(hmac_check("sha256", "hex", "sha256=", "another secret", GH_SIG, GH_BODY),
                     HL_EINVAL);
    assert_int_equal(hmac_check("sha256", "hex", "sha256=", GH_SECRET, GH_SIG + 7, GH_BODY),
                     HL_EINVAL);
    assert_non_null(strstr(err, "prefix"));
    assert_int_equal(hmac_check("sha256", "hex", "sha256=", GH_SECRET, NULL, GH_BODY), HL_EINVAL);
    assert_non_null(strstr(err, "missing"));
    /* A truncated signature is not a shorter match. */
    char cut[sizeof(GH_SIG)];
    memcpy(cut, GH_SIG, sizeof(GH_SIG));
    cut[sizeof(GH_SIG) - 3] = '\0';
    assert_int_equal(hmac_check("sha256", "hex", "sha256=", GH_SECRET, cut, GH_BODY), HL_EINVAL);
    /* The error never echoes the header. */
    assert_null(strstr(err, "757107"));
}

static void test_generic_sha1_sha256_sha512_hex_and_base64(void **state)
{
    static const struct {
        const char *alg, *hex, *b64;
    } v[] = {
        {"sha1", "d13b163398f3ce4036675bf9e258b3fc86da67e4", "0TsWM5jzzkA2Z1v54liz/IbaZ+Q="},
        {"sha256", "9858e8fea916b4f991c984891b199af820f78dd387b5c596a48934a46b5d279a",
         "mFjo/qkWtPmRyYSJGxma+CD3jdOHtcWWpIk0pGtdJ5o="},
        {"sha512",
         "f44245550f122d366e7599dce23885ffe232c3302a486ba865c9ee322eb85534efc587933b009f3fc7c8"
         "4ee323ed893c346f1f1ba24d4e0287b6a1d5fdc4caf9",
         "9EJFVQ8SLTZudZnc4jiF/+IywzAqSGuoZcnuMi64VTTvxYeTOwCfP8fITuMj7Yk8NG8fG6JNTgKHtqHV/"
         "cTK+Q=="},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(hmac_check(v[i].alg, "hex", NULL, G_SECRET, v[i].hex, G_BODY), HL_OK);
        assert_int_equal(hmac_check(v[i].alg, "base64", "", G_SECRET, v[i].b64, G_BODY), HL_OK);
        /* Surrounding spaces are not part of the signature. */
        char spaced[256];
        snprintf(spaced, sizeof(spaced), "  %s\t", v[i].b64);
        assert_int_equal(hmac_check(v[i].alg, "base64", "", G_SECRET, spaced, G_BODY), HL_OK);
        /* The wrong algorithm's MAC of the same body does not pass. */
        size_t j = (i + 1) % 3;
        assert_int_equal(hmac_check(v[j].alg, "hex", NULL, G_SECRET, v[i].hex, G_BODY),
                         HL_EINVAL);
        /* Nor does the right MAC in the wrong encoding. */
        assert_int_equal(hmac_check(v[i].alg, "base64", NULL, G_SECRET, v[i].hex, G_BODY),
                         HL_EINVAL);
    }
    /* Base64 padding is optional, but must be right when present. */
    assert_int_equal(hmac_check("sha1", "base64", NULL, G_SECRET, "0TsWM5jzzkA2Z1v54liz/IbaZ+Q",
                                G_BODY),
                     HL_OK);
    assert_int_equal(hmac_check("sha1", "base64", NULL, G_SECRET, "0TsWM5jzzkA2Z1v54liz/IbaZ+Q==",
                                G_BODY),
                     HL_EINVAL);
    assert_int_equal(hmac_check("sha256", "base64", "v1=", G_SECRET,
                                "v1=mFjo/qkWtPmRyYSJGxma+CD3jdOHtcWWpIk0pGtdJ5o=", G_BODY),
                     HL_OK);
}

static void test_sig_decode_rejects_malformed(void **state)
{
    unsigned char out[HL_HMAC_MAX];
    size_t n;
    static const char *const bad_hex[] = {"", "a", "abc", "zz", "0x12", "12 34", "sha256="};
    for (size_t i = 0; i < sizeof(bad_hex) / sizeof(bad_hex[0]); i++)
        assert_int_equal(hl_sig_decode(bad_hex[i], NULL, HL_SIGENC_HEX, out, sizeof(out), &n, err,
                                       sizeof(err)),
                         HL_EINVAL);
    static const char *const bad_b64[] = {"", "A", "A===", "AB=C", "AB-_", "QQ=", "QR==", "====",
                                          "QUJD RA=="};
    for (size_t i = 0; i < sizeof(bad_b64) / sizeof(bad_b64[0]); i++)
        assert_int_equal(hl_sig_decode(bad_b64[i], NULL, HL_SIGENC_BASE64, out, sizeof(out), &n,
                                       err, sizeof(err)),
                         HL_EINVAL);
    /* Longer than the output: refused, not truncated. */
    char big[2 * HL_HMAC_MAX + 3];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(hl_sig_decode(big, NULL, HL_SIGENC_HEX, out, sizeof(out), &n, err,
                                   sizeof(err)),
                     HL_EINVAL);
    assert_int_equal(hl_sig_decode("QUJD", NULL, HL_SIGENC_BASE64, out, sizeof(out), &n, err,
                                   sizeof(err)),
                     HL_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "ABC", 3);
    assert_int_equal(hl_sig_decode("QQ==", NULL, HL_SIGENC_BASE64, out, sizeof(out), &n, err,
                                   sizeof(err)),
                     HL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 'A');
}

static hl_err stripe(const char *header, const char *body, int64_t now)
{
    return hl_inverify_stripe(ST_SECRET, strlen(ST_SECRET), header, body, strlen(body), now,
                              HL_STRIPE_TOLERANCE_S, err, sizeof(err));
}

static void test_stripe_known_answer(void **state)
{
    assert_int_equal(stripe("t=1700000000,v1=" ST_V1, ST_BODY, ST_T + 10), HL_OK);
    /* During a secret roll Stripe sends one v1 per secret, plus a v0 test scheme. */
    assert_int_equal(stripe("t=1700000000,v1=" "00000000000000000000000000000000"
                            "00000000000000000000000000000000,v1=" ST_V1 ",v0=abc",
                            ST_BODY, ST_T),
                     HL_OK);
    assert_int_equal(stripe(" t=1700000000 , v1=" ST_V1 " ", ST_BODY, ST_T), HL_OK);
}

static void test_stripe_rejects_wrong_stale_and_malformed(void **state)
{
    assert_int_equal(stripe("t=1700000000,v1=" ST_V1, "{}", ST_T), HL_EINVAL);
    assert_string_equal(err, "no v1 signature matches");
    /* The timestamp is signed: changing it breaks the signature. */
    assert_int_equal(stripe("t=1700000001,v1=" ST_V1, ST_BODY, ST_T), HL_EINVAL);
    /* Correct but stale, or too far in the future. */
    assert_int_equal(stripe("t=1700000000,v1=" ST_V1, ST_BODY, ST_T + 301), HL_EINVAL);
    assert_non_null(strstr(err, "tolerance"));
    assert_int_equal(stripe("t=1700000000,v1=" ST_V1, ST_BODY, ST_T - 301), HL_EINVAL);
    assert_int_equal(stripe("t=1700000000,v1=" ST_V1, ST_BODY, ST_T + 300), HL_OK);

    static const char *const bad[] = {
        "", "t=1700000000", "v1=" ST_V1, "t=,v1=" ST_V1, "t=-5,v1=" ST_V1,
        "t=17e8,v1=" ST_V1, "t=1,t=2,v1=" ST_V1, "t=1700000000,v1=" ST_V1 ",garbage",
        "t=1700000000,v1=abc", "t=99999999999999999999,v1=" ST_V1,
    };
    struct hl_stripe_sig sig;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hl_stripe_parse(bad[i], &sig, err, sizeof(err)), HL_EINVAL);
    assert_int_equal(hl_stripe_parse(NULL, &sig, err, sizeof(err)), HL_EINVAL);

    /* More v1 entries than considered: refused rather than partly checked. */
    char many[2048] = "t=1";
    for (int i = 0; i <= HL_STRIPE_MAX_SIGS; i++)
        strncat(many, ",v1=" ST_V1, sizeof(many) - strlen(many) - 1);
    assert_int_equal(hl_stripe_parse(many, &sig, err, sizeof(err)), HL_EINVAL);

    assert_int_equal(hl_stripe_parse("t=1700000000,v1=" ST_V1, &sig, err, sizeof(err)), HL_OK);
    assert_int_equal(sig.t, ST_T);
    assert_int_equal(sig.nv1, 1);
    assert_int_equal(sig.v1[0][0], 0x22);
}

static void test_standard_webhooks_spec_example(void **state)
{
    const char *body = "{\"test\": 2432232314}";
    const char *sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert_int_equal(hl_inverify_standard(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                                          sig, body, strlen(body), 1614265330, 300, err,
                                          sizeof(err)),
                     HL_OK);
    assert_int_equal(hl_inverify_standard(secret, "msg_other", "1614265330", sig, body,
                                          strlen(body), 1614265330, 300, err, sizeof(err)),
                     HL_EINVAL);
    assert_int_equal(hl_inverify_standard(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                                          sig, body, strlen(body), 1614265330 + 301, 300, err,
                                          sizeof(err)),
                     HL_EINVAL);
    assert_int_equal(hl_inverify_standard(secret, NULL, "1614265330", sig, body, strlen(body),
                                          1614265330, 300, err, sizeof(err)),
                     HL_EINVAL);
}

static void test_basic_auth(void **state)
{
    char user[64], pass[64];
    /* base64("alice:s3cr:et"): the password may contain ':' */
    assert_int_equal(hl_basic_parse("Basic YWxpY2U6czNjcjpldA==", user, sizeof(user), pass,
                                    sizeof(pass), err, sizeof(err)),
                     HL_OK);
    assert_string_equal(user, "alice");
    assert_string_equal(pass, "s3cr:et");
    assert_int_equal(hl_inverify_basic("basic YWxpY2U6czNjcjpldA==", "alice", "s3cr:et", err,
                                       sizeof(err)),
                     HL_OK);
    assert_int_equal(hl_inverify_basic("Basic YWxpY2U6czNjcjpldA==", "alice", "s3cr:eT", err,
                                       sizeof(err)),
                     HL_EINVAL);
    assert_int_equal(hl_inverify_basic("Basic YWxpY2U6czNjcjpldA==", "alicf", "s3cr:et", err,
                                       sizeof(err)),
                     HL_EINVAL);
    static const char *const bad[] = {"Bearer YWxpY2U6czNjcjpldA==", "Basic", "Basic ",
                                      "Basic !!!!", "Basic YWxpY2U=" /* no colon */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hl_inverify_basic(bad[i], "alice", "s3cr:et", err, sizeof(err)),
                         HL_EINVAL);
    assert_int_equal(hl_inverify_basic(NULL, "alice", "s3cr:et", err, sizeof(err)), HL_EINVAL);
    /* Credentials longer than the caller's buffers are refused, not truncated. */
    assert_int_equal(hl_basic_parse("Basic YWxpY2U6czNjcjpldA==", user, 3, pass, sizeof(pass),
                                    err, sizeof(err)),
                     HL_EINVAL);
}

static void test_api_key(void **state)
{
    assert_int_equal(hl_inverify_api_key("k-123456", "k-123456", err, sizeof(err)), HL_OK);
    assert_int_equal(hl_inverify_api_key(" k-123456 ", "k-123456", err, sizeof(err)), HL_OK);
    assert_int_equal(hl_inverify_api_key("k-12345", "k-123456", err, sizeof(err)), HL_EINVAL);
    assert_int_equal(hl_inverify_api_key("k-1234567", "k-123456", err, sizeof(err)), HL_EINVAL);
    assert_int_equal(hl_inverify_api_key(NULL, "k-123456", err, sizeof(err)), HL_EINVAL);
    assert_true(hl_secret_equal("abc", 3, "abc", 3));
    assert_false(hl_secret_equal("abc", 3, "abd", 3));
    assert_false(hl_secret_equal("abc", 3, "abc", 2));
}

static void test_alg_and_encoding_names(void **state)
{
    hl_hmac_alg a;
    hl_sig_encoding e;
    assert_int_equal(hl_hmac_alg_parse("md5", &a), HL_EINVAL);
    assert_int_equal(hl_hmac_alg_parse("SHA256", &a), HL_EINVAL);
    assert_int_equal(hl_sig_encoding_parse("base32", &e), HL_EINVAL);
    assert_int_equal(hl_hmac_alg_parse("sha512", &a), HL_OK);
    assert_int_equal(hl_hmac_len(a), 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_github_documented_example),
        cmocka_unit_test(test_github_rejects_wrong_body_secret_prefix),
        cmocka_unit_test(test_generic_sha1_sha256_sha512_hex_and_base64),
        cmocka_unit_test(test_sig_decode_rejects_malformed),
        cmocka_unit_test(test_stripe_known_answer),
        cmocka_unit_test(test_stripe_rejects_wrong_stale_and_malformed),
        cmocka_unit_test(test_standard_webhooks_spec_example),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_api_key),
        cmocka_unit_test(test_alg_and_encoding_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
