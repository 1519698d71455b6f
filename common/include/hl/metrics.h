/* Prometheus metrics: one process-wide registry of counters, gauges and histograms, and its
 * text exposition (format 0.0.4) for a /metrics handler.
 *
 * The hot path is one relaxed atomic add on the series' own cache line: no lock, no
 * lookup. A series is registered once (at start, or lazily under the registry's mutex) and
 * the caller keeps the pointer; registering the same name and labels again returns the
 * same series, so lazy callers may cache per thread or not at all.
 *
 * Labels are passed pre-rendered (`route="/api/v1/events",code="2xx"`): their values must
 * come from a bounded set (route templates, outcome names, error classes), never a webhook
 * id, tenant id or URL. hl_metrics_label_value() escapes a value for such a string.
 *
 * Values that only exist at scrape time (consumer lag, queue depths, process memory) come
 * from collectors: callbacks that write whole families into the exposition.
 *
 * @locality any thread; registration and scrapes take the registry's mutex, updates never */
#ifndef HL_METRICS_H
#define HL_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/buf.h"

typedef enum { HL_METRIC_COUNTER, HL_METRIC_GAUGE, HL_METRIC_HISTOGRAM } hl_metric_type;

#define HL_METRIC_BUCKETS_MAX 24

struct hl_counter {
    _Alignas(64) atomic_uint_least64_t v;
};

struct hl_gauge {
    _Alignas(64) atomic_int_least64_t v; /* set/add in integral units */
};

struct hl_histogram {
    _Alignas(64) atomic_uint_least64_t buckets[HL_METRIC_BUCKETS_MAX + 1]; /* last: +Inf */
    atomic_uint_least64_t sum_bits; /* a double, updated by compare-and-swap */
    const double *bounds;           /* ascending upper bounds, static storage */
    size_t nbounds;
};

/* Declares a family (so that its HELP and TYPE are exposed before any series exists);
 * idempotent. name and help must be static strings. */
void hl_metrics_family(const char *name, hl_metric_type type, const char *help);
/* The series name{labels} (labels NULL or "" for none), created on first use. The family
 * must have been declared with the same type. Never NULL; the series lives as long as the
 * process (hl_metrics_reset frees everything for unit tests). */
struct hl_counter *hl_metrics_counter(const char *name, const char *labels);
struct hl_gauge *hl_metrics_gauge(const char *name, const char *labels);
/* bounds: nbounds ascending upper bounds (at most HL_METRIC_BUCKETS_MAX) in static
 * storage; every series of a family must use the same bounds. */
struct hl_histogram *hl_metrics_histogram(const char *name, const char *labels,
                                          const double *bounds, size_t nbounds);

static inline void hl_counter_add(struct hl_counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}
static inline void hl_counter_inc(struct hl_counter *c)
{
    hl_counter_add(c, 1);
}
static inline void hl_gauge_set(struct hl_gauge *g, int64_t v)
{
    atomic_store_explicit(&g->v, v, memory_order_relaxed);
}
static inline void hl_gauge_add(struct hl_gauge *g, int64_t d)
{
    atomic_fetch_add_explicit(&g->v, d, memory_order_relaxed);
}
void hl_histogram_observe(struct hl_histogram *h, double v);

/* Bucket bounds shared by the services' latency histograms, in seconds. */
extern const double hl_metrics_latency_buckets[];
extern const size_t hl_metrics_latency_nbuckets;

/* A scrape-time source of families. The callback appends complete families with the
 * writers below; it runs on the scraping thread with the registry's mutex held, so it must
 * not register series. */
typedef void (*hl_metrics_collect_fn)(struct hl_buf *out, void *arg);
void hl_metrics_collector(hl_metrics_collect_fn fn, void *arg);
/* "# HELP name help\n# TYPE name type\n" */
void hl_metrics_write_header(struct hl_buf *out, const char *name, hl_metric_type type,
                             const char *help);
/* "name{labels} value\n" (labels NULL or "" for none) */
void hl_metrics_write_sample(struct hl_buf *out, const char *name, const char *labels,
                             double value);
/* Appends v escaped for a label value (backslash, quote and newline). */
void hl_metrics_label_value(struct hl_buf *out, const char *v);

/* The exposition of every family, registered and collected, appended to out. */
void hl_metrics_render(struct hl_buf *out);
/* The Content-Type of hl_metrics_render's output. */
#define HL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Registers the families every Hookline process exports: hookline_build_info{service,
 * version,allocator} and the process_* collector (start time, resident memory, CPU
 * seconds, open and maximum file descriptors, from /proc/self). */
void hl_metrics_process_init(const char *service);
/* The malloc this process runs with: "mimalloc X.Y.Z" (written to buf) or "glibc". */
const char *hl_metrics_allocator(char *buf, size_t len);

/* Frees every family and series (unit tests only: no thread may still hold one). */
void hl_metrics_reset(void);

#endif
