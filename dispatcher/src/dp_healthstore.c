/* Endpoint health in PostgreSQL (see dp_healthstore.h).
 *
 * Two tables of webhook id -> state under one mutex: `known`, what PostgreSQL said plus what
 * this dispatcher recorded, for lookups; `dirty`, what is recorded and not yet written.
 * Both are small: a webhook appears only once its health moved. */
#include "dp_healthstore.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl/buf.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/time.h"
#include "hl/banned.h"

#define WRITE_MS 200
#define READ_MS 1000
/* Rows are read again from this long before the newest seen: another dispatcher's
 * transaction may commit a row stamped a little earlier than one already read. */
#define READ_OVERLAP_MS 5000
#define BUCKETS 1024

#define WRITE_SQL                                                                                  \
    "INSERT INTO webhook_health (webhook_id, breaker_open, breaker_open_until, tripped,"          \
    " failing_since, updated_at)"                                                                  \
    " SELECT r.id::uuid, r.open, to_timestamp(r.until / 1000.0), r.tripped,"                      \
    "  to_timestamp(nullif(r.since, 0) / 1000.0), to_timestamp(r.at / 1000.0)"                    \
    " FROM json_to_recordset($1::json) AS r(id text, open boolean, until bigint, tripped boolean," \
    "  since bigint, at bigint)"                                                                   \
    " WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.id::text = r.id)"                             \
    " ON CONFLICT (webhook_id) DO UPDATE SET breaker_open = EXCLUDED.breaker_open,"               \
    "  breaker_open_until = EXCLUDED.breaker_open_until, tripped = EXCLUDED.tripped,"             \
    "  failing_since = EXCLUDED.failing_since, updated_at = EXCLUDED.updated_at"                  \
    " WHERE webhook_health.updated_at <= EXCLUDED.updated_at"
#define READ_SQL                                                                                   \
    "SELECT webhook_id::text, breaker_open,"                                                       \
    " coalesce((extract(epoch FROM breaker_open_until) * 1000)::bigint, 0), tripped,"             \
    " coalesce((extract(epoch FROM failing_since) * 1000)::bigint, 0),"                           \
    " (extract(epoch FROM updated_at) * 1000)::bigint"                                             \
    " FROM webhook_health WHERE updated_at > to_timestamp($1::bigint / 1000.0)"

struct entry {
    char *id;
    struct dp_health_saved v;
    int64_t at_ms; /* wall clock of the state */
    struct entry *next;
};

struct map {
    struct entry *b[BUCKETS];
};

struct dp_healthstore {
    char *dsn;
    pthread_t thread;
    bool started;
    int stop_pipe[2];
    pthread_mutex_t mu;
    pthread_cond_t first_read;
    bool read_once;     /* @locks mu */
    struct map known;   /* @locks mu */
    struct map dirty;   /* @locks mu */
    int64_t read_since; /* thread only: wall ms of the newest row read */
};

static unsigned bucket(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % BUCKETS;
}

/* Sets id's state in m unless m holds a newer one. */
static void map_set(struct map *m, const char *id, const struct dp_health_saved *v, int64_t at)
{
    struct entry **slot = &m->b[bucket(id)], *e;
    for (e = *slot; e; e = e->next)
        if (strcmp(e->id, id) == 0)
            break;
    if (!e) {
        e = hl_xcalloc(1, sizeof(*e));
        e->id = hl_xstrdup(id);
        e->next = *slot;
        *slot = e;
    } else if (e->at_ms > at) {
        return;
    }
    e->v = *v;
    e->at_ms = at;
}

static void map_clear(struct map *m)
{
    for (size_t i = 0; i < BUCKETS; i++) {
        struct entry *e = m->b[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e->id);
            free(e);
        }
        m->b[i] = NULL;
    }
}

struct dp_healthstore *dp_healthstore_new(const char *pg_dsn)
{
    struct dp_healthstore *s = hl_xcalloc(1, sizeof(*s));
    s->dsn = hl_xstrdup(pg_dsn);
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->first_read, NULL);
    return s;
}

void dp_healthstore_put(struct dp_healthstore *s, const char *webhook_id,
                        const struct dp_health_saved *v, int64_t wall_ms)
{
    pthread_mutex_lock(&s->mu);
    map_set(&s->known, webhook_id, v, wall_ms);
    map_set(&s->dirty, webhook_id, v, wall_ms);
    pthread_mutex_unlock(&s->mu);
}

bool dp_healthstore_get(struct dp_healthstore *s, const char *webhook_id,
                        struct dp_health_saved *out)
{
    bool found = false;
    pthread_mutex_lock(&s->mu);
    for (struct entry *e = s->known.b[bucket(webhook_id)]; e; e = e->next)
        if (strcmp(e->id, webhook_id) == 0) {
            *out = e->v;
            found = true;
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return found;
}

/* Writes the dirty states in one statement; they stay dirty if it fails. */
static bool write_dirty(struct dp_healthstore *s, PGconn *conn)
{
    struct map batch = {0};
    pthread_mutex_lock(&s->mu);
    batch = s->dirty;
    memset(&s->dirty, 0, sizeof(s->dirty));
    pthread_mutex_unlock(&s->mu);

    struct hl_buf json = HL_BUF_INIT;
    size_t n = 0;
    hl_buf_addch(&json, '[');
    for (size_t i = 0; i < BUCKETS; i++)
        for (struct entry *e = batch.b[i]; e; e = e->next) {
            if (n++)
                hl_buf_addch(&json, ',');
            hl_buf_adds(&json, "{\"id\":");
            hl_buf_add_json_str(&json, e->id, strlen(e->id));
            hl_buf_addf(&json,
                        ",\"open\":%s,\"until\":%lld,\"tripped\":%s,\"since\":%lld,\"at\":%lld}",
                        e->v.open ? "true" : "false", (long long)e->v.open_until_ms,
                        e->v.tripped ? "true" : "false", (long long)e->v.failing_since_ms,
                        (long long)e->at_ms);
        }
    hl_buf_addch(&json, ']');
    bool ok = true;
    if (n) {
        const char *params[] = {json.ptr};
        PGresult *r = PQexecParams(conn, WRITE_SQL, 1, NULL, params, NULL, NULL, 0);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            hl_log(HL_LOG_WARN, "health", "cannot write the health of %zu webhooks: %s", n,
                   PQresultErrorMessage(r));
        PQclear(r);
    }
    hl_buf_release(&json);
    if (!ok) { /* back into dirty, unless something newer came meanwhile */
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < BUCKETS; i++)
            for (struct entry *e = batch.b[i]; e; e = e->next)
                map_set(&s->dirty, e->id, &e->v, e->at_ms);
        pthread_mutex_unlock(&s->mu);
    }
    map_clear(&batch);
    return ok;
}

/* Reads the rows changed since the last read into known. */
static bool read_changed(struct dp_healthstore *s, PGconn *conn)
{
    char since[24];
    snprintf(since, sizeof(since), "%lld",
             (long long)(s->read_since > READ_OVERLAP_MS ? s->read_since - READ_OVERLAP_MS : 0));
    const char *params[] = {since};
    PGresult *r = PQexecParams(conn, READ_SQL, 1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) {
        hl_log(HL_LOG_WARN, "health", "cannot read webhook health: %s", PQresultErrorMessage(r));
    } else {
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < PQntuples(r); i++) {
            struct dp_health_saved v = {
                .open = strcmp(PQgetvalue(r, i, 1), "t") == 0,
                .open_until_ms = strtoll(PQgetvalue(r, i, 2), NULL, 10),
                .tripped = strcmp(PQgetvalue(r, i, 3), "t") == 0,
                .failing_since_ms = strtoll(PQgetvalue(r, i, 4), NULL, 10),
            };
            int64_t at = strtoll(PQgetvalue(r, i, 5), NULL, 10);
            map_set(&s->known, PQgetvalue(r, i, 0), &v, at);
            if (at > s->read_since)
                s->read_since = at;
        }
        if (!s->read_once) {
            s->read_once = true;
            pthread_cond_broadcast(&s->first_read);
        }
        pthread_mutex_unlock(&s->mu);
    }
    PQclear(r);
    return ok;
}

static bool wait_stop(struct dp_healthstore *s, int ms)
{
    struct pollfd p = {.fd = s->stop_pipe[0], .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

static void *store_main(void *arg)
{
    struct dp_healthstore *s = arg;
    PGconn *conn = NULL;
    char err[256];
    int64_t next_read = 0;
    for (;;) {
        if (!conn)
            conn = hl_pg_connect(s->dsn, err, sizeof(err)); /* NULL: subs says it is away */
        if (conn) {
            bool ok = write_dirty(s, conn);
            if (ok && hl_mono_ms() >= next_read) {
                ok = read_changed(s, conn);
                next_read = hl_mono_ms() + READ_MS;
            }
            if (!ok && PQstatus(conn) != CONNECTION_OK) {
                PQfinish(conn);
                conn = NULL;
            }
        }
        if (wait_stop(s, conn ? WRITE_MS : 1000))
            break;
    }
    if (conn)
        write_dirty(s, conn); /* what the last moments recorded */
    PQfinish(conn);
    return NULL;
}

hl_err dp_healthstore_start(struct dp_healthstore *s, int64_t wait_ms, char *errbuf,
                            size_t errlen)
{
    if (pipe2(s->stop_pipe, O_CLOEXEC) != 0) {
        snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
        return HL_EIO;
    }
    int rc = pthread_create(&s->thread, NULL, store_main, s);
    if (rc != 0) {
        snprintf(errbuf, errlen, "cannot start the health store's thread: %s", strerror(rc));
        return HL_EIO;
    }
    s->started = true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->read_once)
        if (pthread_cond_timedwait(&s->first_read, &s->mu, &until) == ETIMEDOUT)
            break;
    bool read = s->read_once;
    pthread_mutex_unlock(&s->mu);
    if (!read)
        hl_log(HL_LOG_WARN, "health", "no webhook health read from PostgreSQL yet; webhooks "
                                      "start healthy until it answers");
    return HL_OK;
}

void dp_healthstore_free(struct dp_healthstore *s)
{
    if (!s)
        return;
    if (s->started) {
        char c = 1;
        while (write(s->stop_pipe[1], &c, 1) < 0 && errno == EINTR)
            ;
        pthread_join(s->thread, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (s->stop_pipe[i] >= 0)
            close(s->stop_pipe[i]);
    map_clear(&s->known);
    map_clear(&s->dirty);
    pthread_cond_destroy(&s->first_read);
    pthread_mutex_destroy(&s->mu);
    free(s->dsn);
    free(s);
}
