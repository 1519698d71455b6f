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
/* Delivery ids: "msg_" + 32 lower-case hex digits, a pure function of tenant, event id,
 * webhook id and the derivation the event asks for (its Kafka header HL_ID_VERSION_HEADER,
 * which the gateway sets):
 *  - 1 (no header): the first 128 bits of SHA-256 over tenant, event id and webhook id.
 *  - 2 (HL_ID_VERSION_TIME_ORDERED) with a UUIDv7 event id: the event id's 48-bit
 *    millisecond time (its first 12 hex digits), then the first 80 bits of the same
 *    SHA-256. The ids of one event's deliveries sort by the time it was accepted, so the
 *    attempt log's primary keys grow at their right edge instead of at random leaves. Any
 *    other event id gets version 1's id.
 * Only the event decides, never the dispatcher's version: an event fanned out again (a
 * dispatcher killed mid-batch, a rebalance) keeps its ids across an upgrade, provided every
 * dispatcher understands the header before any gateway sets it (docs/deployment.md). */
#define HL_DELIVERY_ID_LEN 37
#define HL_ID_VERSION_HEADER "hookline-id-version"
#define HL_ID_VERSION_TIME_ORDERED 2
#define HL_ID_VERSION_TIME_ORDERED_TEXT "2" /* the header's value asking for it */
void hl_delivery_id(const char *tenant, const char *event_id, const char *webhook_id,
                    int version, char out[HL_DELIVERY_ID_LEN]);
/* The derivation a Kafka header's value asks for: 2 for exactly "2", else 1. */
int hl_id_version_parse(const void *value, size_t len);

/* True when the n bytes at p have a UUID's shape: 36 hex digits (either case) and dashes
 * in its four places. */
bool hl_uuid_like(const char *p, size_t n);
/* True for the n bytes at p when they are an id hl_delivery_id makes: "msg_" and 32
 * lower-case hex digits. */
bool hl_delivery_id_like(const char *p, size_t n);

#endif
