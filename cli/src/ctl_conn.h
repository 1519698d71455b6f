/* Where hooklinectl connects and with which key.
 *
 * Precedence, highest first: --url / --api-key / --tenant; the profile named by --profile;
 * HOOKLINE_URL / HOOKLINE_API_KEY / HOOKLINE_TENANT; the profile named by HOOKLINE_PROFILE,
 * else the profile "default" when the file has one. The file is $HOOKLINE_CONFIG, else
 * $XDG_CONFIG_HOME/hookline/config, else ~/.config/hookline/config:
 *
 *     [default]
 *     url = http://127.0.0.1:8080
 *     api_key = hl_...
 *
 *     [admin]
 *     url = http://127.0.0.1:8080
 *     api_key = hl_admin_...
 *     tenant = demo          # X-Hookline-Tenant for an admin key
 *
 * The key is a secret: it is sent in the Authorization header and nowhere else, never
 * printed, and error messages about it name where it came from, not what it is. */
#ifndef CTL_CONN_H
#define CTL_CONN_H

#include <stddef.h>

struct ctl_conn {
    char *url;     /* base URL without a trailing slash */
    char *api_key;
    char *tenant;  /* X-Hookline-Tenant, or NULL */
};

/* Reads profile `profile` from the config text into c (only the fields it sets; existing
 * values are replaced). Returns 1 when the profile exists, 0 when it does not, -1 with a
 * message in err for a malformed line. Pure: unit-tested. */
int ctl_profile_parse(const char *text, const char *profile, struct ctl_conn *c, char *err,
                      size_t errlen);

/* Resolves the connection from flags (each may be NULL), the environment and the config
 * file, in the order above. Returns 0, or -1 with a message in err (no URL, no key, a
 * --profile that does not exist, an unreadable or malformed file). */
int ctl_conn_resolve(struct ctl_conn *c, const char *flag_url, const char *flag_key,
                     const char *flag_profile, const char *flag_tenant, char *err,
                     size_t errlen);

void ctl_conn_release(struct ctl_conn *c);

#endif
