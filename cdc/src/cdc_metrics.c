/* hookline-cdc's metrics and readiness (see cdc_metrics.h). The control thread publishes a
 * small table of its sources; a scrape renders it under the mutex. Events and errors are
 * counters that carry on across a source's stream restarts: per source id we remember the
 * stream run and its last counts, and add what each snapshot adds. */
#include "cdc_metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/mem.h"
#include "hl/metrics.h"
#include "hl/signals.h"
#include "hl/banned.h"

struct known {
    char id[37];
    uint64_t run, last_events, last_errors; /* of the stream last seen */
    uint64_t events, errors;                /* since this process started */
};

static struct {
    pthread_mutex_t mu;
    struct cdc_metrics_source *rows; /* held now */
    size_t n;
    struct known *known; /* every source ever held by this process */
    size_t nknown;
    atomic_bool connected, shutting_down;
} m = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void collect(struct hl_buf *out, void *arg);

void cdc_metrics_init(void)
{
    hl_metrics_process_init("cdc");
    hl_metrics_collector(collect, NULL);
}

/* The entry of id, NULL when none. @locks m.mu */
static struct known *find_known(const char *id)
{
    for (size_t i = 0; i < m.nknown; i++)
        if (strcmp(m.known[i].id, id) == 0)
            return &m.known[i];
    return NULL;
}

/* The entry of id, made when missing. @locks m.mu */
static struct known *known_of(const char *id)
{
    struct known *k = find_known(id);
    if (k)
        return k;
    m.known = hl_xrealloc(m.known, (m.nknown + 1) * sizeof(*m.known));
    k = &m.known[m.nknown++];
    memset(k, 0, sizeof(*k));
    snprintf(k->id, sizeof(k->id), "%s", id);
    return k;
}

static uint64_t grown(uint64_t now, uint64_t *last, bool same_run)
{
    uint64_t d = same_run && now >= *last ? now - *last : now;
    *last = now;
    return d;
}

void cdc_metrics_publish(const struct cdc_metrics_source *rows, size_t n)
{
    pthread_mutex_lock(&m.mu);
    for (size_t i = 0; i < n; i++) {
        struct known *k = known_of(rows[i].id);
        bool same = k->run == rows[i].run;
        k->events += grown(rows[i].events, &k->last_events, same);
        k->errors += grown(rows[i].errors, &k->last_errors, same);
        k->run = rows[i].run;
    }
    m.rows = hl_xrealloc(m.rows, (n ? n : 1) * sizeof(*m.rows));
    if (n)
        memcpy(m.rows, rows, n * sizeof(*rows));
    m.n = n;
    pthread_mutex_unlock(&m.mu);
}

void cdc_metrics_control(bool connected)
{
    atomic_store(&m.connected, connected);
}

void cdc_metrics_shutting_down(void)
{
    atomic_store(&m.shutting_down, true);
}

bool cdc_metrics_ready(char *why, size_t whylen)
{
    /* not ready from the moment a stop signal arrives (hl/signals.h) */
    bool shutting = atomic_load(&m.shutting_down) || hl_stop_signal != 0;
    bool connected = atomic_load(&m.connected);
    snprintf(why, whylen, "%s%s", shutting ? "shutting down; " : "",
             connected ? "" : "not connected to Hookline's PostgreSQL; ");
    size_t len = strlen(why);
    if (len >= 2)
        why[len - 2] = '\0';
    return !shutting && connected;
}

static void source_sample(struct hl_buf *out, const char *name, const char *id, double v)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "source=\"%s\"", id); /* a UUID: nothing to escape */
    hl_metrics_write_sample(out, name, labels, v);
}

static void collect(struct hl_buf *out, void *arg)
{
    static const char *const states[] = {"connecting", "streaming", "error", "dropping"};
    char why[160];
    hl_metrics_write_header(out, "hookline_cdc_ready", HL_METRIC_GAUGE,
                            "1 when /readyz answers 200 (connected to Hookline's PostgreSQL, not "
                            "shutting down)");
    hl_metrics_write_sample(out, "hookline_cdc_ready", NULL, cdc_metrics_ready(why, sizeof(why)));

    pthread_mutex_lock(&m.mu);
    hl_metrics_write_header(out, "hookline_cdc_sources", HL_METRIC_GAUGE,
                            "Table sources this worker holds, by the state of their stream");
    for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
        size_t count = 0;
        for (size_t i = 0; i < m.n; i++)
            count += strcmp(m.rows[i].state, states[s]) == 0;
        char labels[40];
        snprintf(labels, sizeof(labels), "state=\"%s\"", states[s]);
        hl_metrics_write_sample(out, "hookline_cdc_sources", labels, (double)count);
    }
    hl_metrics_write_header(out, "hookline_cdc_slot_lag_bytes", HL_METRIC_GAUGE,
                            "WAL the user's server keeps for the source's replication slot "
                            "beyond the last confirmed LSN, as of the server's last report");
    for (size_t i = 0; i < m.n; i++)
        if (m.rows[i].confirmed)
            source_sample(out, "hookline_cdc_slot_lag_bytes", m.rows[i].id,
                          (double)m.rows[i].lag_bytes);
    hl_metrics_write_header(out, "hookline_cdc_confirmed_lsn", HL_METRIC_GAUGE,
                            "The last LSN confirmed to the user's server (every change before "
                            "it is in Kafka), as a number of bytes");
    for (size_t i = 0; i < m.n; i++)
        if (m.rows[i].confirmed)
            source_sample(out, "hookline_cdc_confirmed_lsn", m.rows[i].id,
                          (double)m.rows[i].confirmed);
    hl_metrics_write_header(out, "hookline_cdc_events_total", HL_METRIC_COUNTER,
                            "Events produced to Kafka from the source's changes by this worker");
    for (size_t i = 0; i < m.n; i++)
        source_sample(out, "hookline_cdc_events_total", m.rows[i].id,
                      (double)find_known(m.rows[i].id)->events);
    hl_metrics_write_header(out, "hookline_cdc_errors_total", HL_METRIC_COUNTER,
                            "Failures of the source's stream (each is reported in its status "
                            "and retried)");
    for (size_t i = 0; i < m.n; i++)
        source_sample(out, "hookline_cdc_errors_total", m.rows[i].id,
                      (double)find_known(m.rows[i].id)->errors);
    pthread_mutex_unlock(&m.mu);
}
