/* Where undeliverable things go: <prefix>.dlq, as JSON with the reason.
 *
 *   poison message: {"kind":"poison","reason","topic","partition","offset","dead_at_ms",
 *                    "errors" (schema violations, when the validator found them),
 *                    "payload" (text) or "payload_base64" (when not UTF-8)}  key: none
 *   failed delivery: the delivery task (hl/task.h) plus "kind":"delivery", "reason"
 *                    and "dead_at_ms"; key: the delivery id.
 *
 * Both are produced on behalf of msg, which keeps a pending unit until the broker has
 * them. @locality loop thread */
#ifndef DP_DEADLETTER_H
#define DP_DEADLETTER_H

#include <jansson.h>

struct dp_msg;
struct dp_producer;
struct hl_task;

/* A message that is not a valid event or task (reason says why). */
void dp_dead_letter(struct dp_producer *prod, struct dp_msg *msg, const char *reason);
/* The same with the schema validator's errors: "errors": [{"pointer", "keyword",
 * "detail"}] (hl_schema_errors_to_json); errors may be NULL. */
void dp_dead_letter_errors(struct dp_producer *prod, struct dp_msg *msg, const char *reason,
                           const json_t *errors);
/* A delivery that exhausted its attempts (or may not be attempted again). */
void dp_dead_letter_delivery(struct dp_producer *prod, const struct hl_task *t,
                             const char *reason, struct dp_msg *msg);

#endif
