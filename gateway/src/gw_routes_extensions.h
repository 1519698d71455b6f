/* Extension registrations (gw_routes_extensions.c): /api/v1/extensions. */
#ifndef GW_ROUTES_EXTENSIONS_H
#define GW_ROUTES_EXTENSIONS_H

struct gw_resource;
extern const struct gw_resource gw_res_extensions;

#endif
