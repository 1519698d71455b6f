/* Incoming webhooks (gw_routes_incoming.c): POST /api/v1/incoming/{source_id},
 * authenticated by the source's own verification, not by an API key. */
#ifndef GW_ROUTES_INCOMING_H
#define GW_ROUTES_INCOMING_H

struct gw_resource;
extern const struct gw_resource gw_res_incoming;

#endif
