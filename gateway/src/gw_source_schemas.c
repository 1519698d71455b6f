/* Compiled payload schemas of incoming webhook sources, cached per (source id, updated_at).
 *
 * Every request to /api/v1/incoming/{id} reads its source row anyway (one primary-key
 * lookup), so the row's updated_at comes with it and names the schema's version: a PATCH on
 * any gateway gives the row a new updated_at, and the next request here misses and compiles
 * the new schema. No NOTIFY is needed for correctness; the sources routes still call
 * gw_source_schema_forget on update and delete so that this gateway frees the old entry
 * at once.
 *
 * The table is fixed (SLOTS entries, direct-mapped by the id's hash; a collision replaces
 * the older entry), so memory is bounded however many sources exist. Entries are reference
 * counted: a request validates without holding the lock, and an entry replaced or forgotten
 * meanwhile is freed by whoever drops the last reference. A schema that no longer compiles
 * (an older Hookline accepted it) is cached as such too, so it is logged once per version.
 *
 * @locks cache_lock, held only to look up, insert and count references; any thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_source_schemas.h"
#include "hl/jsonschema.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/banned.h"

#define SLOTS 1024 /* power of two */

struct gw_source_schema {
    char id[40];
    char version[40];
    struct hl_schema *schema; /* NULL: it does not compile, and is not enforced */
    int refs;                 /* the table's reference plus one per request using it */
};

static struct gw_source_schema *slots[SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const char *id)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return h & (SLOTS - 1);
}

/* Drops one reference; the caller holds cache_lock. Returns the entry to free outside the
 * lock (compiled schemas can be large), or NULL. */
static struct gw_source_schema *unref_locked(struct gw_source_schema *e)
{
    return e && --e->refs == 0 ? e : NULL;
}

static void entry_free(struct gw_source_schema *e)
{
    if (e) {
        hl_schema_free(e->schema);
        free(e);
    }
}

struct gw_source_schema *gw_source_schema_get(const char *id, const char *version,
                                              const json_t *schema)
{
    size_t i = slot_of(id);
    pthread_mutex_lock(&cache_lock);
    struct gw_source_schema *e = slots[i];
    if (e && strcmp(e->id, id) == 0 && strcmp(e->version, version) == 0) {
        e->refs++;
        pthread_mutex_unlock(&cache_lock);
        return e;
    }
    pthread_mutex_unlock(&cache_lock);

    /* Compiled outside the lock: two requests missing together both compile, and the
     * second to insert wins; each keeps using its own until it is done. */
    char why[512];
    e = hl_xcalloc(1, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->version, sizeof(e->version), "%s", version);
    if (hl_schema_compile(schema, &e->schema, why, sizeof(why)) != HL_OK)
        hl_log(HL_LOG_ERROR, "incoming",
               "payload schema of source '%s' does not compile, so it is not enforced: %s", id,
               why);
    else
        hl_log(HL_LOG_DEBUG, "incoming", "compiled the payload schema of source '%s' (version %s)",
               id, version);
    e->refs = 2; /* the table's and the caller's */

    pthread_mutex_lock(&cache_lock);
    struct gw_source_schema *old = unref_locked(slots[i]);
    slots[i] = e;
    pthread_mutex_unlock(&cache_lock);
    entry_free(old);
    return e;
}

const struct hl_schema *gw_source_schema_compiled(const struct gw_source_schema *e)
{
    return e->schema;
}

void gw_source_schema_put(struct gw_source_schema *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&cache_lock);
    struct gw_source_schema *dead = unref_locked(e);
    pthread_mutex_unlock(&cache_lock);
    entry_free(dead);
}

void gw_source_schema_forget(const char *id)
{
    size_t i = slot_of(id);
    struct gw_source_schema *dead = NULL;
    pthread_mutex_lock(&cache_lock);
    if (slots[i] && strcmp(slots[i]->id, id) == 0) {
        dead = unref_locked(slots[i]);
        slots[i] = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    entry_free(dead);
}

void gw_source_schemas_clear(void)
{
    for (size_t i = 0; i < SLOTS; i++) {
        pthread_mutex_lock(&cache_lock);
        struct gw_source_schema *dead = unref_locked(slots[i]);
        slots[i] = NULL;
        pthread_mutex_unlock(&cache_lock);
        entry_free(dead);
    }
}

size_t gw_source_schemas_cached(void)
{
    size_t n = 0;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < SLOTS; i++)
        n += slots[i] != NULL;
    pthread_mutex_unlock(&cache_lock);
    return n;
}
