/* The route table (gw_route.c): each resource file (gw_routes_*.c, gw_health.c,
 * gw_openapi.c) declares one struct gw_resource, a prefix and a table of routes (method,
 * path pattern, required role, handler); gw_routes.c lists the resources in matching order
 * and gw_route_request walks them. The answers no handler writes come from here: 404 for a
 * path no route has, 405 with `Allow` for a method it lacks, 401/429 before any route of
 * a resource that needs a key, 403 when the role does not suffice.
 *
 * Order of checks, for every resource alike (the order the hand-written routers had):
 *   1. the first resource whose prefix is the path or a parent of it claims the request;
 *   2. unless it is GW_RES_PUBLIC: the API key (401, 503), then its rate limit (429);
 *   3. the resource's gate: its own function, or the role for reads (GET) or for writes
 *      (anything else), before the path is looked at;
 *   4. the routes whose pattern matches the path: none is 404, none with the method is 405;
 *   5. the placeholder's value must pass the resource's check (404 otherwise);
 *   6. the route's own role, then its handler. */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "gw_role.h"

struct gw_req;

/* Handlers get the path's placeholder ({id}, {name}), NUL-terminated, or NULL when the
 * pattern has none. They return the status they replied with. */
typedef int (*gw_handler)(struct gw_req *r, const char *param);

/* Route flags. */
#define GW_ROUTE_DB 0x1   /* answered from PostgreSQL: unusable while it is down */
#define GW_ROUTE_HEAD 0x2 /* a GET route that answers HEAD too (without the body) */

struct gw_route {
    const char *method; /* "GET", "POST", ... */
    /* Below the resource's prefix: "" (the prefix itself, with or without a trailing '/'),
     * "/batch", "/{id}", "/{id}/retry". A placeholder is one non-empty segment; a pattern
     * has at most one. */
    const char *path;
    gw_perm perm; /* on top of the resource's gate; GW_PERM_NONE: the gate suffices */
    unsigned flags;
    gw_handler handler;
};

/* Resource flags. */
#define GW_RES_PUBLIC 0x1 /* no API key: health, the OpenAPI document, incoming webhooks */

struct gw_resource {
    const char *prefix; /* "/api/v1/webhooks" */
    unsigned flags;
    /* Step 3: gate(r, rest) when set (rest: the path below the prefix), else read_perm or
     * write_perm (GW_PERM_NONE: no gate). Returns 0 or the status it replied with. */
    int (*gate)(struct gw_req *r, const char *rest);
    gw_perm read_perm, write_perm;
    /* Step 5: param_ok(value) when set; a refused value is 404 with not_found's detail
     * (a format with one %s, the value). */
    bool (*param_ok)(const char *value);
    const char *not_found;
    const struct gw_route *routes;
    size_t nroutes;
};

#define GW_NROUTES(a) (sizeof(a) / sizeof((a)[0]))

/* Routes r through resources[0..n) (steps 1-6 above); 404 when no prefix matches. On a
 * match r->route is the route being served. Returns the status sent. */
int gw_route_request(struct gw_req *r, const struct gw_resource *const *resources, size_t n);

/* Whether s has the shape of a UUID (8-4-4-4-12 hex digits): the ids of most resources. */
bool gw_uuid_like(const char *s);

#endif
