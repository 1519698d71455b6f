/* A webhook's delivery format in the dispatcher (hl/format.h): compiled once when the
 * subscription cache loads the webhook (dp_subs.c), rendered once per delivery (body and header lines,
 * which depend on the event only, so retries send the same bytes), and signed per attempt.
 * A webhook without a format never reaches this file's render path: its body stays
 * hl_envelope_body's and its headers dp_signature_headers'. */
#ifndef DP_FORMAT_H
#define DP_FORMAT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "dp_signature.h"
#include "dp_subs.h"
#include "hl/buf.h"
#include "hl/envelope.h"

/* Renders w's format for the event ev of delivery delivery_id: the body into body (cleared
 * first) and the format's header lines, "Name: value\0" each, into lines (cleared first).
 * w->format must not be NULL. @locality the delivery loop */
void dp_format_render(const struct dp_webhook *w, struct hl_event *ev, const char *delivery_id,
                      struct hl_buf *body, struct hl_buf *lines);
/* Appends the rendered lines and the format's signature header of body to headers. */
void dp_format_headers(const struct dp_webhook *w, const struct hl_buf *lines, const char *body,
                       size_t body_len, struct dp_headers *headers);

#endif
