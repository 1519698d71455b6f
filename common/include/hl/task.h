/* The delivery task: one event for one webhook. It is the value of every message on
 * <prefix>.deliveries and <prefix>.retry.<tier> (key: the webhook id, so that one
 * endpoint's work shares a partition), and, with a "reason", of delivery records on
 * <prefix>.dlq. Shared because the gateway re-drives a delivery (manual retry, replay) by
 * producing one to <prefix>.deliveries; schemas/README.md documents the JSON.
 *
 *   {"v":1, "delivery_id":"msg_...", "tenant":"...", "webhook_id":"<uuid>",
 *    "attempt":N, "budget_base":B, "due_ms":<epoch ms>, "created_ms":<epoch ms>,
 *    "last_error":"..."?, "event":{<the envelope of <prefix>.events>}}
 *
 * attempt counts the attempts made so far (the next one is attempt + 1, which is also its
 * number in delivery_attempts); the webhook's max_attempts is counted from budget_base, so
 * a re-drive sets budget_base = attempt to grant a fresh budget while attempt numbers keep
 * growing (attempt rows are keyed by delivery id and number). */
#ifndef HL_TASK_H
#define HL_TASK_H

#include <jansson.h>
#include <stdint.h>

#include "hl/buf.h"
#include "hl/err.h"
#include "hl/id.h"

struct hl_task {
    char delivery_id[HL_DELIVERY_ID_LEN];
    char *tenant;     /* owned */
    char *webhook_id; /* owned */
    int attempt;
    int budget_base;
    int64_t due_ms;
    int64_t created_ms;
    char *last_error; /* owned, may be NULL */
    json_t *event;    /* owned reference to the envelope object; NULL after most decodes */
    /* The envelope's JSON text, event_len bytes (not NUL-terminated), or NULL. When set,
     * hl_task_encode copies it instead of serializing event (and so it must be the text of
     * the same envelope): a task carries its event's text from record to record. Owned
     * after hl_task_decode; a caller that sets it itself and never calls hl_task_release
     * may borrow it. */
    char *event_text;
    size_t event_len;
};

/* Appends the task's JSON to out. */
void hl_task_encode(const struct hl_task *t, struct hl_buf *out);
/* Parses a task; on failure t holds nothing and errbuf says why. t->event_text is the
 * event's text as the task carried it (or, when it cannot be told apart in the text, the
 * parsed event serialized once). The event is only checked to be an object: t->event is
 * NULL unless the task needed jansson (escaped names or strings), and hl_event_read reads
 * event_text. */
hl_err hl_task_decode(const void *data, size_t len, struct hl_task *t, char *errbuf,
                      size_t errlen);
void hl_task_release(struct hl_task *t);

#endif
