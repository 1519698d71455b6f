/* Incoming webhook verification (see hl/inverify.h): header parsers and the constant-time
 * checks of the schemes other services sign their webhooks with.
 *
 * The parsers never allocate and never read past the NUL of their input; they bound their
 * work by HL_SIG_HEADER_MAX, so a hostile header costs at most that much scanning. */
#include "hl/inverify.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hl/buf.h"
#include "hl/sign.h"
#include "hl/banned.h"

hl_err hl_sig_encoding_parse(const char *name, hl_sig_encoding *out)
{
    if (strcmp(name, "hex") == 0)
        *out = HL_SIGENC_HEX;
    else if (strcmp(name, "base64") == 0)
        *out = HL_SIGENC_BASE64;
    else
        return HL_EINVAL;
    return HL_OK;
}

/* Strict hex: an even number of hex digits. Returns the byte count or -1. */
static long hex_decode(const char *s, size_t n, unsigned char *out, size_t outcap)
{
    if (n == 0 || n % 2 || n / 2 > outcap)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hl_hex_digit((unsigned char)s[i]), lo = hl_hex_digit((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

hl_err hl_sig_decode(const char *value, const char *prefix, hl_sig_encoding enc,
                     unsigned char *out, size_t outcap, size_t *outlen, char *errbuf,
                     size_t errlen)
{
    size_t n = strnlen(value, HL_SIG_HEADER_MAX + 1);
    if (n > HL_SIG_HEADER_MAX) {
        snprintf(errbuf, errlen, "signature header is longer than %d bytes", HL_SIG_HEADER_MAX);
        return HL_EINVAL;
    }
    trim(&value, &n);
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen) {
        if (n < plen || memcmp(value, prefix, plen) != 0) {
            snprintf(errbuf, errlen, "signature does not start with the expected prefix");
            return HL_EINVAL;
        }
        value += plen;
        n -= plen;
    }
    long got = enc == HL_SIGENC_HEX ? hex_decode(value, n, out, outcap)
                                    : hl_base64_decode(value, n, out, outcap, HL_BASE64_PAD_OPTIONAL | HL_BASE64_CANONICAL);
    if (got < 0) {
        snprintf(errbuf, errlen, "signature is not %s of the expected length",
                 enc == HL_SIGENC_HEX ? "hex" : "base64");
        return HL_EINVAL;
    }
    *outlen = (size_t)got;
    return HL_OK;
}

hl_err hl_inverify_hmac(hl_hmac_alg alg, hl_sig_encoding enc, const char *prefix,
                        const void *key, size_t keylen, const char *header, const void *body,
                        size_t body_len, char *errbuf, size_t errlen)
{
    unsigned char got[HL_HMAC_MAX], want[HL_HMAC_MAX];
    size_t got_len = 0;
    hl_err err = HL_EINVAL;
    if (!header) {
        snprintf(errbuf, errlen, "the signature header is missing");
        goto out;
    }
    if (hl_sig_decode(header, prefix, enc, got, sizeof(got), &got_len, errbuf, errlen))
        goto out;
    const void *parts[] = {body};
    size_t lens[] = {body_len};
    size_t want_len = hl_hmac(alg, key, keylen, parts, lens, 1, want);
    if (!hl_ct_equal(got, got_len, want, want_len)) {
        snprintf(errbuf, errlen, "the signature does not match");
        goto out;
    }
    err = HL_OK;
out:
    OPENSSL_cleanse(want, sizeof(want));
    return err;
}

/* Parses a non-negative decimal int64 of exactly n bytes. */
static bool parse_i64(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    if (n == 0 || n > 18) /* 18 digits cannot overflow */
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

hl_err hl_stripe_parse(const char *header, struct hl_stripe_sig *out, char *errbuf,
                       size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!header) {
        snprintf(errbuf, errlen, "the Stripe-Signature header is missing");
        return HL_EINVAL;
    }
    size_t total = strnlen(header, HL_SIG_HEADER_MAX + 1);
    if (total > HL_SIG_HEADER_MAX) {
        snprintf(errbuf, errlen, "Stripe-Signature is longer than %d bytes", HL_SIG_HEADER_MAX);
        return HL_EINVAL;
    }
    bool have_t = false;
    const char *p = header, *end = header + total;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item = p;
        size_t n = (size_t)((comma ? comma : end) - p);
        p = comma ? comma + 1 : end;
        trim(&item, &n);
        if (n == 0)
            continue;
        const char *eq = memchr(item, '=', n);
        if (!eq) {
            snprintf(errbuf, errlen, "Stripe-Signature has an item without '='");
            return HL_EINVAL;
        }
        size_t klen = (size_t)(eq - item), vlen = n - klen - 1;
        const char *val = eq + 1;
        if (klen == 1 && item[0] == 't') {
            if (have_t || !parse_i64(val, vlen, &out->t)) {
                snprintf(errbuf, errlen, have_t ? "Stripe-Signature has more than one t"
                                                : "Stripe-Signature t is not a Unix time");
                return HL_EINVAL;
            }
            have_t = true;
        } else if (klen == 2 && item[0] == 'v' && item[1] == '1') {
            unsigned char mac[32];
            if (vlen != 64 || hex_decode(val, vlen, mac, sizeof(mac)) != 32)
                continue; /* cannot match anything; as Stripe's own libraries */
            if (out->nv1 == HL_STRIPE_MAX_SIGS) {
                snprintf(errbuf, errlen, "Stripe-Signature has more than %d v1 signatures",
                         HL_STRIPE_MAX_SIGS);
                return HL_EINVAL;
            }
            memcpy(out->v1[out->nv1++], mac, sizeof(mac));
        }
    }
    if (!have_t || out->nv1 == 0) {
        snprintf(errbuf, errlen, "Stripe-Signature needs t= and at least one v1=");
        return HL_EINVAL;
    }
    return HL_OK;
}

hl_err hl_inverify_stripe(const void *key, size_t keylen, const char *header, const void *body,
                          size_t body_len, int64_t now_s, int64_t tolerance_s, char *errbuf,
                          size_t errlen)
{
    struct hl_stripe_sig sig;
    unsigned char want[HL_HMAC_MAX];
    char ts[24];
    hl_err err = HL_EINVAL;
    if (hl_stripe_parse(header, &sig, errbuf, errlen))
        goto out;
    int n = snprintf(ts, sizeof(ts), "%lld.", (long long)sig.t);
    const void *parts[] = {ts, body};
    size_t lens[] = {(size_t)n, body_len};
    size_t want_len = hl_hmac(HL_HMAC_SHA256, key, keylen, parts, lens, 2, want);
    /* Every entry is compared, matching or not. */
    bool ok = false;
    for (size_t i = 0; i < sig.nv1; i++)
        ok |= hl_ct_equal(sig.v1[i], 32, want, want_len);
    if (!ok) {
        snprintf(errbuf, errlen, "no v1 signature matches");
        goto out;
    }
    if (sig.t < now_s - tolerance_s || sig.t > now_s + tolerance_s) {
        snprintf(errbuf, errlen, "the signature's timestamp is outside the %lld s tolerance",
                 (long long)tolerance_s);
        goto out;
    }
    err = HL_OK;
out:
    OPENSSL_cleanse(want, sizeof(want));
    return err;
}

hl_err hl_inverify_standard(const char *whsec, const char *msg_id, const char *timestamp,
                            const char *sig_header, const void *body, size_t body_len,
                            int64_t now_s, int64_t tolerance_s, char *errbuf, size_t errlen)
{
    struct hl_secret s;
    hl_err err = hl_whsec_decode(whsec, &s, errbuf, errlen);
    if (err == HL_OK) {
        if (sig_header && strnlen(sig_header, HL_SIG_HEADER_MAX + 1) > HL_SIG_HEADER_MAX) {
            snprintf(errbuf, errlen, "webhook-signature is longer than %d bytes",
                     HL_SIG_HEADER_MAX);
            err = HL_EINVAL;
        } else {
            err = hl_verify_v1(&s, msg_id, timestamp, sig_header, body, body_len, now_s,
                               tolerance_s, errbuf, errlen);
        }
    }
    OPENSSL_cleanse(&s, sizeof(s));
    return err;
}

hl_err hl_basic_parse(const char *authorization, char *user, size_t usercap, char *password,
                      size_t passcap, char *errbuf, size_t errlen)
{
    unsigned char dec[HL_SIG_HEADER_MAX];
    hl_err err = HL_EINVAL;
    long n = -1;
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0) {
        snprintf(errbuf, errlen, "send 'Authorization: Basic <credentials>'");
        goto out;
    }
    const char *b = authorization + 6;
    size_t blen = strnlen(b, HL_SIG_HEADER_MAX + 1);
    if (blen > HL_SIG_HEADER_MAX) {
        snprintf(errbuf, errlen, "the Authorization header is too long");
        goto out;
    }
    trim(&b, &blen);
    n = hl_base64_decode(b, blen, dec, sizeof(dec), HL_BASE64_PAD_OPTIONAL | HL_BASE64_CANONICAL);
    const unsigned char *colon = n > 0 ? memchr(dec, ':', (size_t)n) : NULL;
    if (!colon) {
        snprintf(errbuf, errlen, "basic credentials are not base64 of 'user:password'");
        goto out;
    }
    size_t ulen = (size_t)(colon - dec), plen = (size_t)n - ulen - 1;
    if (ulen >= usercap || plen >= passcap || memchr(dec, '\0', (size_t)n)) {
        snprintf(errbuf, errlen, "basic credentials are too long or contain NUL");
        goto out;
    }
    memcpy(user, dec, ulen);
    user[ulen] = '\0';
    memcpy(password, colon + 1, plen);
    password[plen] = '\0';
    err = HL_OK;
out:
    OPENSSL_cleanse(dec, sizeof(dec));
    return err;
}

hl_err hl_inverify_basic(const char *authorization, const char *user, const char *password,
                         char *errbuf, size_t errlen)
{
    char got_user[HL_SIG_HEADER_MAX], got_pass[HL_SIG_HEADER_MAX];
    hl_err err = hl_basic_parse(authorization, got_user, sizeof(got_user), got_pass,
                                sizeof(got_pass), errbuf, errlen);
    if (err == HL_OK) {
        /* Both compared, always: which one was wrong is not for the caller to learn. */
        bool ok = hl_secret_equal(got_user, strlen(got_user), user, strlen(user));
        ok &= hl_secret_equal(got_pass, strlen(got_pass), password, strlen(password));
        if (!ok) {
            snprintf(errbuf, errlen, "the credentials do not match");
            err = HL_EINVAL;
        }
    }
    OPENSSL_cleanse(got_pass, sizeof(got_pass));
    return err;
}

hl_err hl_inverify_api_key(const char *header, const char *key, char *errbuf, size_t errlen)
{
    if (!header) {
        snprintf(errbuf, errlen, "the API key header is missing");
        return HL_EINVAL;
    }
    const char *v = header;
    size_t n = strnlen(header, HL_SIG_HEADER_MAX + 1);
    trim(&v, &n);
    if (!hl_secret_equal(v, n, key, strlen(key))) {
        snprintf(errbuf, errlen, "the API key does not match");
        return HL_EINVAL;
    }
    return HL_OK;
}

bool hl_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    unsigned char ha[32], hb[32];
    unsigned int n = 32;
    if (!EVP_Digest(a, alen, ha, &n, EVP_sha256(), NULL) ||
        !EVP_Digest(b, blen, hb, &n, EVP_sha256(), NULL))
        abort();
    bool eq = CRYPTO_memcmp(ha, hb, sizeof(ha)) == 0;
    return eq & (alen == blen);
}
