/* The process-wide context every request handler is handed, and one request as the route
 * handlers see it. main.c fills gw_ctx before serving; it is read-only afterwards. */
#ifndef GW_REQ_H
#define GW_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include "gw_role.h"
#include "hl/kafka.h"
#include "hl/keyring.h"

struct gw_config;
struct gw_deadlines;
struct gw_db;
struct gw_listener;
struct gw_producer;
struct gw_route;
struct mg_connection;
struct mg_request_info;

struct gw_ctx {
    const struct gw_config *cfg;
    struct gw_deadlines *deadlines;
    struct gw_listener *listener; /* NOTIFYs that invalidate the caches */
    struct gw_auth *auth;
    struct gw_db *db;
    struct gw_producer *producer;
    struct hl_keyring keyring; /* seals secrets at rest; read-only once serving */
    char events_topic[HL_TOPIC_MAX];
    char deliveries_topic[HL_TOPIC_MAX];
};

/* One request. @locality the civetweb worker thread serving it. */
struct gw_req {
    struct mg_connection *conn;
    const struct mg_request_info *info;
    struct gw_ctx *ctx;
    struct gw_principal who;
    const struct gw_route *route; /* the route being served (gw_route.h), once matched */
    char *body; /* NUL-terminated; NULL when the request had none */
    size_t body_len;
    bool closing; /* keep-alive was disabled on the connection (mg_disable_connection_keep_alive) */
};

#endif
