/* hl_mg_stop (see hl/mgstop.h). */
#include "hl/mgstop.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hl/banned.h"

#define MAX_PORTS 8
#define POKE_EVERY_MS 20

struct poker {
    struct mg_server_port ports[MAX_PORTS];
    int nports;
    atomic_bool done;
};

/* One connection to each listening port, closed at once: the master thread's poll returns,
 * it sees the stop flag, and the connection is dropped with the rest. */
static void poke(const struct poker *p)
{
    for (int i = 0; i < p->nports; i++) {
        const struct mg_server_port *sp = &p->ports[i];
        int v6 = sp->protocol == 2; /* 1: IPv4, 2: IPv6, 3: both */
        int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        /* the loopback of the listener's family: a wildcard listener takes it too */
        if (v6) {
            struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                                     .sin6_port = htons((uint16_t)sp->port),
                                     .sin6_addr = IN6ADDR_LOOPBACK_INIT};
            (void)connect(fd, (struct sockaddr *)&a, sizeof(a));
        } else {
            struct sockaddr_in a = {.sin_family = AF_INET,
                                    .sin_port = htons((uint16_t)sp->port),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            (void)connect(fd, (struct sockaddr *)&a, sizeof(a));
        }
        close(fd);
    }
}

static void *poker_main(void *arg)
{
    struct poker *p = arg;
    while (!atomic_load(&p->done)) {
        poll(NULL, 0, POKE_EVERY_MS);
        if (!atomic_load(&p->done))
            poke(p);
    }
    return NULL;
}

void hl_mg_stop(struct mg_context *mg)
{
    if (!mg)
        return;
    struct poker p;
    memset(&p, 0, sizeof(p));
    p.nports = mg_get_server_ports(mg, MAX_PORTS, p.ports);
    pthread_t t;
    bool poking = p.nports > 0 && pthread_create(&t, NULL, poker_main, &p) == 0;
    mg_stop(mg);
    if (poking) {
        atomic_store(&p.done, true);
        pthread_join(t, NULL);
    }
}
