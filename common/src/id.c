/* UUIDv7 generation and derived delivery ids (see hl/id.h). */
#include "hl/id.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/time.h"
#include "hl/banned.h"

static const char hexdigits[] = "0123456789abcdef";

static void format_uuid(const unsigned char b[16], char out[HL_UUID_LEN])
{
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hexdigits[b[i] >> 4];
        out[o++] = hexdigits[b[i] & 15];
    }
    out[o] = '\0';
}

/* RAND_bytes costs a few thousand instructions per call whatever the size (locking, DRBG
 * bookkeeping), so each thread draws 4 KB at a time and serves 10-byte slices from it. The
 * bytes are still the CSPRNG's and each slice is used once, then wiped. Not fork-safe: a
 * child forked with a partly used buffer would repeat its parent's next ids; Hookline's
 * services never fork (see hl/id.h). */
#define RANDOM_BLOCK 4096
static _Thread_local unsigned char random_block[RANDOM_BLOCK];
static _Thread_local size_t random_used = RANDOM_BLOCK;

static void random_bytes(unsigned char *out, size_t n)
{
    if (RANDOM_BLOCK - random_used < n) {
        if (RAND_bytes(random_block, RANDOM_BLOCK) != 1)
            abort(); /* the CSPRNG failing is not something to carry on from */
        random_used = 0;
    }
    memcpy(out, random_block + random_used, n);
    memset(random_block + random_used, 0, n);
    random_used += n;
}

void hl_uuid_v7(char out[HL_UUID_LEN])
{
    unsigned char b[16];
    uint64_t ms = (uint64_t)hl_now_ms();
    random_bytes(b + 6, 10);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    format_uuid(b, out);
}

/* Fetched once: EVP_sha256() would make OpenSSL 3 look the implementation up again on
 * every digest, and fan-out makes one delivery id per webhook of every event. */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256)
        abort();
}

static void add_part(EVP_MD_CTX *ctx, const char *s)
{
    EVP_DigestUpdate(ctx, s, strlen(s) + 1);
}

/* True when the event id is a UUIDv7 as hl_uuid_v7 writes it (lower-case) or a client
 * may send it (either case): its time is then its first 48 bits. */
static bool uuid_v7_like(const char *id)
{
    if (!hl_uuid_like(id, strnlen(id, HL_UUID_LEN)) || id[14] != '7')
        return false;
    char variant = (char)tolower((unsigned char)id[19]);
    return variant == '8' || variant == '9' || variant == 'a' || variant == 'b';
}

void hl_delivery_id(const char *tenant, const char *event_id, const char *webhook_id,
                    int version, char out[HL_DELIVERY_ID_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    pthread_once(&sha256_once, sha256_fetch);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex2(ctx, sha256, NULL))
        abort();
    /* NUL separators keep ("ab","c") and ("a","bc") apart. */
    add_part(ctx, tenant);
    add_part(ctx, event_id);
    add_part(ctx, webhook_id);
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    memcpy(out, "msg_", 4);
    size_t o = 4;
    if (version == HL_ID_VERSION_TIME_ORDERED && uuid_v7_like(event_id)) {
        /* the time: the UUID's first 12 hex digits (8, a dash, then 4) */
        for (size_t i = 0; i < 13; i++)
            if (event_id[i] != '-')
                out[o++] = (char)tolower((unsigned char)event_id[i]);
    }
    for (size_t i = 0; o < 36; i++) {
        out[o++] = hexdigits[md[i] >> 4];
        out[o++] = hexdigits[md[i] & 15];
    }
    out[36] = '\0';
}

int hl_id_version_parse(const void *value, size_t len)
{
    size_t want = sizeof(HL_ID_VERSION_TIME_ORDERED_TEXT) - 1;
    return value && len == want && memcmp(value, HL_ID_VERSION_TIME_ORDERED_TEXT, want) == 0
               ? HL_ID_VERSION_TIME_ORDERED
               : 1;
}

/* isxdigit without the locale's table: the fan-out checks an event id once per webhook. */
static bool hex_digit(char c)
{
    char lower = (char)(c | 0x20);
    return (c >= '0' && c <= '9') || (lower >= 'a' && lower <= 'f');
}

bool hl_uuid_like(const char *p, size_t n)
{
    if (n != HL_UUID_LEN - 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? p[i] != '-' : !hex_digit(p[i]))
            return false;
    }
    return true;
}

bool hl_delivery_id_like(const char *p, size_t n)
{
    if (n != HL_DELIVERY_ID_LEN - 1 || memcmp(p, "msg_", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}
