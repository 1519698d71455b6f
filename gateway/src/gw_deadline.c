/* Deadlines on reading request bodies, so that a slow client cannot hold a worker.
 *
 * civetweb's request_timeout_ms bounds the whole header phase but, while a handler reads the
 * body, only each silence: a client that sends one byte every few seconds keeps mg_read
 * waiting for its buffer to fill for as long as it likes, and each such client holds one of
 * the http_threads workers. civetweb gives handlers no access to the socket, so a watchdog
 * thread finds it instead: a worker arms a slot with its client's address before reading,
 * and when the deadline passes the watchdog looks through this process's descriptors for
 * the TCP socket whose local port is the listener's and whose peer is that client, and
 * shuts down its reading side. mg_read then returns at once and the worker answers 408
 * (the writing side still works).
 *
 * Disarming happens under the same lock the watchdog holds while it shuts a socket down,
 * and the connection stays open until the handler returns, so the watchdog can only ever
 * touch the socket of a request still reading its body. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <civetweb.h>

#include "gw_deadline.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

#define TICK_MS 100

struct deadline_slot {
    bool armed;
    bool fired;
    int64_t deadline_ms;
    char remote_addr[48];
    int remote_port;
};

struct gw_deadlines {
    pthread_mutex_t mu;
    struct deadline_slot *slots;
    size_t nslots;
    int listen_port;
    atomic_bool stop;
    pthread_t thread;
};

static int sock_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return -1;
}

/* The peer address as civetweb prints it into request_info.remote_addr. */
static void sock_addr(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    out[0] = '\0';
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)outlen);
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out,
                  (socklen_t)outlen);
}

/* Shuts down the reading side of the listener's connection from addr:port; false when no
 * such socket is open. */
static bool shut_client(const struct gw_deadlines *d, const char *addr, int port)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return false;
    bool done = false;
    struct dirent *e;
    while (!done && (e = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd == dirfd(dir))
            continue;
        struct sockaddr_storage local, peer;
        socklen_t llen = sizeof(local), plen = sizeof(peer);
        if (getsockname((int)fd, (struct sockaddr *)&local, &llen) != 0 ||
            sock_port(&local) != d->listen_port ||
            getpeername((int)fd, (struct sockaddr *)&peer, &plen) != 0 ||
            sock_port(&peer) != port)
            continue;
        char text[INET6_ADDRSTRLEN];
        sock_addr(&peer, text, sizeof(text));
        if (strcmp(text, addr) == 0) {
            shutdown((int)fd, SHUT_RD);
            done = true;
        }
    }
    closedir(dir);
    return done;
}

static void *watch_main(void *arg)
{
    struct gw_deadlines *d = arg;
    while (!atomic_load(&d->stop)) {
        struct pollfd none;
        poll(&none, 0, TICK_MS);
        int64_t now = hl_mono_ms();
        pthread_mutex_lock(&d->mu);
        for (size_t i = 0; i < d->nslots; i++) {
            struct deadline_slot *s = &d->slots[i];
            if (!s->armed || s->fired || now < s->deadline_ms)
                continue;
            s->fired = true;
            if (!shut_client(d, s->remote_addr, s->remote_port))
                hl_log(HL_LOG_WARN, "http", "no socket found for slow client %s:%d",
                       s->remote_addr, s->remote_port);
        }
        pthread_mutex_unlock(&d->mu);
    }
    return NULL;
}

struct gw_deadlines *gw_deadlines_new(int listen_port, size_t nslots)
{
    struct gw_deadlines *d = hl_xcalloc(1, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    d->slots = hl_xcalloc(nslots, sizeof(*d->slots));
    d->nslots = nslots;
    d->listen_port = listen_port;
    if (pthread_create(&d->thread, NULL, watch_main, d) != 0)
        abort();
    return d;
}

void gw_deadlines_free(struct gw_deadlines *d)
{
    if (!d)
        return;
    atomic_store(&d->stop, true);
    pthread_join(d->thread, NULL);
    pthread_mutex_destroy(&d->mu);
    free(d->slots);
    free(d);
}

int gw_deadline_arm(struct gw_deadlines *d, const struct mg_request_info *info, int64_t ms)
{
    int slot = -1;
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->nslots; i++) {
        struct deadline_slot *s = &d->slots[i];
        if (s->armed)
            continue;
        s->armed = true;
        s->fired = false;
        s->deadline_ms = hl_mono_ms() + ms;
        snprintf(s->remote_addr, sizeof(s->remote_addr), "%s", info->remote_addr);
        s->remote_port = info->remote_port;
        slot = (int)i;
        break;
    }
    pthread_mutex_unlock(&d->mu);
    return slot;
}

bool gw_deadline_disarm(struct gw_deadlines *d, int slot)
{
    if (slot < 0)
        return false;
    pthread_mutex_lock(&d->mu);
    bool fired = d->slots[slot].fired;
    d->slots[slot].armed = false;
    pthread_mutex_unlock(&d->mu);
    return fired;
}
