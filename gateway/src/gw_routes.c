/* Every resource the gateway serves, in the order gw_route_request tries their prefixes:
 * a prefix must come before any shorter prefix of it (events/available before webhooks).
 * A new resource is one line here and one struct gw_resource in its own file. */
#include "gw_health.h"
#include "gw_openapi.h"
#include "gw_route.h"
#include "gw_routes.h"
#include "gw_routes_api_keys.h"
#include "gw_routes_catalogs.h"
#include "gw_routes_deliveries.h"
#include "gw_routes_developer.h"
#include "gw_routes_event_types.h"
#include "gw_routes_events.h"
#include "gw_routes_extensions.h"
#include "gw_routes_incoming.h"
#include "gw_routes_sources.h"
#include "gw_routes_table_sources.h"
#include "gw_routes_tenants.h"
#include "gw_routes_webhooks.h"
#include "hl/banned.h"

const struct gw_resource *const gw_resources[] = {
    &gw_res_healthz,
    &gw_res_readyz,
    &gw_res_metrics,
    &gw_res_openapi,
    &gw_res_incoming,
    &gw_res_event_types_available,
    &gw_res_webhooks,
    &gw_res_events,
    &gw_res_tenants,
    &gw_res_api_keys,
    &gw_res_event_types_import,
    &gw_res_event_types,
    &gw_res_event_type_catalogs,
    &gw_res_deliveries,
    &gw_res_extensions,
    &gw_res_sources,
    &gw_res_table_sources,
    &gw_res_developer_webhooks,
};
const size_t gw_nresources = sizeof(gw_resources) / sizeof(gw_resources[0]);
