/* Webhooks (gw_routes_webhooks.c): /api/v1/webhooks, and the handlers other APIs translate
 * onto (seed 000's developer platform). Each handler returns the HTTP status sent. */
#ifndef GW_ROUTES_WEBHOOKS_H
#define GW_ROUTES_WEBHOOKS_H

#include <jansson.h>
#include <stdbool.h>

struct gw_req;
struct gw_resource;
extern const struct gw_resource gw_res_webhooks;

/* Handlers that read r->body, for routes that translate another API onto them. */
int gw_webhook_get(struct gw_req *r, const char *id);
int gw_webhook_create(struct gw_req *r);
int gw_webhook_patch(struct gw_req *r, const char *id);
int gw_webhook_delete(struct gw_req *r, const char *id);
/* Rotates the signing secret of webhook id (and its v1a key pair when v1a is on): the old
 * ones keep signing for overlap_s. secret NULL generates one. With unless_same, a secret
 * equal to the current one changes nothing. Returns 0 with *out the webhook JSON (plus
 * "secret"), or the status of the error reply it sent. */
int gw_webhook_rotate(struct gw_req *r, const char *id, const char *secret, long long overlap_s,
                      bool unless_same, json_t **out);

#endif
