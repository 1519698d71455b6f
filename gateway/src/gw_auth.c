/* Authentication and authorization.
 *
 * `Authorization: Bearer <key>`. The bootstrap admin key comes from config; all other keys
 * live in api_keys as SHA-256 hashes. Looked-up keys are cached so that ingest does not
 * cost a query per request, and the cache is trustworthy only while the change listener
 * (gw_listen.c) hears 'hl_api_keys_changed': every notification empties it through
 * gw_auth_forget (so a revocation on any gateway takes effect on all of them within
 * milliseconds), and while the listener is disconnected the cache is bypassed entirely.
 *
 * PostgreSQL outages: the listener also has this module keep the whole set of unrevoked
 * keys as last seen (gw_auth_keys_changed); when a key cannot be looked up it is checked
 * against that set, so ingest goes on. A key revoked during the outage stays valid on this
 * gateway until PostgreSQL answers again (docs/operations.md).
 *
 * Roles, from most to least powerful: admin (all tenants, tenants and keys), tenant_admin
 * (everything inside its tenant), publisher (may only post events), viewer (read-only). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "gw_auth.h"
#include "gw_config.h"
#include "gw_db.h"
#include "gw_listen.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_sql.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/time.h"
#include "hl/banned.h"

#define CACHE_SLOTS 4096 /* power of two */
#define CACHE_TTL_MS 60000

struct cache_slot {
    unsigned char hash[32];
    bool used;
    int64_t expires_ms;
    struct gw_principal who;
};

/* The last key set seen: every unrevoked key, loaded by the listener when it connects and
 * whenever keys change. It answers only when PostgreSQL cannot be asked, so that ingest
 * goes on through an outage (a key cannot be revoked while the database is down). */
struct key_rec {
    unsigned char hash[32];
    struct gw_principal who;
};

struct key_set {
    size_t n;
    struct key_rec *v; /* sorted by hash */
};

struct gw_auth {
    pthread_mutex_t mu;
    struct key_set *keys; /* @locks mu; NULL until the first load */
    struct cache_slot slots[CACHE_SLOTS];
    unsigned char admin_hash[32];
    bool has_admin;
};

void gw_key_hash(const char *key, unsigned char out[32])
{
    unsigned int n = 32;
    EVP_Digest(key, strlen(key), out, &n, EVP_sha256(), NULL);
}

static void cache_clear(struct gw_auth *a)
{
    pthread_mutex_lock(&a->mu);
    memset(a->slots, 0, sizeof(a->slots));
    pthread_mutex_unlock(&a->mu);
}

static struct cache_slot *slot_for(struct gw_auth *a, const unsigned char hash[32])
{
    size_t h;
    memcpy(&h, hash, sizeof(h));
    return &a->slots[h & (CACHE_SLOTS - 1)];
}

static int key_rec_cmp(const void *a, const void *b)
{
    return memcmp(((const struct key_rec *)a)->hash, ((const struct key_rec *)b)->hash, 32);
}

static void key_set_free(struct key_set *k)
{
    if (!k)
        return;
    OPENSSL_cleanse(k->v, k->n * sizeof(*k->v));
    free(k->v);
    free(k);
}

/* Loads every unrevoked key into the last key set. @locality the listener thread */
static void key_set_load(struct gw_auth *a, PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT encode(key_hash, 'hex'), id, coalesce(tenant_id, ''),"
                                 " role, coalesce(rate_limit_per_s, -1) FROM api_keys"
                                 " WHERE revoked_at IS NULL");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        hl_log(HL_LOG_WARN, "auth", "cannot load the key set: %s", PQresultErrorMessage(res));
        PQclear(res);
        return;
    }
    struct key_set *k = hl_xcalloc(1, sizeof(*k));
    k->v = hl_xcalloc((size_t)PQntuples(res) + 1, sizeof(*k->v));
    for (int i = 0; i < PQntuples(res); i++) {
        struct key_rec *rec = &k->v[k->n];
        const char *hex = PQgetvalue(res, i, 0);
        long len = 0;
        unsigned char *raw = OPENSSL_hexstr2buf(hex, &len);
        if (!raw || len != 32) {
            OPENSSL_free(raw);
            continue;
        }
        memcpy(rec->hash, raw, 32);
        OPENSSL_free(raw);
        snprintf(rec->who.key_id, sizeof(rec->who.key_id), "%s", PQgetvalue(res, i, 1));
        snprintf(rec->who.tenant, sizeof(rec->who.tenant), "%s", PQgetvalue(res, i, 2));
        rec->who.role = gw_role_parse(PQgetvalue(res, i, 3));
        rec->who.rate_limit_per_s = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        k->n++;
    }
    PQclear(res);
    qsort(k->v, k->n, sizeof(*k->v), key_rec_cmp);
    pthread_mutex_lock(&a->mu);
    struct key_set *old = a->keys;
    a->keys = k;
    pthread_mutex_unlock(&a->mu);
    key_set_free(old);
    hl_log(HL_LOG_DEBUG, "auth", "key set of %zu keys loaded", k->n);
}

/* The key in the last key set: 1 found, 0 not in it, -1 no key set was ever loaded. */
static int key_set_find(struct gw_auth *a, const unsigned char hash[32], struct gw_principal *who)
{
    struct key_rec probe;
    memcpy(probe.hash, hash, 32);
    pthread_mutex_lock(&a->mu);
    int found = -1;
    if (a->keys) {
        const struct key_rec *rec = bsearch(&probe, a->keys->v, a->keys->n, sizeof(probe),
                                            key_rec_cmp);
        found = rec != NULL;
        if (rec)
            *who = rec->who;
    }
    pthread_mutex_unlock(&a->mu);
    return found;
}

void gw_auth_keys_changed(void *arg, PGconn *conn, const char *payload)
{
    struct gw_auth *a = arg;
    cache_clear(a);
    key_set_load(a, conn);
}

struct gw_auth *gw_auth_new(const struct gw_config *cfg)
{
    struct gw_auth *a = hl_xcalloc(1, sizeof(*a));
    pthread_mutex_init(&a->mu, NULL);
    if (cfg->admin_api_key && *cfg->admin_api_key) {
        gw_key_hash(cfg->admin_api_key, a->admin_hash);
        a->has_admin = true;
    }
    return a;
}

void gw_auth_free(struct gw_auth *a)
{
    if (!a)
        return;
    key_set_free(a->keys);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* Looks the key up in PostgreSQL. Returns 1 found, 0 not found, -1 database error. */
static int lookup(struct gw_req *r, const unsigned char hash[32], struct gw_principal *who)
{
    char err[256], hex[65];
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[hash[i] >> 4];
        hex[2 * i + 1] = digits[hash[i] & 15];
    }
    hex[64] = '\0';
    PGconn *c = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!c)
        return -1;
    const char *params[] = {hex};
    PGresult *res = PQexecParams(c,
                                 "SELECT id, coalesce(tenant_id, ''), role,"
                                 " coalesce(rate_limit_per_s, -1) FROM api_keys"
                                 " WHERE key_hash = decode($1, 'hex') AND revoked_at IS NULL",
                                 1, NULL, params, NULL, NULL, 0);
    int found = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        found = PQntuples(res) > 0;
        if (found) {
            snprintf(who->key_id, sizeof(who->key_id), "%s", PQgetvalue(res, 0, 0));
            snprintf(who->tenant, sizeof(who->tenant), "%s", PQgetvalue(res, 0, 1));
            who->role = gw_role_parse(PQgetvalue(res, 0, 2));
            who->rate_limit_per_s = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        }
    } else {
        hl_pg_errmsg(c, err, sizeof(err));
        hl_log(HL_LOG_ERROR, "auth", "key lookup failed: %s", err);
    }
    PQclear(res);
    gw_db_release(r->ctx->db, c);
    return found;
}

/* Admins act on a tenant's resources by naming it; it must exist. */
static int admin_tenant(struct gw_req *r)
{
    const char *t = mg_get_header(r->conn, "X-Hookline-Tenant");
    if (!t || !*t)
        return 0;
    char err[256];
    PGconn *c = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!c)
        return gw_reply_db_unreachable(r, "tenant store");
    const char *params[] = {t};
    PGresult *res = PQexecParams(c, "SELECT 1 FROM tenants WHERE id = $1", 1, NULL, params,
                                 NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    PQclear(res);
    gw_db_release(r->ctx->db, c);
    if (!ok)
        return gw_reply_problem(r, 404, "tenant-not-found", "Tenant not found",
                                "X-Hookline-Tenant names no tenant");
    snprintf(r->who.tenant, sizeof(r->who.tenant), "%s", t);
    return 0;
}

int gw_authenticate(struct gw_req *r)
{
    struct gw_auth *a = r->ctx->auth;
    const char *h = mg_get_header(r->conn, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7])
        return gw_reply_problem(r, 401, "unauthorized", "Unauthorized",
                                "send an API key as 'Authorization: Bearer <key>'");
    const char *key = h + 7;
    unsigned char hash[32];
    gw_key_hash(key, hash);
    memset(&r->who, 0, sizeof(r->who));
    r->who.rate_limit_per_s = -1;

    if (a->has_admin && CRYPTO_memcmp(hash, a->admin_hash, 32) == 0) {
        r->who.role = GW_ROLE_ADMIN;
        snprintf(r->who.key_id, sizeof(r->who.key_id), "bootstrap");
        return admin_tenant(r);
    }

    bool cached = false;
    int64_t now = hl_mono_ms();
    if (gw_listener_trusted(r->ctx->listener)) {
        pthread_mutex_lock(&a->mu);
        struct cache_slot *s = slot_for(a, hash);
        if (s->used && s->expires_ms > now && memcmp(s->hash, hash, 32) == 0) {
            r->who = s->who;
            cached = true;
        }
        pthread_mutex_unlock(&a->mu);
    }
    if (!cached) {
        int found = lookup(r, hash, &r->who);
        if (found < 0 && (found = key_set_find(a, hash, &r->who)) >= 0)
            hl_log(HL_LOG_DEBUG, "auth", "PostgreSQL unreachable: key checked against the last "
                                         "key set");
        if (found < 0)
            return gw_reply_problem(r, 503, "database-unavailable", "Database unavailable",
                                    "API keys cannot be checked right now; retry later");
        if (!found)
            return gw_reply_problem(r, 401, "unauthorized", "Unauthorized",
                                    "the API key is not valid or was revoked");
        if (gw_listener_trusted(r->ctx->listener)) {
            pthread_mutex_lock(&a->mu);
            struct cache_slot *s = slot_for(a, hash);
            memcpy(s->hash, hash, 32);
            s->used = true;
            s->expires_ms = now + CACHE_TTL_MS;
            s->who = r->who;
            pthread_mutex_unlock(&a->mu);
        }
    }
    if (r->who.role == GW_ROLE_ADMIN)
        return admin_tenant(r);
    return 0;
}

void gw_auth_forget(struct gw_auth *a)
{
    cache_clear(a);
}

bool gw_allowed(const struct gw_req *r, gw_perm perm)
{
    gw_role role = r->who.role;
    switch (perm) {
    case GW_PERM_READ: return role == GW_ROLE_VIEWER || role >= GW_ROLE_TENANT_ADMIN;
    case GW_PERM_PUBLISH: return role >= GW_ROLE_PUBLISHER;
    case GW_PERM_WRITE: return role >= GW_ROLE_TENANT_ADMIN;
    case GW_PERM_ADMIN: return role == GW_ROLE_ADMIN;
    case GW_PERM_NONE: return true;
    }
    return false;
}

int gw_require(struct gw_req *r, gw_perm perm)
{
    static const char *const what[] = {"", "read", "publish events", "change", "administer"};
    if (!gw_allowed(r, perm))
        return gw_reply_problem(r, 403, "forbidden", "Forbidden",
                                "a %s key may not %s here", gw_role_name(r->who.role),
                                what[perm]);
    if (perm != GW_PERM_ADMIN && perm != GW_PERM_NONE && !r->who.tenant[0])
        return gw_reply_problem(r, 400, "tenant-required", "Tenant required",
                                "admin keys name the tenant to act on with X-Hookline-Tenant");
    return 0;
}
