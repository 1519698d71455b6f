/* The dispatcher's own HTTP listener (http_host:http_port, civetweb as in the gateway):
 * GET /metrics (Prometheus text), /healthz (the process answers) and /readyz (200 once
 * dp_metrics_ready() says so, 503 problem+json with the reasons before). It carries no
 * API and no credentials. */
#ifndef DP_HTTP_H
#define DP_HTTP_H

#include <stddef.h>

#include "dp_config.h"

struct dp_http;

/* Starts listening (two worker threads); NULL with errbuf set when the port cannot be
 * bound. http_port 0: no listener, and NULL with errbuf empty. */
struct dp_http *dp_http_start(const struct dp_config *cfg, char *errbuf, size_t errlen);
void dp_http_stop(struct dp_http *h);

#endif
