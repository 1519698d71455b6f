/* Signing headers of a delivery attempt (see dp_signature.h). */
#include "dp_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "hl/buf.h"
#include "hl/sign.h"
#include "hl/banned.h"

static void add_line(struct curl_slist **headers, const char *line)
{
    struct curl_slist *l = curl_slist_append(*headers, line);
    if (!l)
        abort();
    *headers = l;
}

static void add_header(struct curl_slist **headers, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_header(struct curl_slist **headers, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    add_line(headers, line);
}

static void standard(const struct dp_webhook *w, const char *id, const char *body, size_t len,
                     long long ts, int64_t now_ms, struct curl_slist **headers)
{
    bool overlap = w->previous_secret_expires_ms > now_ms;
    char v1[HL_SIG_V1_LEN], v1a[HL_SIG_V1A_LEN];
    struct hl_buf line = HL_BUF_INIT;
    hl_buf_adds(&line, "webhook-signature:");
    if (w->sig_standard) {
        hl_sign_v1(&w->secret, id, ts, body, len, v1);
        hl_buf_addf(&line, " %s", v1);
        if (overlap && w->previous_secret.len) {
            hl_sign_v1(&w->previous_secret, id, ts, body, len, v1);
            hl_buf_addf(&line, " %s", v1);
        }
    }
    if (w->sig_v1a) {
        hl_sign_v1a(&w->signing_key, id, ts, body, len, v1a);
        hl_buf_addf(&line, " %s", v1a);
        if (overlap && w->has_previous_signing_key) {
            hl_sign_v1a(&w->previous_signing_key, id, ts, body, len, v1a);
            hl_buf_addf(&line, " %s", v1a);
        }
    }
    add_header(headers, "webhook-id: %s", id);
    add_header(headers, "webhook-timestamp: %lld", ts);
    add_line(headers, line.ptr);
    hl_buf_release(&line);
}

void dp_signature_headers(const struct dp_webhook *w, const char *delivery_id,
                          const char *event_type, const char *body, size_t body_len,
                          int64_t now_ms, struct curl_slist **headers)
{
    long long ts = (long long)(now_ms / 1000);
    if (w->sig_standard || w->sig_v1a)
        standard(w, delivery_id, body, body_len, ts, now_ms, headers);
    if (w->sig_legacy && !w->format) {
        char legacy[HL_SIG_LEGACY_LEN];
        hl_sign_legacy(&w->secret, body, body_len, legacy);
        add_header(headers, "%s: %s", w->legacy_header, legacy);
        add_header(headers, "X-Webhook-Event: %s", event_type);
        add_header(headers, "X-Webhook-Id: %s", delivery_id);
        add_header(headers, "X-Webhook-Timestamp: %lld", ts);
    }
    if (w->hmac_key) {
        unsigned char mac[32];
        unsigned int maclen = 0;
        char hex[65];
        HMAC(EVP_sha256(), w->hmac_key, (int)w->hmac_key_len, (const unsigned char *)body,
             body_len, mac, &maclen);
        for (unsigned i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        add_header(headers, "%s: sha256=%s", w->hmac_header, hex);
    }
}
