/* The health endpoints (gw_health.c): /healthz and /readyz. */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

struct gw_resource;
extern const struct gw_resource gw_res_healthz;
extern const struct gw_resource gw_res_readyz;
extern const struct gw_resource gw_res_metrics;

#endif
