/* Webhook signing and verification.
 *
 * Standard Webhooks v1: HMAC-SHA256 over "<msg id>.<unix seconds>.<body>", keyed with the
 * base64-decoded part of a `whsec_` secret, sent as "v1,<base64>" (several space-separated
 * entries during secret rotation). Legacy form: "sha256=<hex HMAC-SHA256 of the body>".
 *
 * Standard Webhooks v1a (asymmetric): an ed25519 signature over the same content, sent as
 * "v1a,<base64 of 64 bytes>". Keys as the reference libraries write them: the private key
 * "whsk_<base64 of the 32-byte seed>", the public key "whpk_<base64 of 32 bytes>". */
#ifndef HL_SIGN_H
#define HL_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/err.h"

#define HL_SECRET_MIN_BYTES 24
#define HL_SECRET_MAX_BYTES 64
#define HL_SECRET_GEN_BYTES 32
#define HL_WHSEC_MAX_LEN 96       /* "whsec_" + base64 of 64 bytes + NUL */
#define HL_SIG_V1_LEN 48          /* "v1," + 44 base64 chars + NUL */
#define HL_SIG_LEGACY_LEN 72      /* "sha256=" + 64 hex chars + NUL */
#define HL_VERIFY_TOLERANCE_S 300 /* receivers reject timestamps further off than this */

struct hl_secret {
    unsigned char key[HL_SECRET_MAX_BYTES];
    size_t len;
};

/* Writes a fresh "whsec_<base64 of 32 random bytes>". */
void hl_whsec_generate(char out[HL_WHSEC_MAX_LEN]);
/* Decodes a "whsec_..." secret into its key bytes; refuses other forms and lengths outside
 * [HL_SECRET_MIN_BYTES, HL_SECRET_MAX_BYTES]. */
hl_err hl_whsec_decode(const char *text, struct hl_secret *out, char *errbuf, size_t errlen);

/* "v1,<base64 HMAC-SHA256(key, msg_id.timestamp.body)>" */
void hl_sign_v1(const struct hl_secret *s, const char *msg_id, int64_t timestamp,
                const void *body, size_t body_len, char out[HL_SIG_V1_LEN]);
/* "sha256=<hex HMAC-SHA256(key, body)>" */
void hl_sign_legacy(const struct hl_secret *s, const void *body, size_t body_len,
                    char out[HL_SIG_LEGACY_LEN]);
/* "sha256=<hex of mac>": the legacy header's form, for a MAC computed elsewhere. */
void hl_sign_sha256_text(const unsigned char mac[32], char out[HL_SIG_LEGACY_LEN]);

/* Verifies a Standard Webhooks delivery as a receiver must: the timestamp within
 * tolerance_s of now_s, and at least one "v1," entry of sig_header matching in constant
 * time. Returns HL_OK or HL_EINVAL with the reason in errbuf. */
hl_err hl_verify_v1(const struct hl_secret *s, const char *msg_id, const char *timestamp,
                    const char *sig_header, const void *body, size_t body_len, int64_t now_s,
                    int64_t tolerance_s, char *errbuf, size_t errlen);
/* Verifies a legacy "sha256=<hex>" header in constant time. */
hl_err hl_verify_legacy(const struct hl_secret *s, const char *sig_header, const void *body,
                        size_t body_len, char *errbuf, size_t errlen);

/* Constant-time comparison of equal-length buffers; false when lengths differ. */
bool hl_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
/* Standard base64 (RFC 4648, section 4), through OpenSSL. Encode writes it with padding and
 * returns the length written (out needs 4*ceil(n/3)+1 bytes). Decode returns the decoded
 * length (at most outcap bytes written) or -1 on malformed input; padding is required
 * unless flags has HL_BASE64_PAD_OPTIONAL (present, it must be right), and with
 * HL_BASE64_CANONICAL the unused bits of the last character must be zero. */
#define HL_BASE64_PAD_OPTIONAL 0x1
#define HL_BASE64_CANONICAL 0x2
size_t hl_base64_encode(const unsigned char *in, size_t n, char *out);
long hl_base64_decode(const char *in, size_t n, unsigned char *out, size_t outcap,
                      unsigned flags);

/* HMAC (OpenSSL's EVP_MAC, fetched once) over the concatenation of nparts parts: the MAC
 * of outgoing signatures and of incoming webhook verification (hl/inverify.h). */
#define HL_HMAC_MAX 64 /* SHA-512 */
typedef enum { HL_HMAC_SHA1, HL_HMAC_SHA256, HL_HMAC_SHA512 } hl_hmac_alg;

/* "sha1", "sha256", "sha512" (HL_EINVAL otherwise). */
hl_err hl_hmac_alg_parse(const char *name, hl_hmac_alg *out);
size_t hl_hmac_len(hl_hmac_alg alg);

/* HMAC over the concatenation of nparts parts. Returns the MAC length (hl_hmac_len). */
size_t hl_hmac(hl_hmac_alg alg, const void *key, size_t keylen, const void *const *parts,
               const size_t *lens, size_t nparts, unsigned char out[HL_HMAC_MAX]);

/* --- v1a: ed25519 ------------------------------------------------------------------- */

#define HL_V1A_KEY_LEN 50 /* "whsk_" or "whpk_" + 44 base64 chars + NUL */
#define HL_SIG_V1A_LEN 93 /* "v1a," + 88 base64 chars + NUL */

struct hl_v1a_key {
    unsigned char seed[32]; /* the private key */
    unsigned char pub[32];
};

/* Writes a fresh key pair: "whsk_..." (secret: seal it) and "whpk_..." (public). */
void hl_v1a_generate(char whsk[HL_V1A_KEY_LEN], char whpk[HL_V1A_KEY_LEN]);
/* Decodes a "whsk_..." private key (and derives its public half). */
hl_err hl_whsk_decode(const char *text, struct hl_v1a_key *out, char *errbuf, size_t errlen);
/* Decodes a "whpk_..." public key. */
hl_err hl_whpk_decode(const char *text, unsigned char pub[32], char *errbuf, size_t errlen);
/* Writes the "whpk_..." form of k's public key. */
void hl_whpk_encode(const struct hl_v1a_key *k, char out[HL_V1A_KEY_LEN]);

/* "v1a,<base64 ed25519(seed, msg_id.timestamp.body)>". @locality any thread */
void hl_sign_v1a(const struct hl_v1a_key *k, const char *msg_id, int64_t timestamp,
                 const void *body, size_t body_len, char out[HL_SIG_V1A_LEN]);
/* As hl_verify_v1, for the "v1a," entries of sig_header against the public key pub. */
hl_err hl_verify_v1a(const unsigned char pub[32], const char *msg_id, const char *timestamp,
                     const char *sig_header, const void *body, size_t body_len, int64_t now_s,
                     int64_t tolerance_s, char *errbuf, size_t errlen);

#endif
