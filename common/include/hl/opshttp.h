/* The operations listener of a service without an API (the dispatcher, hookline-cdc):
 * http_host:http_port, civetweb as in the gateway, serving GET /metrics (Prometheus text),
 * /healthz (the process answers) and /readyz (200 once the service's readiness function
 * says so, 503 problem+json with its reasons before). It carries no API and no
 * credentials. @locality start and stop on the main thread; the readiness function runs on
 * the listener's threads. */
#ifndef HL_OPSHTTP_H
#define HL_OPSHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when ready; otherwise false with the reasons in why. Any thread. */
typedef bool (*hl_ops_ready_fn)(char *why, size_t whylen);

struct hl_ops_http;

/* Starts listening (two worker threads); NULL with errbuf set when the port cannot be
 * bound. port 0: no listener, and NULL with errbuf empty. */
struct hl_ops_http *hl_ops_http_start(const char *host, int64_t port, hl_ops_ready_fn ready,
                                      char *errbuf, size_t errlen);
void hl_ops_http_stop(struct hl_ops_http *h);

#endif
