/* Secrets at rest: ring parsing, AES-256-GCM sealing against an independent implementation
 * (Python's `cryptography`), AAD binding, tamper detection and master key rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl/keyring.h"

#define K1 "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
/* AESGCM(bytes(range(32))).encrypt(bytes(range(100, 112)), b"whsec_hello",
 * b"webhook.secret:wh_1"), nonce prepended, computed with Python's cryptography. */
#define K1_SEALED "hlenc:v1:k1:ZGVmZ2hpamtsbW5vP3OtAxq2PvtSDjBEslaXtnPP93mOoZuS7F+Q"

static void ring(struct hl_keyring *kr, const char *text)
{
    char err[128];
    assert_int_equal(hl_keyring_parse(kr, text, err, sizeof err), HL_OK);
}

static void test_opens_value_sealed_elsewhere(void **state)
{
    (void)state;
    struct hl_keyring kr;
    struct hl_buf out = HL_BUF_INIT;
    char err[128];
    ring(&kr, K1);
    assert_int_equal(hl_keyring_open(&kr, "webhook.secret:wh_1", K1_SEALED, &out, err, sizeof err),
                     HL_OK);
    assert_string_equal(hl_buf_str(&out), "whsec_hello");
    hl_buf_release(&out);
    hl_keyring_release(&kr);
}

static void test_seal_open_round_trip_with_fresh_nonces(void **state)
{
    (void)state;
    struct hl_keyring kr;
    struct hl_buf out = HL_BUF_INIT;
    char err[128];
    ring(&kr, K1);
    char *a = hl_keyring_seal(&kr, "ctx", "secret value", 12);
    char *b = hl_keyring_seal(&kr, "ctx", "secret value", 12);
    assert_true(hl_sealed_is(a));
    assert_non_null(strstr(a, "hlenc:v1:k1:"));
    assert_null(strstr(a, "secret value"));
    assert_string_not_equal(a, b); /* a fresh nonce per seal */
    assert_int_equal(hl_keyring_open(&kr, "ctx", a, &out, err, sizeof err), HL_OK);
    assert_int_equal(out.len, 12);
    assert_string_equal(hl_buf_str(&out), "secret value");
    char *empty = hl_keyring_seal(&kr, "ctx", "", 0);
    assert_int_equal(hl_keyring_open(&kr, "ctx", empty, &out, err, sizeof err), HL_OK);
    assert_int_equal(out.len, 0);
    free(a);
    free(b);
    free(empty);
    hl_buf_release(&out);
    hl_keyring_release(&kr);
}

static void test_wrong_context_or_tampering_fails(void **state)
{
    (void)state;
    struct hl_keyring kr;
    struct hl_buf out = HL_BUF_INIT;
    char err[128];
    ring(&kr, K1);
    assert_int_equal(hl_keyring_open(&kr, "webhook.secret:wh_2", K1_SEALED, &out, err, sizeof err),
                     HL_EINVAL);
    assert_string_equal(err, "sealed value failed authentication");
    char tampered[] = K1_SEALED;
    tampered[strlen(tampered) - 3] ^= 1; /* a bit of the tag */
    assert_int_equal(hl_keyring_open(&kr, "webhook.secret:wh_1", tampered, &out, err, sizeof err),
                     HL_EINVAL);
    assert_int_equal(hl_keyring_open(&kr, "x", "whsec_plain", &out, err, sizeof err), HL_EINVAL);
    assert_string_equal(err, "value is not sealed");
    assert_int_equal(hl_keyring_open(&kr, "x", "hlenc:v1:k1:AAAA", &out, err, sizeof err),
                     HL_EINVAL);
    assert_string_equal(err, "sealed value is malformed");
    hl_buf_release(&out);
    hl_keyring_release(&kr);
}

static void test_rotation_old_keys_open_new_key_seals(void **state)
{
    (void)state;
    struct hl_keyring old_ring, new_ring, only_new;
    struct hl_buf out = HL_BUF_INIT;
    char err[128], entry[HL_KEYRING_ENTRY_MAX], text[256];
    ring(&old_ring, K1);
    hl_keyring_generate_entry("k2", entry);
    snprintf(text, sizeof text, "# rotated\n%s\n%s\n", entry, K1);
    ring(&new_ring, text);
    ring(&only_new, entry);

    char *under_k1 = hl_keyring_seal(&old_ring, "ctx", "v", 1);
    assert_false(hl_sealed_needs_reseal(&old_ring, under_k1));
    assert_true(hl_sealed_needs_reseal(&new_ring, under_k1));
    assert_int_equal(hl_keyring_open(&new_ring, "ctx", under_k1, &out, err, sizeof err), HL_OK);
    char *under_k2 = hl_keyring_seal(&new_ring, "ctx", out.ptr, out.len);
    assert_non_null(strstr(under_k2, "hlenc:v1:k2:"));
    assert_false(hl_sealed_needs_reseal(&new_ring, under_k2));
    assert_int_equal(hl_keyring_open(&only_new, "ctx", under_k2, &out, err, sizeof err), HL_OK);
    assert_string_equal(hl_buf_str(&out), "v");
    assert_int_equal(hl_keyring_open(&only_new, "ctx", under_k1, &out, err, sizeof err), HL_EINVAL);
    assert_string_equal(err, "value is sealed under a master key id not in the ring");
    char id[HL_KEYRING_ID_MAX + 1];
    assert_true(hl_sealed_key_id(under_k1, id));
    assert_string_equal(id, "k1");
    assert_true(hl_sealed_key_id(under_k2, id));
    assert_string_equal(id, "k2");
    assert_false(hl_sealed_key_id("plain", id));
    assert_false(hl_sealed_key_id("hlenc:v1:no-colon-after-id", id));
    assert_false(hl_sealed_key_id("hlenc:v1::x", id));
    assert_false(hl_sealed_key_id("hlenc:v1:k12345678901234567890123456789012:x", id));
    free(under_k1);
    free(under_k2);
    hl_buf_release(&out);
    hl_keyring_release(&old_ring);
    hl_keyring_release(&new_ring);
    hl_keyring_release(&only_new);
}

static void test_malformed_rings_are_refused_without_echoing_keys(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "# only a comment\n",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",   /* no id */
        ":AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",  /* empty id */
        "k 1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", /* space splits it */
        "k!:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", /* 31 bytes */
        "k1:not base64 at all",
        K1 "," K1, /* duplicate id */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct hl_keyring kr;
        char err[128] = "";
        assert_int_equal(hl_keyring_parse(&kr, bad[i], err, sizeof err), HL_EINVAL);
        assert_true(err[0] != '\0');
        assert_null(strstr(err, "AAECAwQF"));
    }
    struct hl_keyring kr;
    char err[256];
    assert_int_equal(hl_keyring_load(&kr, NULL, NULL, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "no master key"));
    assert_int_equal(hl_keyring_load(&kr, "", "/nonexistent/key", err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "/nonexistent/key"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opens_value_sealed_elsewhere),
        cmocka_unit_test(test_seal_open_round_trip_with_fresh_nonces),
        cmocka_unit_test(test_wrong_context_or_tampering_fails),
        cmocka_unit_test(test_rotation_old_keys_open_new_key_seals),
        cmocka_unit_test(test_malformed_rings_are_refused_without_echoing_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
