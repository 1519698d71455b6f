/* Request bodies (gw_body.c): reading them within the size, time and nesting limits, and
 * parsing them as JSON objects. */
#ifndef GW_BODY_H
#define GW_BODY_H

#include <jansson.h>

struct gw_req;

/* Reads the body into r->body up to max_body_bytes within request_timeout_ms, and refuses
 * JSON nested deeper than max_json_depth before anything parses it. Returns 0, or the
 * status of the error reply sent (413, 408, 400). */
int gw_read_body(struct gw_req *r);
/* Parses the request body as a JSON object; on failure replies 400 itself and returns NULL.
 * A string holding U+0000 is refused too (400 naming it): what these bodies carry is
 * stored in PostgreSQL, which has no such character. */
json_t *gw_body_object(struct gw_req *r);
/* gw_body_object for events (single, batch): strings may hold U+0000, as JSON allows;
 * an event is passed on to receivers, never stored in a jsonb column as accepted. */
json_t *gw_body_event(struct gw_req *r);

#endif
