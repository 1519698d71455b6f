/* Table sources (gw_routes_table_sources.c): /api/v1/table-sources, change data capture
 * from tenants' PostgreSQL tables (docs/table-events.md). */
#ifndef GW_ROUTES_TABLE_SOURCES_H
#define GW_ROUTES_TABLE_SOURCES_H

struct gw_resource;
extern const struct gw_resource gw_res_table_sources;

#endif
