/* Incoming webhook verification: the schemes by which other services sign the webhooks they
 * send to a Hookline source (POST /api/v1/incoming/{source id}).
 *
 *   generic HMAC       <header>: [prefix]<hex|base64 of HMAC-SHA1/256/512(secret, body)>
 *   GitHub             X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>
 *   Stripe             Stripe-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "t.body")>[,v1=...]
 *   Standard Webhooks  webhook-id / webhook-timestamp / webhook-signature (hl/sign.h)
 *   basic auth         Authorization: Basic <base64 of user:password>
 *   API key            <header>: <key>
 *
 * The secret is used as the bytes of its text (GitHub, Stripe, generic HMAC: Stripe's
 * "whsec_..." is NOT base64-decoded, unlike a Standard Webhooks secret).
 *
 * Every comparison of a MAC or a credential is constant-time, and every candidate signature
 * is compared (no early exit), so timing tells an attacker nothing. Error messages describe
 * what was wrong with a header, never its value or the expected one. The parsers are pure
 * functions on untrusted text: tests/fuzz/fuzz_incoming_sig.c feeds them.
 *
 * @locality any thread. */
#ifndef HL_INVERIFY_H
#define HL_INVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/err.h"
#include "hl/sign.h" /* hl_hmac, hl_base64_decode */

#define HL_SIG_HEADER_MAX 1024 /* longer signature headers are refused unparsed */
#define HL_STRIPE_MAX_SIGS 8   /* v1 entries considered in one Stripe-Signature */
#define HL_STRIPE_TOLERANCE_S 300

typedef enum { HL_SIGENC_HEX, HL_SIGENC_BASE64 } hl_sig_encoding;

/* "hex", "base64" (HL_EINVAL otherwise). */
hl_err hl_sig_encoding_parse(const char *name, hl_sig_encoding *out);

/* Decodes a signature header value: surrounding spaces and tabs are ignored; a non-empty
 * prefix must be present (compared exactly) and is stripped; the rest is hex (either case)
 * or standard base64 (padding optional). Writes the bytes to out (at most outcap) and their
 * number to *outlen. */
hl_err hl_sig_decode(const char *value, const char *prefix, hl_sig_encoding enc,
                     unsigned char *out, size_t outcap, size_t *outlen, char *errbuf,
                     size_t errlen);

/* Generic HMAC over the raw body, as decoded by hl_sig_decode. header may be NULL (missing).
 * GitHub is (HL_HMAC_SHA256, HL_SIGENC_HEX, "sha256="). */
hl_err hl_inverify_hmac(hl_hmac_alg alg, hl_sig_encoding enc, const char *prefix,
                        const void *key, size_t keylen, const char *header, const void *body,
                        size_t body_len, char *errbuf, size_t errlen);

struct hl_stripe_sig {
    int64_t t;
    size_t nv1;
    unsigned char v1[HL_STRIPE_MAX_SIGS][32];
};

/* Parses a Stripe-Signature value: comma-separated key=value items (spaces around items
 * ignored). Exactly one t (decimal Unix seconds) and at least one well-formed v1 (64 hex
 * digits) are required; malformed v1 entries and other schemes (v0) are skipped; more than
 * HL_STRIPE_MAX_SIGS v1 entries are refused. */
hl_err hl_stripe_parse(const char *header, struct hl_stripe_sig *out, char *errbuf,
                       size_t errlen);
/* Verifies a Stripe-Signature: some v1 equals HMAC-SHA256(key, "<t>.<body>") and t is
 * within tolerance_s of now_s (either way). */
hl_err hl_inverify_stripe(const void *key, size_t keylen, const char *header, const void *body,
                          size_t body_len, int64_t now_s, int64_t tolerance_s, char *errbuf,
                          size_t errlen);

/* Verifies Standard Webhooks headers with a "whsec_..." secret (hl_verify_v1). */
hl_err hl_inverify_standard(const char *whsec, const char *msg_id, const char *timestamp,
                            const char *sig_header, const void *body, size_t body_len,
                            int64_t now_s, int64_t tolerance_s, char *errbuf, size_t errlen);

/* Parses "Basic <base64 of user:password>" (scheme case-insensitive). user and password are
 * written NUL-terminated; both must fit their buffers, and user must not contain NUL. */
hl_err hl_basic_parse(const char *authorization, char *user, size_t usercap, char *password,
                      size_t passcap, char *errbuf, size_t errlen);
/* Verifies basic auth against the expected credentials (compared constant-time). */
hl_err hl_inverify_basic(const char *authorization, const char *user, const char *password,
                         char *errbuf, size_t errlen);

/* Verifies an API key header value (NULL when missing) against the expected key. */
hl_err hl_inverify_api_key(const char *header, const char *key, char *errbuf, size_t errlen);

/* Constant-time equality that hides the lengths too: both sides are hashed (SHA-256) and
 * the digests compared. For credentials whose length is itself a secret. */
bool hl_secret_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
