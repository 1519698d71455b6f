/* The change listener: keeps one connection LISTENing and turns NOTIFYs into calls of the
 * callbacks it was handed (gw_listen.h). It knows nothing of what the caches hold: main.c
 * wires the API-key cache (gw_auth.c), the event-schema cache (gw_event_schemas.c) and the
 * subscription-version fence (gw_fence.c) to their channels.
 *
 * The trust flag is the invariant the caches rely on: it is true only after LISTEN
 * succeeded and every callback ran, and false as soon as the connection is lost, so a
 * NOTIFY missed while disconnected can never leave a stale cache in use. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gw_listen.h"
#include "hl/buf.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/banned.h"

#define LISTEN_RETRY_MS 2000
#define MAX_CHANNELS 8

struct gw_listener {
    struct gw_listen_channel channels[MAX_CHANNELS];
    size_t nchannels;
    char *dsn;
    atomic_bool trusted;
    atomic_bool stop;
    pthread_t thread;
};

static void changed_all(struct gw_listener *l, PGconn *conn)
{
    for (size_t i = 0; i < l->nchannels; i++)
        l->channels[i].changed(l->channels[i].arg, conn, NULL);
}

/* Connects and LISTENs on every channel; NULL when either fails. */
static PGconn *subscribe(struct gw_listener *l)
{
    char err[256];
    PGconn *conn = hl_pg_connect(l->dsn, err, sizeof(err));
    if (!conn)
        return NULL;
    struct hl_buf sql = HL_BUF_INIT;
    for (size_t i = 0; i < l->nchannels; i++) {
        hl_buf_adds(&sql, i ? "; LISTEN " : "LISTEN ");
        hl_buf_adds(&sql, l->channels[i].name);
    }
    hl_buf_addch(&sql, '\0');
    PGresult *r = PQexec(conn, sql.ptr);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    hl_buf_release(&sql);
    if (!ok) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static void *listen_main(void *arg)
{
    struct gw_listener *l = arg;
    PGconn *conn = NULL;
    while (!atomic_load(&l->stop)) {
        if (!conn) {
            if (!(conn = subscribe(l))) {
                struct pollfd none;
                poll(&none, 0, LISTEN_RETRY_MS);
                continue;
            }
            /* Anything may have changed while nobody listened. */
            changed_all(l, conn);
            atomic_store(&l->trusted, true);
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        if (poll(&pfd, 1, 500) < 0)
            continue;
        if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
            atomic_store(&l->trusted, false);
            hl_log(HL_LOG_WARN, "auth", "lost the key-change listener; caching off until back");
            PQfinish(conn);
            conn = NULL;
            continue;
        }
        bool hit[MAX_CHANNELS] = {false};
        PGnotify *n;
        while ((n = PQnotifies(conn)) != NULL) {
            for (size_t i = 0; i < l->nchannels; i++) {
                const struct gw_listen_channel *ch = &l->channels[i];
                if (strcmp(n->relname, ch->name) != 0)
                    continue;
                if (ch->each)
                    ch->changed(ch->arg, conn, n->extra);
                else
                    hit[i] = true;
            }
            PQfreemem(n);
        }
        for (size_t i = 0; i < l->nchannels; i++)
            if (hit[i])
                l->channels[i].changed(l->channels[i].arg, conn, NULL);
    }
    PQfinish(conn);
    return NULL;
}

struct gw_listener *gw_listener_start(const char *dsn, const struct gw_listen_channel *channels,
                                      size_t nchannels)
{
    if (nchannels > MAX_CHANNELS)
        abort();
    struct gw_listener *l = hl_xcalloc(1, sizeof(*l));
    memcpy(l->channels, channels, nchannels * sizeof(*channels));
    l->nchannels = nchannels;
    l->dsn = hl_xstrdup(dsn);
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0)
        abort();
    return l;
}

void gw_listener_stop(struct gw_listener *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    free(l->dsn);
    free(l);
}

bool gw_listener_trusted(const struct gw_listener *l)
{
    return l && atomic_load(&l->trusted);
}
