/* GET /api/v1/openapi.json (gw_openapi.c): the embedded OpenAPI document; no key needed. */
#ifndef GW_OPENAPI_H
#define GW_OPENAPI_H

struct gw_resource;
extern const struct gw_resource gw_res_openapi;

#endif
