/* Client event ids remembered while PostgreSQL is down (see gw_idmem.h).
 *
 * A ring of GW_IDMEM_CAP entries in claim order, indexed by a chained hash table; when the
 * ring is full the oldest entry is forgotten. */
#include "gw_idmem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/json.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/banned.h"

#define BUCKETS GW_IDMEM_CAP /* power of two */
#define NONE (-1)

struct entry {
    char *tenant, *id, *type;
    char ts[32];
    bool used, accepted, flushed;
    int next; /* in its bucket */
};

static struct entry ring[GW_IDMEM_CAP];
static int buckets[BUCKETS];
static int head; /* next slot of the ring to fill */
static bool ready;
static atomic_int unflushed;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned bucket_of(const char *tenant, const char *id)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over "tenant\nid" */
    for (const char *s = tenant; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = (h ^ '\n') * 1099511628211ull;
    for (const char *s = id; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (unsigned)(h & (BUCKETS - 1));
}

/* @locks mu */
static void init_locked(void)
{
    if (ready)
        return;
    for (int i = 0; i < BUCKETS; i++)
        buckets[i] = NONE;
    ready = true;
}

/* @locks mu */
static int find_locked(const char *tenant, const char *id)
{
    init_locked();
    for (int i = buckets[bucket_of(tenant, id)]; i != NONE; i = ring[i].next)
        if (strcmp(ring[i].id, id) == 0 && strcmp(ring[i].tenant, tenant) == 0)
            return i;
    return NONE;
}

/* @locks mu */
static void forget_locked(int i)
{
    struct entry *e = &ring[i];
    int *link = &buckets[bucket_of(e->tenant, e->id)];
    while (*link != i)
        link = &ring[*link].next;
    *link = e->next;
    if (e->accepted && !e->flushed)
        atomic_fetch_sub(&unflushed, 1);
    free(e->tenant);
    free(e->id);
    free(e->type);
    memset(e, 0, sizeof(*e));
}

static void original(const struct entry *e, char *ts, char *type_out, size_t type_len)
{
    snprintf(ts, 32, "%s", e->ts);
    snprintf(type_out, type_len, "%s", e->type);
}

gw_idmem_state gw_idmem_claim(const char *tenant, const char *id, const char *type, char *ts,
                              char *type_out, size_t type_len)
{
    pthread_mutex_lock(&mu);
    int i = find_locked(tenant, id);
    gw_idmem_state st = GW_IDMEM_NEW;
    if (i != NONE) {
        st = ring[i].accepted ? GW_IDMEM_ACCEPTED : GW_IDMEM_IN_FLIGHT;
        if (st == GW_IDMEM_ACCEPTED)
            original(&ring[i], ts, type_out, type_len);
    } else {
        if (ring[head].used) {
            if (ring[head].accepted && !ring[head].flushed)
                hl_log(HL_LOG_WARN, "events", "client event id '%s' forgotten before PostgreSQL "
                                              "came back: a repeat of it is accepted again",
                       ring[head].id);
            forget_locked(head);
        }
        struct entry *e = &ring[head];
        e->tenant = hl_xstrdup(tenant);
        e->id = hl_xstrdup(id);
        e->type = hl_xstrdup(type);
        e->used = true;
        unsigned b = bucket_of(tenant, id);
        e->next = buckets[b];
        buckets[b] = head;
        head = (head + 1) % GW_IDMEM_CAP;
    }
    pthread_mutex_unlock(&mu);
    return st;
}

bool gw_idmem_find(const char *tenant, const char *id, char *ts, char *type_out,
                   size_t type_len)
{
    if (atomic_load(&unflushed) == 0)
        return false;
    pthread_mutex_lock(&mu);
    int i = find_locked(tenant, id);
    bool found = i != NONE && ring[i].accepted && !ring[i].flushed;
    if (found)
        original(&ring[i], ts, type_out, type_len);
    pthread_mutex_unlock(&mu);
    return found;
}

void gw_idmem_settle(const char *tenant, const char *id, bool accepted, const char *ts)
{
    pthread_mutex_lock(&mu);
    int i = find_locked(tenant, id);
    if (i != NONE && !ring[i].accepted) {
        if (accepted) {
            ring[i].accepted = true;
            snprintf(ring[i].ts, sizeof(ring[i].ts), "%s", ts);
            atomic_fetch_add(&unflushed, 1);
        } else {
            forget_locked(i);
        }
    }
    pthread_mutex_unlock(&mu);
}

bool gw_idmem_pending(void)
{
    return atomic_load(&unflushed) > 0;
}

/* One round of gw_idmem_flush: at most FLUSH_BATCH entries, written in one statement
 * outside the lock. Returns how many were written, -1 on a database error. */
#define FLUSH_BATCH 500
static int flush_batch(PGconn *conn)
{
    struct hl_buf arr[4] = {HL_BUF_INIT, HL_BUF_INIT, HL_BUF_INIT, HL_BUF_INIT};
    int idx[FLUSH_BATCH], n = 0;
    const char *ids[FLUSH_BATCH];
    pthread_mutex_lock(&mu);
    for (int i = 0; i < GW_IDMEM_CAP && n < FLUSH_BATCH; i++) {
        struct entry *e = &ring[i];
        if (!e->used || !e->accepted || e->flushed)
            continue;
        const char *v[4] = {e->tenant, e->id, e->type, e->ts};
        for (int k = 0; k < 4; k++) {
            hl_buf_addch(&arr[k], n ? ',' : '[');
            hl_buf_add_json_str(&arr[k], v[k], strlen(v[k]));
        }
        ids[n] = e->id;
        idx[n++] = i;
    }
    pthread_mutex_unlock(&mu);
    if (!n)
        return 0;
    for (int k = 0; k < 4; k++)
        hl_buf_addch(&arr[k], ']');
    const char *params[] = {arr[0].ptr, arr[1].ptr, arr[2].ptr, arr[3].ptr};
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO event_ids (tenant_id, id, event_type, state, accepted_at)"
        " SELECT t, i, y, 'accepted', s FROM ROWS FROM ("
        "   json_array_elements_text($1::json), json_array_elements_text($2::json),"
        "   json_array_elements_text($3::json), json_array_elements_text($4::json)) AS x(t, i, y, s)"
        " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = t)"
        " ON CONFLICT (tenant_id, id) DO NOTHING",
        4, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        hl_log(HL_LOG_WARN, "events", "cannot write client event ids: %s",
               PQresultErrorMessage(res));
    PQclear(res);
    for (int k = 0; k < 4; k++)
        hl_buf_release(&arr[k]);
    if (!ok)
        return -1;
    pthread_mutex_lock(&mu);
    for (int j = 0; j < n; j++) {
        struct entry *e = &ring[idx[j]];
        /* still the same entry unless the ring wrapped meanwhile (then it was counted off) */
        if (e->used && e->id == ids[j] && e->accepted && !e->flushed) {
            e->flushed = true;
            atomic_fetch_sub(&unflushed, 1);
        }
    }
    pthread_mutex_unlock(&mu);
    return n;
}

void gw_idmem_flush(PGconn *conn)
{
    int written = 0, k;
    while (atomic_load(&unflushed) > 0 && (k = flush_batch(conn)) > 0)
        written += k;
    if (written)
        hl_log(HL_LOG_INFO, "events", "%d client event ids accepted without PostgreSQL written "
                                      "to event_ids", written);
}
