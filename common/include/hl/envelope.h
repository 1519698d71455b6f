/* The event envelope: the JSON value of a message on <prefix>.events (its contract is
 * schemas/event.schema.json), and the body POSTed to each webhook, which is that envelope
 * plus the webhook's id.
 *
 * Kafka message value:
 *   {"id","event","tenant","timestamp","occurred_at"?,"request_id"?,"actor_id"?,
 *    "data","metadata"?}
 * Delivery body:
 *   {"id","event","timestamp","tenant","webhook_id","data","metadata", ...optional fields} */
#ifndef HL_ENVELOPE_H
#define HL_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>

#include "hl/buf.h"
#include "hl/err.h"
#include "hl/json.h"

#define HL_EVENT_ID_MAX 128
#define HL_TENANT_MAX 64

/* A parsed, shape-checked event. Borrowed pointers live as long as `root` (or, after
 * hl_event_read, `strings`). */
struct hl_event {
    json_t *root;  /* owned; NULL when hl_event_read did without */
    char *strings; /* owned: id, type, tenant and timestamp when root is NULL */
    const char *id;
    const char *type;
    const char *tenant;
    const char *timestamp;
    /* The envelope's JSON text, parsed into root by jansson, or NULL. Borrowed; set by the
     * caller before the first hl_envelope_body, which then copies actor_id, data and
     * metadata from it as they are written instead of serializing them again. */
    const char *text;
    size_t text_len;
    /* Where occurred_at, request_id, actor_id, data and metadata are in text, when
     * hl_event_read found them there (has_spans), so that the body is rendered without
     * scanning the text again. */
    struct hl_json_span spans[5];
    bool has_spans;
    struct hl_buf head; /* delivery body up to the webhook id's value (empty until the */
    struct hl_buf tail; /* first hl_envelope_body), and after it */
};

/* Parses and checks a message from the events topic. On failure `ev` holds nothing and
 * errbuf says why (the reason a poison message carries to the dead-letter topic). */
hl_err hl_event_parse(const void *data, size_t len, struct hl_event *ev, char *errbuf,
                      size_t errlen);
/* The same checks on an envelope already parsed (a delivery task carries it as an object):
 * ev takes its own reference to root, the caller keeps its own. */
hl_err hl_event_from_json(json_t *root, struct hl_event *ev, char *errbuf, size_t errlen);
/* The same checks on an envelope's text that hl_json_valid (or a parser) accepted, for the
 * dispatcher's deliveries: the fields are read off the text without building a tree
 * (root stays NULL) unless a string or name has an escape, and ev->text is set to text,
 * which must outlive ev. Duplicate names are not refused (the last one counts). */
hl_err hl_event_read(const char *text, size_t len, struct hl_event *ev, char *errbuf,
                     size_t errlen);
void hl_event_release(struct hl_event *ev);

/* Writes the delivery body for one webhook into out (cleared first). Field order is fixed
 * so that bodies are stable across retries. The first call renders the parts shared by
 * every webhook's body into ev. */
void hl_envelope_body(struct hl_event *ev, const char *webhook_id, struct hl_buf *out);

/* Appends the Kafka message value for an event published through the API: body is the
 * request's event object, already checked against schemas/api/event.schema.json ("event"
 * and "data" present); request_id may be NULL. Keys in the order of the comment above;
 * "metadata" is {} unless the body's is an object. Written straight into out, without
 * building a jansson tree: the same bytes json_dumps(JSON_COMPACT) gives for that tree. */
void hl_envelope_write(struct hl_buf *out, const json_t *body, const char *id,
                       const char *tenant, const char *timestamp, const char *request_id);

/* True when s is an acceptable client-supplied event id: 1..HL_EVENT_ID_MAX printable
 * ASCII characters without spaces. */
int hl_event_id_valid(const char *s);

#endif
