/* The gateway's metrics (names and meanings in docs/operations.md) and its GET /metrics.
 *
 * Requests are counted by method, route template and status class in one call at the end
 * of each request; the template is derived from the path (identifiers become {id}), so
 * the route files need no instrumentation of their own. What happened inside a request
 * (the problem type it answered with, when Kafka acknowledged) is kept per thread for
 * that call.
 *
 * @locality civetweb worker threads, except gw_metrics_init (main thread, before serving) */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_config;
struct gw_ctx;
struct gw_req;

void gw_metrics_init(struct gw_ctx *ctx);
/* Answers a GET or HEAD with the Prometheus text exposition (GET /metrics is routed in
 * gw_health.c); returns the status. */
struct mg_connection;
int gw_metrics_send(struct mg_connection *conn, const char *method);
/* With metrics_port set, starts that listener (one thread); false with errbuf set when the
 * port cannot be bound. gw_metrics_stop() stops it. @locality main thread */
bool gw_metrics_listen(const struct gw_config *cfg, char *errbuf, size_t errlen);
void gw_metrics_stop(void);
/* A request starts; returns the time to hand to gw_metrics_end. */
int64_t gw_metrics_begin(void);
void gw_metrics_end(struct gw_req *r, int status, int64_t began_us);
/* The request answers with this problem type (a static slug). */
void gw_metrics_problem(const char *slug);
/* One event of a request ended with status (202 accepted; duplicate: an accepted id
 * again). */
void gw_metrics_event(int status, bool duplicate);
/* Kafka acknowledged (or failed) what this request produced. */
void gw_metrics_acked(void);

#endif
