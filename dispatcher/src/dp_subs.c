/* The subscription cache's loader thread and snapshot publication (see dp_subs.h).
 *
 * Order matters on every (re)connect: LISTEN first, load second. A change committed after
 * the LISTEN is announced to us even if our load missed it; one committed before it is in
 * the load. Notifications that arrive while a load runs are buffered by libpq and drained
 * right after, so they trigger another load rather than being lost. */
#include "dp_subs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/time.h"
#include "hl/banned.h"

#define DEBOUNCE_MS 50
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

#define LOAD_SQL                                                                                   \
    "SELECT id::text, tenant_id, url, array_to_json(events)::text, secret"                         \
    " FROM webhooks WHERE status = 'active'"

struct dp_subs {
    char *dsn;
    int64_t refresh_ms;
    pthread_t thread;
    bool started;
    int stop_pipe[2]; /* written once by dp_subs_free() to wake the thread */

    pthread_mutex_t lock;
    pthread_cond_t loaded;
    struct dp_snapshot *current; /* @locks lock; NULL until the first load */
};

static void webhook_release(struct dp_webhook *w)
{
    free(w->id);
    free(w->tenant);
    free(w->url);
    for (size_t i = 0; i < w->nevents; i++)
        free(w->events[i]);
    free(w->events);
    explicit_bzero(&w->secret, sizeof(w->secret));
}

static void snapshot_free(struct dp_snapshot *snap)
{
    for (size_t i = 0; i < snap->n; i++)
        webhook_release(&snap->hooks[i]);
    free(snap->hooks);
    free(snap);
}

void dp_snapshot_release(struct dp_snapshot *snap)
{
    if (snap && atomic_fetch_sub(&snap->refs, 1) == 1)
        snapshot_free(snap);
}

static int webhook_cmp(const void *a, const void *b)
{
    const struct dp_webhook *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);
    return c ? c : strcmp(x->id, y->id);
}

size_t dp_snapshot_tenant(const struct dp_snapshot *snap, const char *tenant, size_t *count)
{
    size_t lo = 0, hi = snap->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(snap->hooks[mid].tenant, tenant) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < snap->n && strcmp(snap->hooks[end].tenant, tenant) == 0)
        end++;
    *count = end - lo;
    return lo;
}

/* Fills w from one result row; false (and w empty) when the row cannot be used. */
static bool webhook_from_row(PGresult *r, int row, struct dp_webhook *w)
{
    char err[256];
    const char *id = PQgetvalue(r, row, 0);
    memset(w, 0, sizeof(*w));

    if (hl_whsec_decode(PQgetvalue(r, row, 4), &w->secret, err, sizeof(err))) {
        hl_log(HL_LOG_ERROR, "subs", "webhook '%s' skipped: secret: %s", id, err);
        return false;
    }
    json_error_t jerr;
    json_t *events = json_loads(PQgetvalue(r, row, 3), 0, &jerr);
    if (!json_is_array(events)) {
        hl_log(HL_LOG_ERROR, "subs", "webhook '%s' skipped: events is not an array", id);
        json_decref(events);
        explicit_bzero(&w->secret, sizeof(w->secret));
        return false;
    }
    w->events = hl_xcalloc(json_array_size(events) + 1, sizeof(char *));
    size_t i;
    json_t *v;
    json_array_foreach(events, i, v)
    {
        if (json_is_string(v))
            w->events[w->nevents++] = hl_xstrdup(json_string_value(v));
    }
    json_decref(events);
    w->id = hl_xstrdup(id);
    w->tenant = hl_xstrdup(PQgetvalue(r, row, 1));
    w->url = hl_xstrdup(PQgetvalue(r, row, 2));
    return true;
}

static void publish(struct dp_subs *s, struct dp_snapshot *snap)
{
    pthread_mutex_lock(&s->lock);
    struct dp_snapshot *old = s->current;
    s->current = snap;
    pthread_cond_broadcast(&s->loaded);
    pthread_mutex_unlock(&s->lock);
    dp_snapshot_release(old);
}

static hl_err reload(struct dp_subs *s, PGconn *conn, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, LOAD_SQL);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        hl_pg_errmsg(conn, errbuf, errlen);
        PQclear(r);
        return HL_EIO;
    }
    int rows = PQntuples(r);
    struct dp_snapshot *snap = hl_xcalloc(1, sizeof(*snap));
    atomic_init(&snap->refs, 1);
    snap->hooks = hl_xcalloc((size_t)rows + 1, sizeof(*snap->hooks));
    for (int i = 0; i < rows; i++)
        if (webhook_from_row(r, i, &snap->hooks[snap->n]))
            snap->n++;
    PQclear(r);
    qsort(snap->hooks, snap->n, sizeof(*snap->hooks), webhook_cmp);

    pthread_mutex_lock(&s->lock);
    bool first = s->current == NULL;
    size_t before = first ? 0 : s->current->n;
    pthread_mutex_unlock(&s->lock);
    hl_log(first || before != snap->n ? HL_LOG_INFO : HL_LOG_DEBUG, "subs",
           "loaded %zu active webhooks", snap->n);
    publish(s, snap);
    return HL_OK;
}

static PGconn *connect_and_listen(struct dp_subs *s, char *errbuf, size_t errlen)
{
    PGconn *conn = hl_pg_connect(s->dsn, errbuf, errlen);
    if (!conn)
        return NULL;
    /* A statement timeout bounds a reload against a server that hangs. */
    PGresult *r = PQexec(conn, "SET statement_timeout = 10000; LISTEN hl_webhooks_changed");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        hl_pg_errmsg(conn, errbuf, errlen);
        PQclear(r);
        PQfinish(conn);
        return NULL;
    }
    PQclear(r);
    return conn;
}

/* Sleeps up to ms; true when asked to stop. */
static bool wait_stop(struct dp_subs *s, int64_t ms)
{
    struct pollfd p = {.fd = s->stop_pipe[0], .events = POLLIN};
    return poll(&p, 1, (int)ms) > 0;
}

/* Drains buffered notifications; true if there was one. */
static bool drain_notifies(PGconn *conn)
{
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL) {
        PQfreemem(n);
        any = true;
    }
    return any;
}

static void *subs_main(void *arg)
{
    struct dp_subs *s = arg;
    PGconn *conn = NULL;
    int64_t backoff = BACKOFF_MIN_MS;
    int64_t next_reload = 0;  /* monotonic ms */
    int64_t dirty_since = -1; /* first unserved notification, -1 when none */
    bool down = false;
    char err[512];

    for (;;) {
        if (!conn) {
            conn = connect_and_listen(s, err, sizeof(err));
            if (!conn) {
                hl_log(HL_LOG_WARN, "subs",
                       "cannot reach PostgreSQL: %s; keeping the last webhooks, retrying in "
                       "%lld ms",
                       err, (long long)backoff);
                down = true;
                if (wait_stop(s, backoff))
                    break;
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            next_reload = 0;
        }

        int64_t now = hl_mono_ms();
        if (drain_notifies(conn) && dirty_since < 0)
            dirty_since = now;
        if (now >= next_reload || (dirty_since >= 0 && now >= dirty_since + DEBOUNCE_MS)) {
            dirty_since = -1;
            if (reload(s, conn, err, sizeof(err))) {
                /* e.g. the schema is not migrated yet: back off as for a dead server */
                hl_log(HL_LOG_WARN, "subs", "cannot load webhooks: %s; retrying in %lld ms", err,
                       (long long)backoff);
                PQfinish(conn);
                conn = NULL;
                down = true;
                if (wait_stop(s, backoff))
                    break;
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            if (down)
                hl_log(HL_LOG_INFO, "subs", "webhooks loaded from PostgreSQL again");
            down = false;
            backoff = BACKOFF_MIN_MS;
            next_reload = hl_mono_ms() + s->refresh_ms;
            continue; /* drain what arrived during the load */
        }

        int64_t due = next_reload;
        if (dirty_since >= 0 && dirty_since + DEBOUNCE_MS < due)
            due = dirty_since + DEBOUNCE_MS;
        struct pollfd p[2] = {{.fd = s->stop_pipe[0], .events = POLLIN},
                              {.fd = PQsocket(conn), .events = POLLIN}};
        int n = poll(p, 2, (int)(due - now));
        if (n < 0 && errno != EINTR) {
            hl_log(HL_LOG_ERROR, "subs", "poll: %s", strerror(errno));
            wait_stop(s, BACKOFF_MIN_MS);
        }
        if (p[0].revents)
            break;
        if (p[1].revents && !PQconsumeInput(conn)) {
            hl_pg_errmsg(conn, err, sizeof(err));
            hl_log(HL_LOG_WARN, "subs", "lost the PostgreSQL connection: %s", err);
            PQfinish(conn);
            conn = NULL;
            down = true;
        }
    }
    PQfinish(conn);
    return NULL;
}

struct dp_subs *dp_subs_new(const char *pg_dsn, int64_t refresh_interval_ms)
{
    struct dp_subs *s = hl_xcalloc(1, sizeof(*s));
    s->dsn = hl_xstrdup(pg_dsn);
    s->refresh_ms = refresh_interval_ms;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->loaded, NULL);
    return s;
}

hl_err dp_subs_start(struct dp_subs *s, char *errbuf, size_t errlen)
{
    if (pipe2(s->stop_pipe, O_CLOEXEC) != 0) {
        snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
        return HL_EIO;
    }
    int rc = pthread_create(&s->thread, NULL, subs_main, s);
    if (rc != 0) {
        snprintf(errbuf, errlen, "cannot start the subscription thread: %s", strerror(rc));
        return HL_EIO;
    }
    s->started = true;
    return HL_OK;
}

bool dp_subs_wait_ready(struct dp_subs *s, int64_t timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&s->lock);
    while (!s->current)
        if (pthread_cond_timedwait(&s->loaded, &s->lock, &until) == ETIMEDOUT)
            break;
    bool ready = s->current != NULL;
    pthread_mutex_unlock(&s->lock);
    return ready;
}

struct dp_snapshot *dp_subs_acquire(struct dp_subs *s)
{
    pthread_mutex_lock(&s->lock);
    struct dp_snapshot *snap = s->current;
    if (snap)
        atomic_fetch_add(&snap->refs, 1);
    pthread_mutex_unlock(&s->lock);
    return snap;
}

void dp_subs_free(struct dp_subs *s)
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
    dp_snapshot_release(s->current);
    pthread_cond_destroy(&s->loaded);
    pthread_mutex_destroy(&s->lock);
    free(s->dsn);
    free(s);
}
