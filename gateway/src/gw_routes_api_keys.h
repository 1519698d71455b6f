/* API key management (gw_routes_api_keys.c): /api/v1/api-keys. */
#ifndef GW_ROUTES_API_KEYS_H
#define GW_ROUTES_API_KEYS_H

struct gw_resource;
extern const struct gw_resource gw_res_api_keys;

#endif
