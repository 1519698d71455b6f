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
/* Parses the request body as a JSON object; on failure replies 400 itself and returns NULL. */
json_t *gw_body_object(struct gw_req *r);

#endif
