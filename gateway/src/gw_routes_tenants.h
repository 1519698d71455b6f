/* Tenant management (gw_routes_tenants.c): /api/v1/tenants. */
#ifndef GW_ROUTES_TENANTS_H
#define GW_ROUTES_TENANTS_H

struct gw_resource;
extern const struct gw_resource gw_res_tenants;

#endif
