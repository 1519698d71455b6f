/* AES-256-GCM sealing of secrets at rest under a rotatable master key ring (see
 * hl/keyring.h for the format and the rotation procedure). */
#include "hl/keyring.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hl/mem.h"
#include "hl/sign.h"
#include "hl/banned.h"

#define NONCE_BYTES 12
#define TAG_BYTES 16
#define KEY_FILE_MAX 65536

static void set_err(char *errbuf, size_t errlen, const char *msg)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s", msg);
}

static bool id_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

/* Parses one "id:base64" entry of length n into kr->keys[kr->n]. */
static hl_err parse_entry(struct hl_keyring *kr, const char *s, size_t n, char *errbuf,
                          size_t errlen)
{
    const char *colon = memchr(s, ':', n);
    if (!colon) {
        set_err(errbuf, errlen, "master key entry must be '<id>:<base64 of 32 bytes>'");
        return HL_EINVAL;
    }
    size_t idlen = (size_t)(colon - s);
    if (idlen == 0 || idlen > HL_KEYRING_ID_MAX) {
        set_err(errbuf, errlen, "master key id must be 1-32 characters");
        return HL_EINVAL;
    }
    for (size_t i = 0; i < idlen; i++) {
        if (!id_char((unsigned char)s[i])) {
            set_err(errbuf, errlen, "master key id may contain only A-Z a-z 0-9 _ -");
            return HL_EINVAL;
        }
    }
    if (kr->n == HL_KEYRING_MAX_KEYS) {
        set_err(errbuf, errlen, "too many master keys (at most 16)");
        return HL_EINVAL;
    }
    for (size_t i = 0; i < kr->n; i++) {
        if (strlen(kr->keys[i].id) == idlen && memcmp(kr->keys[i].id, s, idlen) == 0) {
            set_err(errbuf, errlen, "duplicate master key id");
            return HL_EINVAL;
        }
    }
    unsigned char key[HL_KEYRING_KEY_BYTES + 3];
    long klen = hl_base64_decode(colon + 1, n - idlen - 1, key, sizeof key, 0);
    if (klen != HL_KEYRING_KEY_BYTES) {
        OPENSSL_cleanse(key, sizeof key);
        set_err(errbuf, errlen, "master key must be the base64 of exactly 32 bytes");
        return HL_EINVAL;
    }
    memcpy(kr->keys[kr->n].id, s, idlen);
    kr->keys[kr->n].id[idlen] = '\0';
    memcpy(kr->keys[kr->n].key, key, HL_KEYRING_KEY_BYTES);
    OPENSSL_cleanse(key, sizeof key);
    kr->n++;
    return HL_OK;
}

hl_err hl_keyring_parse(struct hl_keyring *kr, const char *text, char *errbuf, size_t errlen)
{
    memset(kr, 0, sizeof *kr);
    const char *p = text;
    while (*p) {
        /* One entry per comma- or newline-separated token; '#' comments run to the line end. */
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (*p == '#') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            p++;
        hl_err rc = parse_entry(kr, start, (size_t)(p - start), errbuf, errlen);
        if (rc != HL_OK) {
            hl_keyring_release(kr);
            return rc;
        }
    }
    if (kr->n == 0) {
        set_err(errbuf, errlen, "the master key ring is empty");
        return HL_EINVAL;
    }
    return HL_OK;
}

hl_err hl_keyring_load(struct hl_keyring *kr, const char *spec, const char *path, char *errbuf,
                       size_t errlen)
{
    if (spec && *spec)
        return hl_keyring_parse(kr, spec, errbuf, errlen);
    if (!path || !*path) {
        set_err(errbuf, errlen,
                "no master key: set master_key or master_key_file (secrets are stored "
                "encrypted; `hookline-gateway gen-master-key` prints a new one)");
        return HL_EINVAL;
    }
    hl_err rc = HL_EINVAL;
    char *text = hl_xmalloc(KEY_FILE_MAX + 1);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "cannot open master key file '%s': %s", path,
                     strerror(errno));
        goto out;
    }
    size_t n = fread(text, 1, KEY_FILE_MAX + 1, f);
    fclose(f);
    if (n > KEY_FILE_MAX) {
        set_err(errbuf, errlen, "master key file is too large");
        goto out;
    }
    text[n] = '\0';
    rc = hl_keyring_parse(kr, text, errbuf, errlen);
out:
    OPENSSL_cleanse(text, KEY_FILE_MAX + 1);
    free(text);
    return rc;
}

void hl_keyring_release(struct hl_keyring *kr)
{
    OPENSSL_cleanse(kr, sizeof *kr);
}

void hl_keyring_generate_entry(const char *id, char out[HL_KEYRING_ENTRY_MAX])
{
    unsigned char key[HL_KEYRING_KEY_BYTES];
    char b64[48];
    if (RAND_bytes(key, sizeof key) != 1)
        abort(); /* no entropy: nothing safe can be done */
    hl_base64_encode(key, sizeof key, b64);
    size_t idlen = strnlen(id, HL_KEYRING_ID_MAX);
    memcpy(out, id, idlen);
    out[idlen] = ':';
    memcpy(out + idlen + 1, b64, 45); /* 44 characters and the NUL */
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(b64, sizeof b64);
}

/* AES-256-GCM in one direction. For decryption `tag` is read, for encryption written.
 * Returns false on any failure, including authentication. */
static bool gcm(bool enc, const unsigned char *key, const unsigned char *nonce, const char *aad,
                const unsigned char *in, size_t n, unsigned char *out, unsigned char *tag)
{
    bool ok = false;
    int len = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        abort();
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1)
        goto out;
    if (aad && EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1)
        goto out;
    len = 0;
    if (n && EVP_CipherUpdate(c, out, &len, in, (int)n) != 1)
        goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(c, out + len, &len) != 1)
        goto out;
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tag) != 1)
        goto out;
    ok = true;
out:
    EVP_CIPHER_CTX_free(c);
    return ok;
}

char *hl_keyring_seal(const struct hl_keyring *kr, const char *aad, const void *plain, size_t n)
{
    size_t raw_len = NONCE_BYTES + n + TAG_BYTES;
    unsigned char *raw = hl_xmalloc(raw_len);
    if (RAND_bytes(raw, NONCE_BYTES) != 1)
        abort();
    if (!gcm(true, kr->keys[0].key, raw, aad, plain, n, raw + NONCE_BYTES,
             raw + NONCE_BYTES + n))
        abort(); /* encryption with a valid key cannot fail but for a broken libcrypto */
    size_t idlen = strlen(kr->keys[0].id);
    size_t cap = strlen(HL_SEALED_PREFIX) + idlen + 1 + 4 * ((raw_len + 2) / 3) + 1;
    char *out = hl_xmalloc(cap);
    int head = snprintf(out, cap, "%s%s:", HL_SEALED_PREFIX, kr->keys[0].id);
    hl_base64_encode(raw, raw_len, out + head);
    free(raw);
    return out;
}

/* The ring entry a sealed value names, or -1. */
static int find_key(const struct hl_keyring *kr, const char *sealed, const char **payload)
{
    if (!hl_sealed_is(sealed))
        return -1;
    const char *id = sealed + strlen(HL_SEALED_PREFIX);
    const char *colon = strchr(id, ':');
    if (!colon)
        return -1;
    size_t idlen = (size_t)(colon - id);
    for (size_t i = 0; i < kr->n; i++) {
        if (strlen(kr->keys[i].id) == idlen && memcmp(kr->keys[i].id, id, idlen) == 0) {
            *payload = colon + 1;
            return (int)i;
        }
    }
    return -1;
}

hl_err hl_keyring_open(const struct hl_keyring *kr, const char *aad, const char *sealed,
                       struct hl_buf *out, char *errbuf, size_t errlen)
{
    hl_buf_clear(out);
    if (!hl_sealed_is(sealed)) {
        set_err(errbuf, errlen, "value is not sealed");
        return HL_EINVAL;
    }
    const char *payload = NULL;
    int k = find_key(kr, sealed, &payload);
    if (k < 0) {
        set_err(errbuf, errlen, "value is sealed under a master key id not in the ring");
        return HL_EINVAL;
    }
    hl_err rc = HL_EINVAL;
    size_t plen = strlen(payload);
    size_t cap = plen / 4 * 3 + 3;
    unsigned char *raw = hl_xmalloc(cap);
    long raw_len = hl_base64_decode(payload, plen, raw, cap, 0);
    if (raw_len < NONCE_BYTES + TAG_BYTES) {
        set_err(errbuf, errlen, "sealed value is malformed");
        goto out;
    }
    size_t n = (size_t)raw_len - NONCE_BYTES - TAG_BYTES;
    hl_buf_grow(out, n + 1);
    if (!gcm(false, kr->keys[k].key, raw, aad, raw + NONCE_BYTES, n, (unsigned char *)out->ptr,
             raw + NONCE_BYTES + n)) {
        OPENSSL_cleanse(out->ptr, n);
        set_err(errbuf, errlen, "sealed value failed authentication");
        goto out;
    }
    out->len = n;
    out->ptr[n] = '\0';
    rc = HL_OK;
out:
    OPENSSL_cleanse(raw, cap);
    free(raw);
    return rc;
}

bool hl_sealed_is(const char *s)
{
    return s && strncmp(s, HL_SEALED_PREFIX, strlen(HL_SEALED_PREFIX)) == 0;
}

bool hl_sealed_needs_reseal(const struct hl_keyring *kr, const char *s)
{
    const char *payload = NULL;
    return hl_sealed_is(s) && find_key(kr, s, &payload) != 0;
}

const char *const hl_auth_secret_fields[HL_AUTH_SECRET_NFIELDS] = {"password", "token", "value",
                                                                  "secret"};

void hl_aad_webhook(char out[HL_AAD_MAX], const char *field, const char *webhook_id)
{
    snprintf(out, HL_AAD_MAX, "webhook.%s:%s", field, webhook_id);
}

void hl_aad_table_source(char out[HL_AAD_MAX], const char *table_source_id)
{
    snprintf(out, HL_AAD_MAX, "table_source.connection:%s", table_source_id);
}

bool hl_sealed_key_id(const char *s, char id[HL_KEYRING_ID_MAX + 1])
{
    if (!hl_sealed_is(s))
        return false;
    const char *p = s + strlen(HL_SEALED_PREFIX);
    size_t n = strcspn(p, ":");
    if (p[n] != ':' || n == 0 || n > HL_KEYRING_ID_MAX)
        return false;
    memcpy(id, p, n);
    id[n] = '\0';
    return true;
}
