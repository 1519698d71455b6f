/* Roles, from most to least powerful: admin (all tenants, tenants and keys), tenant_admin
 * (everything inside its tenant), publisher (may only post events), viewer (read-only).
 * Their names are the ones stored in api_keys.role and shown by the API. */
#include <string.h>

#include "gw_role.h"
#include "hl/banned.h"

static const char *const role_names[] = {"none", "viewer", "publisher", "tenant_admin", "admin"};

const char *gw_role_name(gw_role role)
{
    return role_names[role];
}

gw_role gw_role_parse(const char *s)
{
    for (int i = GW_ROLE_VIEWER; i <= GW_ROLE_ADMIN; i++)
        if (strcmp(s, role_names[i]) == 0)
            return (gw_role)i;
    return GW_ROLE_NONE;
}
