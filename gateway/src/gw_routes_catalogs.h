/* Built-in event-type catalogs (gw_routes_catalogs.c): GET /api/v1/event-type-catalogs[/{name}]
 * lists them, POST /api/v1/event-types/import copies one into the caller's tenant. */
#ifndef GW_ROUTES_CATALOGS_H
#define GW_ROUTES_CATALOGS_H

struct gw_resource;
extern const struct gw_resource gw_res_event_type_catalogs;
extern const struct gw_resource gw_res_event_types_import;

#endif
