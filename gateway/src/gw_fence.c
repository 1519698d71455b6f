/* The read-your-writes fence, gateway side (see gw_fence.h). */
#include "gw_fence.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hl/log.h"
#include "hl/pg.h"
#include "hl/banned.h"

static atomic_int_fast64_t version;

/* The connections this thread holds; a request holds one or two at a time. */
#define HELD_MAX 8
static _Thread_local PGconn *held[HELD_MAX];
static _Thread_local int nheld;

void gw_fence_note(int64_t v)
{
    int_fast64_t cur = atomic_load(&version);
    while (v > cur && !atomic_compare_exchange_weak(&version, &cur, v))
        ;
}

int64_t gw_fence_version(void)
{
    return atomic_load(&version);
}

int gw_fence_format(char *out)
{
    char tmp[24];
    int n = 0;
    uint64_t v = (uint64_t)atomic_load(&version);
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

void gw_fence_note_payload(const char *payload)
{
    char *end;
    long long v = strtoll(payload, &end, 10);
    if (end != payload && *end == '\0' && v > 0)
        gw_fence_note(v);
}

hl_err gw_fence_listen(PGconn *conn, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, "LISTEN " GW_FENCE_CHANNEL);
    hl_err err = PQresultStatus(r) == PGRES_COMMAND_OK ? HL_OK : HL_EIO;
    PQclear(r);
    if (!err) {
        r = PQexec(conn, "SELECT version FROM subscription_version");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            gw_fence_note_payload(PQgetvalue(r, 0, 0));
        else
            err = HL_EIO;
        PQclear(r);
    }
    if (err)
        hl_pg_errmsg(conn, errbuf, errlen);
    return err;
}

void gw_fence_drain(PGconn *conn)
{
    PGnotify *n;
    PQconsumeInput(conn);
    while ((n = PQnotifies(conn)) != NULL) {
        if (strcmp(n->relname, GW_FENCE_CHANNEL) == 0)
            gw_fence_note_payload(n->extra);
        PQfreemem(n);
    }
}

void gw_fence_hold(PGconn *conn)
{
    if (nheld < HELD_MAX)
        held[nheld++] = conn;
}

void gw_fence_unhold(PGconn *conn)
{
    gw_fence_drain(conn);
    for (int i = 0; i < nheld; i++)
        if (held[i] == conn) {
            held[i] = held[--nheld];
            return;
        }
}

void gw_fence_drain_held(void)
{
    for (int i = 0; i < nheld; i++)
        gw_fence_drain(held[i]);
}

void gw_fence_changed(void *unused, PGconn *conn, const char *payload)
{
    char err[256];
    if (payload)
        gw_fence_note_payload(payload); /* other gateways' and dispatchers' changes */
    else if (gw_fence_listen(conn, err, sizeof(err)))
        hl_log(HL_LOG_WARN, "auth", "cannot read the subscription version: %s", err);
}
