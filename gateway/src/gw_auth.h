/* Authentication and authorization (gw_auth.c): API keys and the roles they carry.
 * @locks the key cache's mutex; any worker thread may call. */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "gw_role.h"

void gw_key_hash(const char *key, unsigned char out[32]);

struct gw_config;
struct gw_req;
struct gw_auth;
/* The key cache is used only while the request context's change listener is trusted
 * (gw_listen.h). */
struct gw_auth *gw_auth_new(const struct gw_config *cfg);
void gw_auth_free(struct gw_auth *a);
/* Empties this gateway's key cache at once: a write here must not wait for its own NOTIFY
 * (other gateways hear that within milliseconds). */
void gw_auth_forget(struct gw_auth *a);
/* The change listener's callback for 'hl_api_keys_changed' (arg: the gw_auth): empties the
 * cache and reloads the last key set, which answers while PostgreSQL cannot.
 * @locality the change listener thread */
void gw_auth_keys_changed(void *arg, PGconn *conn, const char *payload);

/* Authenticates the request into r->who. Returns 0, or the status of the error reply sent
 * (401 unknown key, 404 unknown X-Hookline-Tenant, 503 key store down). */
int gw_authenticate(struct gw_req *r);
bool gw_allowed(const struct gw_req *r, gw_perm perm);
/* 0 when the caller may; else replies 403 (role) or 400 (admin without a tenant). */
int gw_require(struct gw_req *r, gw_perm perm);

#endif
