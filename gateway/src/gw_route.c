/* The route table's walker: finds the resource and the route for a request and gives the
 * answers that depend only on the table (gw_route.h lists the order of checks). Handlers
 * write every other answer. */
#include <stdio.h>
#include <string.h>

#include <civetweb.h>

#include "gw_auth.h"
#include "gw_ratelimit.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "hl/buf.h"
#include "hl/id.h"
#include "hl/banned.h"

#define PARAM_MAX 256

bool gw_uuid_like(const char *s)
{
    return hl_uuid_like(s, strlen(s));
}

/* As the hand-written routers had it: only GET reads (HEAD on a route that does not
 * answer it is a write that gets 405). */
static bool is_read(const char *method)
{
    return strcmp(method, "GET") == 0;
}

/* Matches rest against pattern; on a match copies the placeholder's value into param
 * (param[0] stays '\0' when the pattern has none). The collection's pattern "" matches ""
 * and "/". */
static bool path_matches(const char *pattern, const char *rest, char param[PARAM_MAX])
{
    param[0] = '\0';
    if (pattern[0] == '\0')
        return rest[0] == '\0' || strcmp(rest, "/") == 0;
    while (*pattern && *rest) {
        if (*pattern == '{') {
            const char *close = strchr(pattern, '}');
            size_t n = strcspn(rest, "/");
            if (!close || n == 0 || n >= PARAM_MAX)
                return false;
            memcpy(param, rest, n);
            param[n] = '\0';
            pattern = close + 1;
            rest += n;
        } else if (*pattern++ != *rest++) {
            return false;
        }
    }
    return *pattern == '\0' && *rest == '\0';
}

static bool method_matches(const struct gw_route *rt, const char *method)
{
    if (strcmp(rt->method, method) == 0)
        return true;
    return (rt->flags & GW_ROUTE_HEAD) && strcmp(method, "HEAD") == 0 &&
           strcmp(rt->method, "GET") == 0;
}

static int gate(struct gw_req *r, const struct gw_resource *res, const char *rest)
{
    if (res->gate)
        return res->gate(r, rest);
    gw_perm perm = is_read(r->info->request_method) ? res->read_perm : res->write_perm;
    return perm == GW_PERM_NONE ? 0 : gw_require(r, perm);
}

static int serve(struct gw_req *r, const struct gw_resource *res, const char *rest)
{
    const char *method = r->info->request_method;
    int st;
    if (!(res->flags & GW_RES_PUBLIC)) {
        if ((st = gw_authenticate(r)) || (st = gw_rate_limit_key(r)))
            return st;
    }
    if ((st = gate(r, res, rest)))
        return st;

    const struct gw_route *found = NULL;
    struct hl_buf allow = HL_BUF_INIT;
    char param[PARAM_MAX];
    for (size_t i = 0; i < res->nroutes; i++) {
        const struct gw_route *rt = &res->routes[i];
        if (!path_matches(rt->path, rest, param))
            continue;
        if (method_matches(rt, method)) {
            found = rt;
            break;
        }
        if (allow.len)
            hl_buf_adds(&allow, ", ");
        hl_buf_adds(&allow, rt->method);
    }
    if (!found) {
        if (allow.len) {
            hl_buf_addch(&allow, '\0');
            st = gw_method_not_allowed(r, allow.ptr);
        } else {
            st = gw_reply_not_found(r, "no route for '%s'", r->info->local_uri);
        }
        hl_buf_release(&allow);
        return st;
    }
    hl_buf_release(&allow);
    bool has_param = strchr(found->path, '{') != NULL;
    if (has_param && res->param_ok && !res->param_ok(param))
        return gw_reply_not_found(r, res->not_found ? res->not_found : "no such resource '%s'",
                                  param);
    if (found->perm != GW_PERM_NONE && (st = gw_require(r, found->perm)))
        return st;
    r->route = found;
    return found->handler(r, has_param ? param : NULL);
}

int gw_route_request(struct gw_req *r, const struct gw_resource *const *resources, size_t n)
{
    const char *uri = r->info->local_uri;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(resources[i]->prefix);
        if (strncmp(uri, resources[i]->prefix, len) == 0 && (uri[len] == '\0' || uri[len] == '/'))
            return serve(r, resources[i], uri + len);
    }
    return gw_reply_not_found(r, "no route for '%s'", uri);
}
