/* hookline-cdc's side of the read-your-writes fence (docs/architecture.md, "Subscriptions
 * and the fence"; schemas/migrations/0011_subscription_version.sql): the highest
 * subscription version this worker has heard of (its control connection LISTENs on
 * hl_webhooks_changed), stamped into every event it produces (Kafka header
 * hookline-subs-version), so that a dispatcher does not fan a row change out with a
 * snapshot older than the webhook changes this worker had heard of when it produced it.
 * @locality any thread: the version is one atomic. */
#ifndef CDC_FENCE_H
#define CDC_FENCE_H

#include <stdint.h>

#define CDC_FENCE_HEADER "hookline-subs-version"
#define CDC_FENCE_CHANNEL "hl_webhooks_changed"

/* Raises the version to v if v is higher. */
void cdc_fence_note(int64_t v);
/* Notes a notification's payload (a decimal version); anything else is ignored. */
void cdc_fence_note_text(const char *s);
/* The highest version noted; 0 before any. */
int64_t cdc_fence_version(void);

#endif
