/* Signing headers of a delivery attempt (see dp_signature.h). */
#include "dp_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/mem.h"
#include "hl/sign.h"
#include "hl/banned.h"

static void add_start(struct dp_headers *h)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 16;
        h->at = hl_xrealloc(h->at, h->cap * sizeof(*h->at));
    }
    h->at[h->n++] = h->text.len;
}

void dp_header_line(struct dp_headers *h, const char *line)
{
    add_start(h);
    hl_buf_add(&h->text, line, strlen(line) + 1);
}

void dp_header_pair(struct dp_headers *h, const char *name, const char *value)
{
    add_start(h);
    hl_buf_adds(&h->text, name);
    hl_buf_add(&h->text, ": ", 2);
    hl_buf_add(&h->text, value, strlen(value) + 1);
}

const char *dp_headers_at(const struct dp_headers *h, size_t i)
{
    return h->text.ptr + h->at[i];
}

void dp_headers_clear(struct dp_headers *h)
{
    if (h->text.len)
        OPENSSL_cleanse(h->text.ptr, h->text.len);
    hl_buf_clear(&h->text);
    h->n = 0;
}

void dp_headers_release(struct dp_headers *h)
{
    hl_buf_wipe(&h->text); /* (and frees it) */
    free(h->at);
    memset(h, 0, sizeof(*h));
}

static void standard(const struct dp_webhook *w, const char *id, const char *ts_text,
                     const char *body, size_t len, long long ts, int64_t now_ms,
                     struct dp_headers *headers)
{
    bool overlap = w->previous_secret_expires_ms > now_ms;
    char v1[HL_SIG_V1_LEN], v1a[HL_SIG_V1A_LEN];
    dp_header_pair(headers, "webhook-id", id);
    dp_header_pair(headers, "webhook-timestamp", ts_text);
    /* the signature line is written in place, one signature after another */
    struct hl_buf *line = &headers->text;
    add_start(headers);
    hl_buf_adds(line, "webhook-signature:");
    if (w->sig_standard) {
        hl_sign_v1(&w->secret, id, ts, body, len, v1);
        hl_buf_addch(line, ' ');
        hl_buf_adds(line, v1);
        if (overlap && w->previous_secret.len) {
            hl_sign_v1(&w->previous_secret, id, ts, body, len, v1);
            hl_buf_addch(line, ' ');
            hl_buf_adds(line, v1);
        }
    }
    if (w->sig_v1a) {
        hl_sign_v1a(&w->signing_key, id, ts, body, len, v1a);
        hl_buf_addch(line, ' ');
        hl_buf_adds(line, v1a);
        if (overlap && w->has_previous_signing_key) {
            hl_sign_v1a(&w->previous_signing_key, id, ts, body, len, v1a);
            hl_buf_addch(line, ' ');
            hl_buf_adds(line, v1a);
        }
    }
    hl_buf_addch(line, '\0');
}

void dp_signature_headers(const struct dp_webhook *w, const char *delivery_id,
                          const char *event_type, const char *body, size_t body_len,
                          int64_t now_ms, struct dp_headers *headers)
{
    long long ts = (long long)(now_ms / 1000);
    char ts_text[HL_INT_STR_MAX];
    hl_i64_str(ts, ts_text);
    if (w->sig_standard || w->sig_v1a)
        standard(w, delivery_id, ts_text, body, body_len, ts, now_ms, headers);
    if (w->sig_legacy && !w->format) {
        char legacy[HL_SIG_LEGACY_LEN];
        hl_sign_legacy(&w->secret, body, body_len, legacy);
        dp_header_pair(headers, w->legacy_header, legacy);
        dp_header_pair(headers, "X-Webhook-Event", event_type);
        dp_header_pair(headers, "X-Webhook-Id", delivery_id);
        dp_header_pair(headers, "X-Webhook-Timestamp", ts_text);
    }
    if (w->hmac_key) {
        unsigned char mac[32];
        unsigned int maclen = 0;
        char value[HL_SIG_LEGACY_LEN];
        HMAC(EVP_sha256(), w->hmac_key, (int)w->hmac_key_len, (const unsigned char *)body,
             body_len, mac, &maclen);
        hl_sign_sha256_text(mac, value);
        dp_header_pair(headers, w->hmac_header, value);
    }
}
