/* hookline-cdc's metrics (names and meanings in docs/operations.md) and its readiness.
 *
 * Per table source held by this worker: the slot's lag in bytes, the last LSN confirmed to
 * the user's database, events produced, stream errors. A source is a label: table sources
 * are few (each costs its database a replication slot and a WAL sender), unlike webhooks
 * or tenants, and the lag of one source is exactly what an operator alerts on. A source
 * the worker no longer holds disappears from the exposition (another worker exports it).
 *
 * The control thread publishes a snapshot of its sources after each status round; scrapes
 * render that snapshot. Every function may be called from any thread. */
#ifndef CDC_METRICS_H
#define CDC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cdc_metrics_source {
    char id[37];
    char state[16];     /* as in the status: connecting, streaming, error, ... */
    uint64_t confirmed; /* last LSN confirmed (0: none yet) */
    uint64_t lag_bytes; /* the server's end of WAL beyond it, as of its last report */
    uint64_t events;    /* produced by the source's current stream (restarts at 0) */
    uint64_t errors;    /* failures of the source's current stream (restarts at 0) */
    uint64_t run;       /* which stream: changes when the worker restarts the source's */
};

/* Declares every family and registers the collector. @locality main thread, first */
void cdc_metrics_init(void);
/* The sources this worker holds now, replacing the last snapshot. Counters carry on across
 * a stream's restart (its own counts start again at 0). @locality control thread */
void cdc_metrics_publish(const struct cdc_metrics_source *rows, size_t n);
/* The control connection to Hookline's PostgreSQL is up (true) or lost (false). */
void cdc_metrics_control(bool connected);
void cdc_metrics_shutting_down(void);
/* Ready: connected to Hookline's PostgreSQL and not shutting down; else why not. */
bool cdc_metrics_ready(char *why, size_t whylen);

#endif
