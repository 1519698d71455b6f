/* The API's resources in matching order (gw_routes.c), for gw_route_request. */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include <stddef.h>

struct gw_resource;
extern const struct gw_resource *const gw_resources[];
extern const size_t gw_nresources;

#endif
