/* Identifiers. Resource and event ids are UUIDv7 (time-ordered, so cursor pagination and
 * index locality come for free). Delivery ids are derived, not random: the same event sent
 * to the same webhook always carries the same id, on every retry and after any crash or
 * rebalance, which is what lets receivers dedupe on `webhook-id`. */
#ifndef HL_ID_H
#define HL_ID_H

#include <stdbool.h>
#include <stddef.h>

#define HL_UUID_LEN 37 /* 36 chars + NUL */

/* 48-bit millisecond time, then 74 random bits from OpenSSL's CSPRNG, drawn through a
 * per-thread 4 KB buffer: any thread may call; not safe across fork() (a child would
 * repeat the parent's buffered bytes), which no Hookline service does. */
void hl_uuid_v7(char out[HL_UUID_LEN]);
/* "msg_" + 32 hex chars: SHA-256 over tenant, event id and webhook id, truncated. */
#define HL_DELIVERY_ID_LEN 37
void hl_delivery_id(const char *tenant, const char *event_id, const char *webhook_id,
                    char out[HL_DELIVERY_ID_LEN]);

/* True when the n bytes at p have a UUID's shape: 36 hex digits (either case) and dashes
 * in its four places. */
bool hl_uuid_like(const char *p, size_t n);
/* True for the n bytes at p when they are an id hl_delivery_id makes: "msg_" and 32
 * lower-case hex digits. */
bool hl_delivery_id_like(const char *p, size_t n);

#endif
