/* The event-type catalog (gw_routes_event_types.c): /api/v1/event-types, and seed 003's
 * GET /api/v1/webhooks/events/available. */
#ifndef GW_ROUTES_EVENT_TYPES_H
#define GW_ROUTES_EVENT_TYPES_H

struct gw_resource;
extern const struct gw_resource gw_res_event_types;
extern const struct gw_resource gw_res_event_types_available;

#endif
