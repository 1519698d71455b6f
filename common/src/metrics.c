/* The metrics registry and its text exposition (see hl/metrics.h).
 *
 * Families keep their declaration order and series their creation order, so a scrape's
 * text is stable and each family's lines are contiguous, as the format requires. A
 * hash of name and labels finds an existing series at registration; updates never
 * look anything up. Histogram buckets are counted per bucket and made cumulative at
 * scrape time, and the count is the sum of the buckets, so a scrape never shows a count
 * that disagrees with its +Inf bucket. */
#include "hl/metrics.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hl/hash.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

#define NHASH 512

const double hl_metrics_latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10,   30, 60};
const size_t hl_metrics_latency_nbuckets =
    sizeof(hl_metrics_latency_buckets) / sizeof(hl_metrics_latency_buckets[0]);

struct series {
    struct series *next;  /* in the family, creation order */
    struct series *hnext; /* hash chain */
    struct family *fam;
    char *labels; /* "" when none */
    void *metric; /* struct hl_counter / hl_gauge / hl_histogram, 64-byte aligned */
};

struct family {
    const char *name, *help;
    hl_metric_type type;
    struct series *head, *tail;
    struct family *next;
};

struct collector {
    hl_metrics_collect_fn fn;
    void *arg;
    struct collector *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct family *families, *families_tail;
static struct collector *collectors, *collectors_tail;
static struct series *table[NHASH];

static unsigned hash(const char *name, const char *labels)
{
    return (unsigned)(hl_hash_str(hl_hash_str(hl_hash_str(HL_HASH_INIT, name), "{"), labels) %
                      NHASH);
}

static struct family *find_family(const char *name)
{
    for (struct family *f = families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* @locks mu held */
static struct family *declare(const char *name, hl_metric_type type, const char *help)
{
    struct family *f = find_family(name);
    if (f) {
        if (f->type != type)
            abort(); /* one name, two types: a programming error */
        return f;
    }
    f = hl_xcalloc(1, sizeof(*f));
    f->name = name;
    f->help = help;
    f->type = type;
    if (families_tail)
        families_tail->next = f;
    else
        families = f;
    families_tail = f;
    return f;
}

void hl_metrics_family(const char *name, hl_metric_type type, const char *help)
{
    pthread_mutex_lock(&mu);
    declare(name, type, help);
    pthread_mutex_unlock(&mu);
}

/* The series name{labels}, created with a zeroed metric of size sz when new. */
static void *series_get(const char *name, hl_metric_type type, const char *labels, size_t sz,
                        bool *created)
{
    if (!labels)
        labels = "";
    unsigned h = hash(name, labels);
    pthread_mutex_lock(&mu);
    struct family *f = find_family(name);
    if (!f)
        f = declare(name, type, name); /* undeclared: the name is its own help */
    if (f->type != type)
        abort();
    struct series *s;
    for (s = table[h]; s; s = s->hnext)
        if (s->fam == f && strcmp(s->labels, labels) == 0)
            break;
    *created = false;
    if (!s) {
        /* Its own cache lines: threads counting different series do not share one. */
        size_t rounded = (sz + 63) / 64 * 64;
        void *m = aligned_alloc(64, rounded);
        if (!m)
            abort();
        memset(m, 0, rounded);
        s = hl_xcalloc(1, sizeof(*s));
        s->fam = f;
        s->labels = hl_xstrdup(labels);
        s->metric = m;
        s->hnext = table[h];
        table[h] = s;
        if (f->tail)
            f->tail->next = s;
        else
            f->head = s;
        f->tail = s;
        *created = true;
    }
    pthread_mutex_unlock(&mu);
    return s->metric;
}

struct hl_counter *hl_metrics_counter(const char *name, const char *labels)
{
    bool created;
    return series_get(name, HL_METRIC_COUNTER, labels, sizeof(struct hl_counter), &created);
}

struct hl_gauge *hl_metrics_gauge(const char *name, const char *labels)
{
    bool created;
    return series_get(name, HL_METRIC_GAUGE, labels, sizeof(struct hl_gauge), &created);
}

struct hl_histogram *hl_metrics_histogram(const char *name, const char *labels,
                                          const double *bounds, size_t nbounds)
{
    bool created;
    if (nbounds > HL_METRIC_BUCKETS_MAX)
        abort();
    struct hl_histogram *h =
        series_get(name, HL_METRIC_HISTOGRAM, labels, sizeof(struct hl_histogram), &created);
    if (created) {
        /* Published by the mutex series_get released: set before any other thread can
         * have the pointer, since only this call returned it so far. */
        h->bounds = bounds;
        h->nbounds = nbounds;
    }
    return h;
}

void hl_histogram_observe(struct hl_histogram *h, double v)
{
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed), next;
    do {
        double d;
        memcpy(&d, &old, sizeof(d));
        d += v;
        memcpy(&next, &d, sizeof(next));
    } while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, next,
                                                    memory_order_relaxed, memory_order_relaxed));
}

void hl_metrics_collector(hl_metrics_collect_fn fn, void *arg)
{
    struct collector *c = hl_xcalloc(1, sizeof(*c));
    c->fn = fn;
    c->arg = arg;
    pthread_mutex_lock(&mu);
    if (collectors_tail)
        collectors_tail->next = c;
    else
        collectors = c;
    collectors_tail = c;
    pthread_mutex_unlock(&mu);
}

static const char *type_name(hl_metric_type t)
{
    return t == HL_METRIC_COUNTER ? "counter" : t == HL_METRIC_GAUGE ? "gauge" : "histogram";
}

void hl_metrics_write_header(struct hl_buf *out, const char *name, hl_metric_type type,
                             const char *help)
{
    hl_buf_adds(out, "# HELP ");
    hl_buf_adds(out, name);
    hl_buf_addch(out, ' ');
    for (const char *p = help; *p; p++) { /* HELP escapes backslash and newline */
        if (*p == '\\')
            hl_buf_adds(out, "\\\\");
        else if (*p == '\n')
            hl_buf_adds(out, "\\n");
        else
            hl_buf_addch(out, *p);
    }
    hl_buf_adds(out, "\n# TYPE ");
    hl_buf_adds(out, name);
    hl_buf_addch(out, ' ');
    hl_buf_adds(out, type_name(type));
    hl_buf_addch(out, '\n');
}

static void add_double(struct hl_buf *out, double v)
{
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) {
        if (v < 0) {
            hl_buf_addch(out, '-');
            v = -v;
        }
        hl_buf_add_u64(out, (uint64_t)v);
    } else {
        hl_buf_addf(out, "%.17g", v);
    }
}

static void sample_start(struct hl_buf *out, const char *name, const char *suffix,
                         const char *labels, const char *extra)
{
    hl_buf_adds(out, name);
    if (suffix)
        hl_buf_adds(out, suffix);
    bool has = labels && *labels;
    if (has || extra) {
        hl_buf_addch(out, '{');
        if (has)
            hl_buf_adds(out, labels);
        if (has && extra)
            hl_buf_addch(out, ',');
        if (extra)
            hl_buf_adds(out, extra);
        hl_buf_addch(out, '}');
    }
    hl_buf_addch(out, ' ');
}

void hl_metrics_write_sample(struct hl_buf *out, const char *name, const char *labels,
                             double value)
{
    sample_start(out, name, NULL, labels, NULL);
    add_double(out, value);
    hl_buf_addch(out, '\n');
}

void hl_metrics_label_value(struct hl_buf *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            hl_buf_addch(out, '\\');
        if (*p == '\n')
            hl_buf_adds(out, "\\n");
        else
            hl_buf_addch(out, *p);
    }
}

static void render_histogram(struct hl_buf *out, const char *name, const struct series *s)
{
    const struct hl_histogram *h = s->metric;
    uint64_t cum = 0;
    char le[48];
    for (size_t i = 0; i <= h->nbounds; i++) {
        cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < h->nbounds)
            snprintf(le, sizeof(le), "le=\"%g\"", h->bounds[i]);
        else
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        sample_start(out, name, "_bucket", s->labels, le);
        hl_buf_add_u64(out, cum);
        hl_buf_addch(out, '\n');
    }
    uint64_t bits = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    double sum;
    memcpy(&sum, &bits, sizeof(sum));
    sample_start(out, name, "_sum", s->labels, NULL);
    add_double(out, sum);
    hl_buf_addch(out, '\n');
    sample_start(out, name, "_count", s->labels, NULL);
    hl_buf_add_u64(out, cum);
    hl_buf_addch(out, '\n');
}

void hl_metrics_render(struct hl_buf *out)
{
    pthread_mutex_lock(&mu);
    for (const struct family *f = families; f; f = f->next) {
        hl_metrics_write_header(out, f->name, f->type, f->help);
        for (const struct series *s = f->head; s; s = s->next) {
            if (f->type == HL_METRIC_HISTOGRAM) {
                render_histogram(out, f->name, s);
                continue;
            }
            sample_start(out, f->name, NULL, s->labels, NULL);
            if (f->type == HL_METRIC_COUNTER) {
                const struct hl_counter *c = s->metric;
                hl_buf_add_u64(out, atomic_load_explicit(&c->v, memory_order_relaxed));
            } else {
                int64_t v =
                    atomic_load_explicit(&((const struct hl_gauge *)s->metric)->v,
                                         memory_order_relaxed);
                add_double(out, (double)v);
            }
            hl_buf_addch(out, '\n');
        }
    }
    for (const struct collector *c = collectors; c; c = c->next)
        c->fn(out, c->arg);
    pthread_mutex_unlock(&mu);
}

/* --- the process ----------------------------------------------------------------------- */

static double start_time_s;

/* utime and stime, fields 14 and 15 of /proc/self/stat, counted after the command name's
 * closing parenthesis (the name may hold spaces). */
static double cpu_seconds(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long ut = 0, st = 0;
    int field = 2;
    for (char *q = p + 1; *q && field < 15; q++) {
        if (*q != ' ')
            continue;
        field++;
        if (field == 14)
            ut = strtoull(q + 1, NULL, 10);
        else if (field == 15)
            st = strtoull(q + 1, NULL, 10);
    }
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(ut + st) / (double)hz : 0;
}

static double resident_bytes(void)
{
    unsigned long long rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    char buf[128];
    if (fgets(buf, sizeof(buf), f)) {
        char *end;
        strtoull(buf, &end, 10); /* total size; the second field is the resident set */
        rss = strtoull(end, NULL, 10);
    }
    fclose(f);
    return (double)rss * (double)sysconf(_SC_PAGESIZE);
}

static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void collect_process(struct hl_buf *out, void *arg)
{
    struct rlimit rl;
    hl_metrics_write_header(out, "process_start_time_seconds", HL_METRIC_GAUGE,
                            "Start time of the process since the Unix epoch, in seconds");
    hl_metrics_write_sample(out, "process_start_time_seconds", NULL, start_time_s);
    hl_metrics_write_header(out, "process_cpu_seconds_total", HL_METRIC_COUNTER,
                            "User and system CPU time spent, in seconds");
    hl_metrics_write_sample(out, "process_cpu_seconds_total", NULL, cpu_seconds());
    hl_metrics_write_header(out, "process_resident_memory_bytes", HL_METRIC_GAUGE,
                            "Resident memory size, in bytes");
    hl_metrics_write_sample(out, "process_resident_memory_bytes", NULL, resident_bytes());
    hl_metrics_write_header(out, "process_open_fds", HL_METRIC_GAUGE,
                            "Number of open file descriptors");
    hl_metrics_write_sample(out, "process_open_fds", NULL, open_fds());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        hl_metrics_write_header(out, "process_max_fds", HL_METRIC_GAUGE,
                                "Maximum number of open file descriptors");
        hl_metrics_write_sample(out, "process_max_fds", NULL,
                                rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
    }
}

const char *hl_metrics_allocator(char *buf, size_t len)
{
    /* Asked of the running process, not of the build: the symbol is there only when
     * mimalloc's library was loaded, linked (CMake option HL_MIMALLOC) or preloaded. Its
     * version is major * 100 + minor * 10 + patch (209 for 2.0.9). */
    int (*mi_version)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "mi_version");
    if (!mi_version)
        return "glibc";
    int v = mi_version();
    snprintf(buf, len, "mimalloc %d.%d.%d", v / 100, v / 10 % 10, v % 10);
    return buf;
}

void hl_metrics_process_init(const char *service)
{
    start_time_s = (double)hl_now_ms() / 1000.0;
    hl_metrics_family("hookline_build_info", HL_METRIC_GAUGE,
                      "Always 1; the labels name the service, its version and the malloc "
                      "it runs with");
    char alloc[64];
    struct hl_buf l = HL_BUF_INIT;
    hl_buf_adds(&l, "service=\"");
    hl_metrics_label_value(&l, service);
    hl_buf_adds(&l, "\",version=\"");
    hl_metrics_label_value(&l, HL_VERSION);
    hl_buf_adds(&l, "\",allocator=\"");
    hl_metrics_label_value(&l, hl_metrics_allocator(alloc, sizeof(alloc)));
    hl_buf_addch(&l, '"');
    hl_gauge_set(hl_metrics_gauge("hookline_build_info", l.ptr), 1);
    hl_buf_release(&l);
    hl_metrics_collector(collect_process, NULL);
}

void hl_metrics_reset(void)
{
    pthread_mutex_lock(&mu);
    for (struct family *f = families, *fn; f; f = fn) {
        fn = f->next;
        for (struct series *s = f->head, *sn; s; s = sn) {
            sn = s->next;
            free(s->metric);
            free(s->labels);
            free(s);
        }
        free(f);
    }
    for (struct collector *c = collectors, *cn; c; c = cn) {
        cn = c->next;
        free(c);
    }
    families = families_tail = NULL;
    collectors = collectors_tail = NULL;
    memset(table, 0, sizeof(table));
    pthread_mutex_unlock(&mu);
}
