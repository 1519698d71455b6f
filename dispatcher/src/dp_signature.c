/* Signing headers of a delivery attempt (see dp_signature.h). */
#include "dp_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/sign.h"
#include "hl/banned.h"

void dp_header_line(struct curl_slist **headers, const char *line)
{
    struct curl_slist *l = curl_slist_append(*headers, line);
    if (!l)
        abort();
    *headers = l;
}

void dp_header_pair(struct curl_slist **headers, const char *name, const char *value)
{
    /* Not snprintf: a delivery sends about six of these, and each vsnprintf cost ~1,000
     * instructions. A line that does not fit the stack buffer is built on the heap. */
    char small[256];
    struct hl_buf big = HL_BUF_INIT;
    size_t nlen = strlen(name), vlen = strlen(value), len = nlen + 2 + vlen;
    char *line = small;
    if (len >= sizeof(small)) {
        hl_buf_grow(&big, len);
        line = big.ptr;
    }
    memcpy(line, name, nlen);
    memcpy(line + nlen, ": ", 2);
    memcpy(line + nlen + 2, value, vlen);
    line[len] = '\0';
    dp_header_line(headers, line);
    hl_buf_release(&big);
}

static void standard(const struct dp_webhook *w, const char *id, const char *ts_text,
                     const char *body, size_t len, long long ts, int64_t now_ms,
                     struct curl_slist **headers)
{
    bool overlap = w->previous_secret_expires_ms > now_ms;
    char v1[HL_SIG_V1_LEN], v1a[HL_SIG_V1A_LEN];
    struct hl_buf line = HL_BUF_INIT;
    hl_buf_adds(&line, "webhook-signature:");
    if (w->sig_standard) {
        hl_sign_v1(&w->secret, id, ts, body, len, v1);
        hl_buf_addch(&line, ' ');
        hl_buf_adds(&line, v1);
        if (overlap && w->previous_secret.len) {
            hl_sign_v1(&w->previous_secret, id, ts, body, len, v1);
            hl_buf_addch(&line, ' ');
            hl_buf_adds(&line, v1);
        }
    }
    if (w->sig_v1a) {
        hl_sign_v1a(&w->signing_key, id, ts, body, len, v1a);
        hl_buf_addch(&line, ' ');
        hl_buf_adds(&line, v1a);
        if (overlap && w->has_previous_signing_key) {
            hl_sign_v1a(&w->previous_signing_key, id, ts, body, len, v1a);
            hl_buf_addch(&line, ' ');
            hl_buf_adds(&line, v1a);
        }
    }
    dp_header_pair(headers, "webhook-id", id);
    dp_header_pair(headers, "webhook-timestamp", ts_text);
    dp_header_line(headers, line.ptr);
    hl_buf_release(&line);
}

void dp_signature_headers(const struct dp_webhook *w, const char *delivery_id,
                          const char *event_type, const char *body, size_t body_len,
                          int64_t now_ms, struct curl_slist **headers)
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
