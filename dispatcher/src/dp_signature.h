/* The headers that sign one delivery attempt, from the webhook's signature settings:
 *
 *   Standard Webhooks   webhook-id, webhook-timestamp, webhook-signature with one "v1,"
 *                       entry per live secret and one "v1a," entry per live ed25519 key
 *                       (during a rotation's overlap the old ones sign too, new first, so
 *                       receivers holding either verify)
 *   legacy              <legacy_header>: sha256=<hex HMAC of the body>, X-Webhook-Event,
 *                       X-Webhook-Id, X-Webhook-Timestamp (not with a delivery format:
 *                       the format's headers and signature replace them, dp_format.h)
 *   outbound auth hmac  <auth header>: sha256=<hex HMAC of the body, keyed with the
 *                       configured secret text>
 *
 * Each attempt is signed afresh (the timestamp is part of what is signed); the delivery id
 * is the same on every attempt, so receivers dedupe on it. Signatures never reach a log.
 *
 * @locality any thread: reads the (immutable) webhook only */
#ifndef DP_SIGNATURE_H
#define DP_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#include "dp_subs.h"
#include "hl/buf.h"

/* The header lines of one attempt ("Name: value", or libcurl's "Name;" for an empty value:
 * dp_http_request writes them). The lines are kept in one buffer, kept by
 * dp_headers_clear: an attempt's dozen lines cost no allocation once they have grown.
 * Zero-initialized is empty. */
struct dp_headers {
    struct hl_buf text; /* the lines, each followed by its NUL */
    size_t *at;         /* where each line starts in text */
    size_t n, cap;
};

/* Appends line ("Name: value"). */
void dp_header_line(struct dp_headers *h, const char *line);
/* Appends "name: value". */
void dp_header_pair(struct dp_headers *h, const char *name, const char *value);
/* Line i (i < h->n), valid until h changes. */
const char *dp_headers_at(const struct dp_headers *h, size_t i);
/* Empties h, keeping its storage; the text is wiped (lines may carry credentials). */
void dp_headers_clear(struct dp_headers *h);
/* Frees h's storage, wiped; h is empty again. */
void dp_headers_release(struct dp_headers *h);

/* Appends the signing headers of an attempt made at wall-clock now_ms to h. Nothing when
 * the webhook signs nothing. */
void dp_signature_headers(const struct dp_webhook *w, const char *delivery_id,
                          const char *event_type, const char *body, size_t body_len,
                          int64_t now_ms, struct dp_headers *h);

#endif
