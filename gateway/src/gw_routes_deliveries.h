/* Deliveries (gw_routes_deliveries.c): /api/v1/deliveries, and the handlers of a webhook's
 * /deliveries, /stats, /replay and /test, which the webhooks' table routes to. */
#ifndef GW_ROUTES_DELIVERIES_H
#define GW_ROUTES_DELIVERIES_H

struct gw_req;
struct gw_resource;
extern const struct gw_resource gw_res_deliveries;

/* Each answers 404 for a webhook that is not the caller tenant's, else does its work and
 * returns the status sent. */
int gw_webhook_deliveries(struct gw_req *r, const char *webhook_id); /* GET, paged */
int gw_webhook_stats(struct gw_req *r, const char *webhook_id);      /* GET ?window_hours= */
int gw_webhook_replay(struct gw_req *r, const char *webhook_id);     /* POST {since, until?} */
int gw_webhook_test(struct gw_req *r, const char *webhook_id);       /* POST ?wait= */

#endif
