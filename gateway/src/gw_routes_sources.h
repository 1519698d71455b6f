/* Incoming-webhook sources (gw_routes_sources.c): /api/v1/sources. */
#ifndef GW_ROUTES_SOURCES_H
#define GW_ROUTES_SOURCES_H

/* The default signed-timestamp tolerance (Stripe, Standard Webhooks). */
#define GW_SOURCE_TOLERANCE_S 300

struct gw_resource;
extern const struct gw_resource gw_res_sources;

#endif
