/* Event ingest (gw_routes_events.c): /api/v1/events and /api/v1/events/batch. */
#ifndef GW_ROUTES_EVENTS_H
#define GW_ROUTES_EVENTS_H

struct gw_ctx;
struct gw_resource;
extern const struct gw_resource gw_res_events;

/* Writes the client event ids accepted while PostgreSQL was down to event_ids once it
 * answers again (gw_idmem.h). @locality the main thread, once a second. */
void gw_events_remember_ids(struct gw_ctx *ctx);
/* Drops client event ids older than the 24 h dedupe window.
 * @locality the main thread, once a minute. */
void gw_events_expire_ids(struct gw_ctx *ctx);

#endif
