/* Typed events (gw_event_schemas.c): the compiled payload schemas of the event-type
 * catalog, cached while the change listener is trusted (gw_listen.h). */
#ifndef GW_EVENT_SCHEMAS_H
#define GW_EVENT_SCHEMAS_H

#include <jansson.h>
#include <libpq-fe.h>

struct gw_errors;
struct gw_req;

/* Checks data against the catalog schema of the event type, if it has one. 0 valid (or
 * untyped), 1 invalid (errors appended to e with pointers "<prefix>/data/..."), -1 the
 * catalog could not be read. */
int gw_event_schema_check(struct gw_req *r, const char *type, const json_t *data,
                          const char *prefix, struct gw_errors *e);
/* Empties the cache (after a change made through this gateway, which must not wait for
 * its own NOTIFY). */
void gw_event_schemas_clear(void);
/* The change listener's callback for 'hl_event_types_changed': empties the cache and keeps
 * every schema of the catalog as last seen (from conn), for when PostgreSQL cannot be
 * asked. @locality the change listener thread */
void gw_event_schemas_changed(void *unused, PGconn *conn, const char *payload);

#endif
