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

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_subs.h"

/* Appends line ("Name: value") to *headers (curl_slist_append; aborts when out of
 * memory). */
void dp_header_line(struct curl_slist **headers, const char *line);
/* Appends "name: value" to *headers, as dp_header_line. */
void dp_header_pair(struct curl_slist **headers, const char *name, const char *value);

/* Appends the signing headers of an attempt made at wall-clock now_ms to *headers
 * (curl_slist_append; aborts when out of memory). Nothing when the webhook signs
 * nothing. */
void dp_signature_headers(const struct dp_webhook *w, const char *delivery_id,
                          const char *event_type, const char *body, size_t body_len,
                          int64_t now_ms, struct curl_slist **headers);

#endif
