/* The change listener (gw_listen.c): one PostgreSQL connection LISTENing on the channels it
 * is handed, calling each channel's callback when a NOTIFY arrives on it, and calling every
 * callback whenever it (re)connects, since anything may have changed while nobody
 * listened. Caches that depend on it (API keys, event-type schemas) are to be used only
 * while gw_listener_trusted is true.
 * @locality its own thread calls the callbacks; any thread may call gw_listener_trusted. */
#ifndef GW_LISTEN_H
#define GW_LISTEN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* conn: the listener's own connection, to reload from (it must be left idle). payload:
 * NULL on (re)connect and for a batch of notifications, the notification's payload for a
 * channel with `each`. */
typedef void (*gw_listen_cb)(void *arg, PGconn *conn, const char *payload);

struct gw_listen_channel {
    const char *name; /* a channel name, an SQL identifier (a literal of the caller's) */
    gw_listen_cb changed;
    void *arg;
    bool each; /* called once per notification with its payload, not once per batch */
};

struct gw_listener;
/* Starts the thread; channels (copied) are fixed for the listener's life. */
struct gw_listener *gw_listener_start(const char *dsn, const struct gw_listen_channel *channels,
                                      size_t nchannels);
/* Stops and joins the thread (within about half a second). NULL is a no-op. */
void gw_listener_stop(struct gw_listener *l);
/* True while the listener is connected and LISTENing. NULL (no listener) is never trusted. */
bool gw_listener_trusted(const struct gw_listener *l);

#endif
