/* The checks of a webhook body that concern its seed aliases, payload filter and retry
 * schedule (issue 16), kept out of gw_routes_webhooks.c so that it calls one function. */
#ifndef GW_WEBHOOK_CHECKS_H
#define GW_WEBHOOK_CHECKS_H

#include <jansson.h>
#include <stdbool.h>

struct gw_errors;

/* Checks body (create, PUT or PATCH, already valid against its JSON Schema) and rewrites
 * it into the stored form, appending any problem to e (pointers name the field):
 * - `active` (seed 003's flag) becomes `status` active/paused; given with a `status` that
 *   says otherwise it is refused;
 * - `filter` must compile (hl/filter.h): the pointer names the part inside it;
 * - `retry_policy.schedule_ms` replaces strategy, delays and max_attempts, so it may not
 *   come with them; a retry_policy that sets any of them without schedule_ms clears a
 *   stored schedule (schedule_ms: null, which UPDATE_SQL strips), so that what the client
 *   set is what applies. */
void gw_webhook_check_extras(json_t *body, struct gw_errors *e);

#endif
