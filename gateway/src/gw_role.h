/* Roles and permissions (gw_role.c): what an API key may do, and who is calling. */
#ifndef GW_ROLE_H
#define GW_ROLE_H

#include <stdint.h>

/* Roles in increasing power; see gw_role.c. */
typedef enum {
    GW_ROLE_NONE = 0,
    GW_ROLE_VIEWER,
    GW_ROLE_PUBLISHER,
    GW_ROLE_TENANT_ADMIN,
    GW_ROLE_ADMIN,
} gw_role;

/* What a route asks of the caller's role; GW_PERM_NONE (0, so a table entry that names
 * none) asks nothing. */
typedef enum { GW_PERM_NONE, GW_PERM_READ, GW_PERM_PUBLISH, GW_PERM_WRITE, GW_PERM_ADMIN } gw_perm;

/* Who is calling: the key's role and the tenant every query is scoped to ("" for an
 * admin key that named no tenant). */
struct gw_principal {
    gw_role role;
    char tenant[65];
    char key_id[40];
    int64_t rate_limit_per_s; /* the key's own limit; -1 = the gateway's default */
};

const char *gw_role_name(gw_role role);
gw_role gw_role_parse(const char *s); /* GW_ROLE_NONE when unknown */

#endif
