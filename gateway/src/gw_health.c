/* GET /healthz (the process serves) and GET /readyz (it can do its work: PostgreSQL and
 * Kafka are reachable). No key is needed: orchestrators probe them. */
#include <stdbool.h>

#include "gw_db.h"
#include "gw_health.h"
#include "gw_producer.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "hl/banned.h"

static int healthz(struct gw_req *r, const char *unused)
{
    return gw_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static int readyz(struct gw_req *r, const char *unused)
{
    char err[256];
    PGconn *c = gw_db_acquire(r->ctx->db, err, sizeof(err));
    bool kafka_ok = gw_producer_healthy(r->ctx->producer);
    if (c)
        gw_db_release(r->ctx->db, c);
    if (!c || !kafka_ok)
        return gw_reply_problem(r, 503, "not-ready", "Not ready", "%s%s",
                                c ? "" : "postgresql unreachable ",
                                kafka_ok ? "" : "kafka unreachable");
    return gw_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

static const struct gw_route healthz_routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_HEAD, healthz},
};
static const struct gw_route readyz_routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_HEAD, readyz},
};

const struct gw_resource gw_res_healthz = {
    .prefix = "/healthz", .flags = GW_RES_PUBLIC, .read_perm = GW_PERM_NONE,
    .write_perm = GW_PERM_NONE, .routes = healthz_routes, .nroutes = GW_NROUTES(healthz_routes),
};
const struct gw_resource gw_res_readyz = {
    .prefix = "/readyz", .flags = GW_RES_PUBLIC, .read_perm = GW_PERM_NONE,
    .write_perm = GW_PERM_NONE, .routes = readyz_routes, .nroutes = GW_NROUTES(readyz_routes),
};
