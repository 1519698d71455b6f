/* dispatcher/src/dp_signature.c: the headers of an attempt verify as a receiver checks
 * them (Standard Webhooks, both secrets during a rotation's overlap, the legacy form, the
 * outbound HMAC auth header), and nothing is added for a webhook that signs nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "dp_signature.h"
#include "hl/sign.h"

#define ID "msg_0123456789abcdef0123456789abcdef"
#define BODY "{\"event\":\"order.created\",\"data\":{\"n\":1}}"
#define NOW_MS INT64_C(1767225600123)

static const char *value(struct dp_headers *hd, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < hd->n; i++) {
        const char *line = dp_headers_at(hd, i);
        if (strncasecmp(line, name, n) == 0 && line[n] == ':')
            return line + n + 2;
    }
    return NULL;
}

static size_t count(struct dp_headers *hd)
{
    return hd->n;
}

static void secret(struct hl_secret *s, const char *text)
{
    char err[256];
    assert_int_equal(hl_whsec_decode(text, s, err, sizeof(err)), HL_OK);
}

static void standard_with_rotation(void **state)
{
    (void)state;
    char err[256];
    struct dp_webhook w;
    memset(&w, 0, sizeof(w));
    w.sig_standard = true;
    secret(&w.secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    secret(&w.previous_secret, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
    w.previous_secret_expires_ms = NOW_MS + 1000;
    struct dp_headers h = {0};
    dp_signature_headers(&w, ID, "order.created", BODY, strlen(BODY), NOW_MS, &h);
    assert_int_equal(count(&h), 3);
    assert_string_equal(value(&h, "webhook-id"), ID);
    assert_string_equal(value(&h, "webhook-timestamp"), "1767225600");
    const char *sig = value(&h, "webhook-signature");
    assert_non_null(sig);
    assert_non_null(strchr(sig, ' ')); /* two entries */
    assert_int_equal(hl_verify_v1(&w.secret, ID, "1767225600", sig, BODY, strlen(BODY),
                                  1767225600, 300, err, sizeof(err)),
                     HL_OK);
    assert_int_equal(hl_verify_v1(&w.previous_secret, ID, "1767225600", sig, BODY, strlen(BODY),
                                  1767225600, 300, err, sizeof(err)),
                     HL_OK);
    dp_headers_release(&h);

    /* after the overlap, the old secret no longer signs */
    dp_signature_headers(&w, ID, "order.created", BODY, strlen(BODY), NOW_MS + 1000, &h);
    sig = value(&h, "webhook-signature");
    assert_null(strchr(sig, ' '));
    assert_int_not_equal(hl_verify_v1(&w.previous_secret, ID, "1767225601", sig, BODY,
                                      strlen(BODY), 1767225601, 300, err, sizeof(err)),
                         HL_OK);
    dp_headers_release(&h);
}

static void legacy_and_hmac_auth(void **state)
{
    (void)state;
    char err[256];
    struct dp_webhook w;
    memset(&w, 0, sizeof(w));
    w.sig_legacy = true;
    w.legacy_header = "X-Signature";
    secret(&w.secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    char key[] = "plain shared secret";
    w.hmac_key = key;
    w.hmac_key_len = strlen(key);
    w.hmac_header = "X-Body-Hmac";
    struct dp_headers h = {0};
    dp_signature_headers(&w, ID, "order.created", BODY, strlen(BODY), NOW_MS, &h);
    assert_int_equal(count(&h), 5);
    assert_null(value(&h, "webhook-signature"));
    assert_int_equal(hl_verify_legacy(&w.secret, value(&h, "X-Signature"), BODY, strlen(BODY),
                                      err, sizeof(err)),
                     HL_OK);
    assert_string_equal(value(&h, "X-Webhook-Event"), "order.created");
    assert_string_equal(value(&h, "X-Webhook-Id"), ID);
    assert_string_equal(value(&h, "X-Webhook-Timestamp"), "1767225600");
    /* hmac.new(b"plain shared secret", BODY, hashlib.sha256).hexdigest() in Python */
    assert_string_equal(value(&h, "X-Body-Hmac"),
                        "sha256=c98e51f1f496e4059dc5758b072c901c85406c2bc170a58d23afe83da12b7aaf");
    dp_headers_release(&h);
}

static void nothing_to_sign(void **state)
{
    (void)state;
    struct dp_webhook w;
    memset(&w, 0, sizeof(w));
    struct dp_headers h = {0};
    dp_signature_headers(&w, ID, "order.created", BODY, strlen(BODY), NOW_MS, &h);
    assert_int_equal(count(&h), 0);
}

/* "name: value" lines of any length, in order; the list stays right when the storage grows
 * under it (more lines than the first allocation holds, a line longer than the text so far)
 * and when it is cleared and filled again, as a spare handle's list is. */
static void header_pairs(void **state)
{
    (void)state;
    char long_value[600];
    memset(long_value, 'v', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    struct dp_headers h = {0};
    for (int round = 0; round < 2; round++) {
        dp_header_pair(&h, "X-Short", "1");
        dp_header_pair(&h, "X-Long", long_value);
        dp_header_pair(&h, "X-Empty", "");
        for (int i = 0; i < 40; i++) {
            char name[16];
            snprintf(name, sizeof(name), "X-N%d", i);
            dp_header_line(&h, round ? "X-Again: yes" : "X-First: yes");
            dp_header_pair(&h, name, name);
        }
        assert_int_equal(count(&h), 83);
        assert_string_equal(dp_headers_at(&h, 0), "X-Short: 1");
        assert_string_equal(value(&h, "X-Long"), long_value);
        assert_string_equal(dp_headers_at(&h, 2), "X-Empty: ");
        assert_string_equal(dp_headers_at(&h, 3), round ? "X-Again: yes" : "X-First: yes");
        assert_string_equal(value(&h, "X-N39"), "X-N39");
        dp_headers_clear(&h);
        assert_int_equal(count(&h), 0);
    }
    dp_headers_release(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(standard_with_rotation),
        cmocka_unit_test(legacy_and_hmac_auth),
        cmocka_unit_test(nothing_to_sign),
        cmocka_unit_test(header_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
