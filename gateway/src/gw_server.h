/* The HTTP server (gw_server.c): civetweb, its listener (HTTP or HTTPS), and the one
 * request handler that reads the body and hands the request to the route table. */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <stddef.h>

struct gw_ctx;
struct gw_server;
/* Binds the listener and returns once civetweb runs; NULL with errbuf set on failure. */
struct gw_server *gw_server_start(struct gw_ctx *ctx, char *errbuf, size_t errlen);
void gw_server_stop(struct gw_server *s);

#endif
