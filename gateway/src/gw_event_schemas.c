/* Payload schemas of typed events, checked at ingest.
 *
 * An event whose type has a JSON Schema in the tenant's catalog must match it (422 with
 * pointers otherwise). Schemas are compiled on first use and cached per (tenant, type),
 * including "this type has no schema". The cache is emptied whenever the catalog changes
 * (the change listener, gw_listen.c, hears NOTIFY hl_event_types_changed) and bypassed while
 * that listener is disconnected, so a schema change applies to the very next event.
 *
 * While PostgreSQL cannot be asked, a type's schema comes from the catalog as the change
 * listener last loaded it (every schema's text, loaded when it connects and whenever the
 * catalog changes), compiled for the request, so typed events are still validated during
 * an outage.
 *
 * @locks cache_lock: readers validate under the read lock, so a schema is never freed
 * while a request uses it. catalog_lock guards the last catalog. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_db.h"
#include "gw_event_schemas.h"
#include "gw_listen.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "hl/jsonschema.h"
#include "hl/log.h"
#include "hl/hash.h"
#include "hl/mem.h"
#include "hl/banned.h"

#define SLOTS 1024 /* power of two; a collision just replaces the older entry */

struct slot {
    char *key; /* "<tenant>\n<type>"; NULL when empty */
    struct hl_schema *schema; /* NULL: the type has no schema (or is not in the catalog) */
};

static struct slot slots[SLOTS];
static pthread_rwlock_t cache_lock = PTHREAD_RWLOCK_INITIALIZER;

/* The catalog as last loaded: "<tenant or empty>\n<type>" -> schema text, sorted. */
struct catalog_entry {
    char *key;
    char *schema;
};
static struct catalog_entry *catalog;
static size_t ncatalog;
static bool catalog_loaded;
static pthread_mutex_t catalog_lock = PTHREAD_MUTEX_INITIALIZER;

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct catalog_entry *)a)->key, ((const struct catalog_entry *)b)->key);
}

static void catalog_free(struct catalog_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].schema);
    }
    free(v);
}

static void load_catalog(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT coalesce(tenant_id, ''), name, schema::text"
                                 " FROM event_types WHERE schema IS NOT NULL");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        hl_log(HL_LOG_WARN, "events", "cannot load the event-type catalog: %s",
               PQresultErrorMessage(res));
        PQclear(res);
        return;
    }
    size_t n = (size_t)PQntuples(res);
    struct catalog_entry *v = hl_xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        const char *tenant = PQgetvalue(res, (int)i, 0), *name = PQgetvalue(res, (int)i, 1);
        size_t len = strlen(tenant) + strlen(name) + 2;
        v[i].key = hl_xmalloc(len);
        snprintf(v[i].key, len, "%s\n%s", tenant, name);
        v[i].schema = hl_xstrdup(PQgetvalue(res, (int)i, 2));
    }
    PQclear(res);
    qsort(v, n, sizeof(*v), entry_cmp);
    pthread_mutex_lock(&catalog_lock);
    struct catalog_entry *old = catalog;
    size_t nold = ncatalog;
    catalog = v;
    ncatalog = n;
    catalog_loaded = true;
    pthread_mutex_unlock(&catalog_lock);
    catalog_free(old, nold);
}

/* The type's schema from the last catalog: 0 (schema or NULL in *out), -1 when no catalog
 * was ever loaded. A tenant's own type wins over a built-in one, as in load(). */
static int load_last(const char *tenant, const char *type, struct hl_schema **out)
{
    char key[256], err[256];
    *out = NULL;
    json_t *j = NULL;
    pthread_mutex_lock(&catalog_lock);
    if (!catalog_loaded) {
        pthread_mutex_unlock(&catalog_lock);
        return -1;
    }
    for (int pass = 0; pass < 2 && !j; pass++) {
        snprintf(key, sizeof(key), "%s\n%s", pass == 0 ? tenant : "", type);
        struct catalog_entry probe = {.key = key};
        const struct catalog_entry *e = bsearch(&probe, catalog, ncatalog, sizeof(probe),
                                                entry_cmp);
        if (e)
            j = json_loads(e->schema, JSON_DECODE_ANY, NULL);
    }
    pthread_mutex_unlock(&catalog_lock);
    if (j && hl_schema_compile(j, out, err, sizeof(err)) != HL_OK)
        hl_log(HL_LOG_ERROR, "events", "schema of event type '%s' does not compile: %s", type,
               err);
    json_decref(j);
    return 0;
}

static size_t hash(const char *s)
{
    return hl_hash_str(HL_HASH_INIT, s) & (SLOTS - 1);
}

void gw_event_schemas_clear(void)
{
    pthread_rwlock_wrlock(&cache_lock);
    for (size_t i = 0; i < SLOTS; i++) {
        free(slots[i].key);
        hl_schema_free(slots[i].schema);
        slots[i].key = NULL;
        slots[i].schema = NULL;
    }
    pthread_rwlock_unlock(&cache_lock);
}

/* Loads and compiles the type's schema. Returns 0 (schema or NULL in *out), -1 on a
 * database error. */
static int load(struct gw_req *r, const char *type, struct hl_schema **out)
{
    char err[256];
    *out = NULL;
    PGconn *c = gw_db_acquire(r->ctx->db, err, sizeof(err));
    if (!c)
        return -1;
    const char *params[] = {r->who.tenant, type};
    PGresult *res = PQexecParams(c,
                                 "SELECT schema::text FROM event_types WHERE name = $2 AND"
                                 " schema IS NOT NULL AND (tenant_id = $1 OR tenant_id IS NULL)",
                                 2, NULL, params, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = -1;
    } else if (PQntuples(res) > 0) {
        json_t *j = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
        /* Schemas were compiled before they were stored; one that no longer compiles (an
         * older Hookline accepted it) is logged and not enforced rather than blocking ingest. */
        if (!j || hl_schema_compile(j, out, err, sizeof(err)) != HL_OK)
            hl_log(HL_LOG_ERROR, "events", "schema of event type '%s' does not compile: %s",
                   type, err);
        json_decref(j);
    }
    PQclear(res);
    gw_db_release(r->ctx->db, c);
    return rc;
}

static bool check(const struct hl_schema *schema, const json_t *data, const char *prefix,
                  struct gw_errors *e)
{
    struct hl_schema_result res;
    hl_schema_result_init(&res, 0);
    bool ok = hl_schema_validate(schema, data, &res);
    char data_prefix[256];
    snprintf(data_prefix, sizeof(data_prefix), "%s/data", prefix);
    hl_schema_errors_append(e->list, &res, data_prefix);
    hl_schema_result_release(&res);
    return ok;
}

int gw_event_schema_check(struct gw_req *r, const char *type, const json_t *data,
                          const char *prefix, struct gw_errors *e)
{
    char key[256];
    snprintf(key, sizeof(key), "%s\n%s", r->who.tenant, type);
    struct slot *s = &slots[hash(key)];
    bool trusted = gw_listener_trusted(r->ctx->listener);

    if (trusted) {
        pthread_rwlock_rdlock(&cache_lock);
        if (s->key && strcmp(s->key, key) == 0) {
            int rc = !s->schema || check(s->schema, data, prefix, e) ? 0 : 1;
            pthread_rwlock_unlock(&cache_lock);
            return rc;
        }
        pthread_rwlock_unlock(&cache_lock);
    }

    struct hl_schema *schema;
    if (load(r, type, &schema) < 0) {
        if (load_last(r->who.tenant, type, &schema) < 0)
            return -1;
        trusted = false; /* possibly stale: not for the cache */
    }
    int rc = !schema || check(schema, data, prefix, e) ? 0 : 1;
    if (trusted) {
        pthread_rwlock_wrlock(&cache_lock);
        free(s->key);
        hl_schema_free(s->schema);
        s->key = hl_xstrdup(key);
        s->schema = schema;
        pthread_rwlock_unlock(&cache_lock);
    } else {
        hl_schema_free(schema);
    }
    return rc;
}

void gw_event_schemas_changed(void *unused, PGconn *conn, const char *payload)
{
    gw_event_schemas_clear();
    load_catalog(conn);
}
