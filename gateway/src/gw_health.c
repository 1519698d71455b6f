/* GET /healthz (the process serves), GET /metrics and GET /readyz (it can do its work: PostgreSQL and
 * Kafka answer; `checks` names each one's state). No key is needed: orchestrators probe
 * them. */
#include <civetweb.h>
#include <stdbool.h>

#include "gw_config.h"
#include "gw_db.h"
#include "gw_health.h"
#include "gw_metrics.h"
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

/* Each dependency asked for real: a pooled connection may be to a server gone since. */
static int readyz(struct gw_req *r, const char *unused)
{
    char err[256];
    PGconn *c = gw_db_acquire(r->ctx->db, err, sizeof(err));
    bool pg_ok = false;
    if (c) {
        PGresult *res = PQexec(c, "SELECT 1");
        pg_ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
        gw_db_release(r->ctx->db, c);
    }
    bool kafka_ok = gw_producer_healthy(r->ctx->producer);
    json_t *checks = json_pack("{s:s, s:s}", "kafka", kafka_ok ? "ok" : "unreachable",
                               "postgresql", pg_ok ? "ok" : "unreachable");
    if (!pg_ok || !kafka_ok)
        return gw_reply_problem_with(r, 503, "not-ready", "Not ready",
                                     json_pack("{s:o}", "checks", checks), "%s%s%s",
                                     pg_ok ? "" : "postgresql unreachable",
                                     !pg_ok && !kafka_ok ? ", " : "",
                                     kafka_ok ? "" : "kafka unreachable");
    return gw_reply_json(r, 200, json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
}

/* GET /metrics on the API listener, without an API key; 404 when metrics_port moved it to
 * a listener of its own (gw_metrics.c). */
static int metrics(struct gw_req *r, const char *unused)
{
    if (r->ctx->cfg->metrics_port)
        return gw_reply_problem(r, 404, "not-found", "Not found",
                                "metrics are served on port %lld",
                                (long long)r->ctx->cfg->metrics_port);
    return gw_metrics_send(r->conn, r->info->request_method);
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

static const struct gw_route metrics_routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_HEAD, metrics},
};
const struct gw_resource gw_res_metrics = {
    .prefix = "/metrics", .flags = GW_RES_PUBLIC, .read_perm = GW_PERM_NONE,
    .write_perm = GW_PERM_NONE, .routes = metrics_routes, .nroutes = GW_NROUTES(metrics_routes),
};
