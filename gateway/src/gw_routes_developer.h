/* Seed 000's developer platform (gw_routes_developer.c): /api/admin/developer/webhooks,
 * translated onto the webhook handlers. */
#ifndef GW_ROUTES_DEVELOPER_H
#define GW_ROUTES_DEVELOPER_H

struct gw_resource;
extern const struct gw_resource gw_res_developer_webhooks;

#endif
