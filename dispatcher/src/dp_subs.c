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
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp_metrics.h"
#include "hl/format.h"
#include "hl/log.h"
#include "hl/match.h"
#include "hl/mem.h"
#include "hl/pg.h"
#include "hl/time.h"
#include "hl/banned.h"

#define DEBOUNCE_MS 50
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

#define LOAD_SQL                                                                                   \
    "SELECT id::text, tenant_id, url, array_to_json(events)::text, secret, status, method,"       \
    " headers::text, auth::text, signature::text, previous_secret,"                               \
    " (extract(epoch FROM previous_secret_expires_at) * 1000)::bigint, retry_policy::text,"       \
    " timeout_ms, rate_limit_per_s, max_concurrency,"                                             \
    " (extract(epoch FROM updated_at) * 1000)::bigint, signing_key, previous_signing_key,"        \
    " filter::text, format::text FROM webhooks"
#define TENANTS_SQL "SELECT id FROM tenants ORDER BY id"
/* What a reload compares before it loads everything: every statement that changes tenants
 * or webhooks advances this counter (migration 0011) and NOTIFYs, so the timer is a safety
 * net, and with 100,000 webhooks a full load every second kept a core 10-50 % busy
 * decoding rows that had not changed. */
#define VERSION_SQL "SELECT version FROM subscription_version"
/* One consistent read: the version, the webhooks and the tenants of the same instant. */
#define BEGIN_SQL "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
#define NCOLS DP_WEBHOOK_NCOLS

struct dp_subs {
    char *dsn;
    const struct hl_keyring *kr;
    int64_t refresh_ms;
    pthread_t thread;
    bool started;
    int stop_pipe[2]; /* written once by dp_subs_free() to wake the thread */

    pthread_mutex_t lock;
    pthread_cond_t loaded;
    struct dp_snapshot *current; /* @locks lock; NULL until the first load */
    int64_t version;             /* of the last full load, -1 before it; thread only */

    /* The fence (dp_subs_request): tickets handed out, and the last one a finished check
     * served. A check serves every ticket handed out before it began. */
    atomic_uint_fast64_t requested;
    atomic_uint_fast64_t served;
    int req_pipe[2]; /* dp_subs_request() wakes the thread through it */
    int wake_fd;     /* the loop's wake pipe, -1 when none */
};

/* --- the delivery format (hl/format.h; rendered in dp_format.c) ------------------------ */

/* Opens sealed field `field` of webhook id into out; on failure records why in
 * w->secret_error (the field and the reason, never the value). */
static bool format_open_sealed(const struct hl_keyring *kr, const char *field, const char *id,
                        const char *sealed, struct hl_buf *out, struct dp_webhook *w)
{
    char aad[HL_AAD_MAX], why[128];
    hl_aad_webhook(aad, field, id);
    if (hl_keyring_open(kr, aad, sealed, out, why, sizeof(why)) == HL_OK)
        return true;
    if (!w->secret_error) {
        char msg[320];
        snprintf(msg, sizeof(msg), "cannot open %s: %s", field, why);
        w->secret_error = hl_xstrdup(msg);
    }
    return false;
}

/* Compiles the stored format (format_text: the jsonb column's text, NULL for the standard
 * format) into w->format and opens the key of its signature header into w->format_key:
 * its sealed plain shared secret, else the webhook's secret (sealed_secret) as text, or
 * the decoded whsec_ bytes already in w->secret. False with errbuf set when the format
 * does not compile; a secret that does not open sets w->secret_error instead. */
static bool format_load(const struct hl_keyring *kr, const char *id, const char *sealed_secret,
                    const char *format_text, struct dp_webhook *w, char *errbuf, size_t errlen)
{
    if (!format_text)
        return true;
    json_t *stored = json_loads(format_text, 0, NULL);
    struct hl_template_error e;
    if (!stored || hl_format_compile(stored, &w->format, &e) != HL_OK) {
        snprintf(errbuf, errlen, "format does not compile: %s: %s", e.pointer, e.detail);
        json_decref(stored);
        return false;
    }
    const char *secret = json_string_value(json_object_get(stored, "secret"));
    if (w->format && w->format->sig_header) {
        if (w->format->sig_key == HL_FMT_KEY_WHSEC)
            hl_buf_add(&w->format_key, w->secret.key, w->secret.len);
        else if (secret)
            format_open_sealed(kr, "format.secret", id, secret, &w->format_key, w);
        else
            format_open_sealed(kr, "secret", id, sealed_secret ? sealed_secret : "",
                               &w->format_key, w);
    }
    json_decref(stored);
    return true;
}

static void format_release(struct dp_webhook *w)
{
    hl_format_free(w->format);
    w->format = NULL;
    hl_buf_wipe(&w->format_key);
    hl_buf_release(&w->format_key);
}

void dp_webhook_release(struct dp_webhook *w)
{
    free(w->id);
    free(w->tenant);
    free(w->url);
    for (size_t i = 0; i < w->nevents; i++)
        free(w->events[i]);
    free(w->events);
    free(w->method);
    free(w->legacy_header);
    hl_filter_free(w->filter);
    for (size_t i = 0; i < w->nheader_lines; i++) {
        explicit_bzero(w->header_lines[i], strlen(w->header_lines[i]));
        free(w->header_lines[i]);
    }
    free(w->header_lines);
    if (w->hmac_key) {
        explicit_bzero(w->hmac_key, w->hmac_key_len);
        free(w->hmac_key);
    }
    free(w->hmac_header);
    free(w->secret_error);
    format_release(w);
    explicit_bzero(w, sizeof(*w));
}

static void snapshot_free(struct dp_snapshot *snap)
{
    for (size_t i = 0; i < snap->n; i++)
        dp_webhook_release(&snap->hooks[i]);
    free(snap->hooks);
    for (size_t i = 0; i < snap->ntenants; i++)
        free(snap->tenants[i]);
    free(snap->tenants);
    free(snap->patterns);
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

/* The first webhook in [lo, snap->n) whose tenant sorts after `tenant` (or at it, with
 * at == true). */
static size_t tenant_bound(const struct dp_snapshot *snap, size_t lo, const char *tenant,
                           bool at)
{
    size_t hi = snap->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(snap->hooks[mid].tenant, tenant);
        if (c < 0 || (c == 0 && !at))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t dp_snapshot_tenant(const struct dp_snapshot *snap, const char *tenant, size_t *count)
{
    /* both ends by bisection: a walk to the end made every dp_snapshot_find linear in the
     * tenant's webhooks (a fan-out to 10,000 of them spent a third of its time here) */
    size_t first = tenant_bound(snap, 0, tenant, true);
    *count = tenant_bound(snap, first, tenant, false) - first;
    return first;
}

const struct dp_webhook *dp_snapshot_find(const struct dp_snapshot *snap, const char *tenant,
                                          const char *id)
{
    size_t count, first = dp_snapshot_tenant(snap, tenant, &count);
    size_t lo = first, hi = first + count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(snap->hooks[mid].id, id);
        if (c == 0)
            return &snap->hooks[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int pattern_ref_cmp(const void *a, const void *b)
{
    const struct dp_pattern_ref *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);
    if (!c)
        c = strcmp(x->pattern, y->pattern);
    return c ? c : (x->hook > y->hook) - (x->hook < y->hook);
}

void dp_snapshot_index(struct dp_snapshot *snap)
{
    size_t n = 0;
    for (size_t i = 0; i < snap->n; i++)
        n += snap->hooks[i].nevents;
    free(snap->patterns);
    snap->patterns = hl_xcalloc(n ? n : 1, sizeof(*snap->patterns));
    snap->npatterns = 0;
    for (size_t i = 0; i < snap->n; i++)
        for (size_t k = 0; k < snap->hooks[i].nevents; k++)
            snap->patterns[snap->npatterns++] = (struct dp_pattern_ref){
                .tenant = snap->hooks[i].tenant, .pattern = snap->hooks[i].events[k], .hook = i};
    qsort(snap->patterns, snap->npatterns, sizeof(*snap->patterns), pattern_ref_cmp);
}

void dp_matches_init(struct dp_matches *m)
{
    m->idx = m->inline_idx;
    m->n = 0;
    m->cap = DP_MATCHES_INLINE;
}

void dp_matches_release(struct dp_matches *m)
{
    if (m->idx != m->inline_idx)
        free(m->idx);
    dp_matches_init(m);
}

static void matches_add(struct dp_matches *m, size_t i)
{
    if (m->n == m->cap) {
        size_t cap = 2 * m->cap;
        size_t *idx = hl_xmalloc(cap * sizeof(*idx));
        memcpy(idx, m->idx, m->n * sizeof(*idx));
        if (m->idx != m->inline_idx)
            free(m->idx);
        m->idx = idx;
        m->cap = cap;
    }
    m->idx[m->n++] = i;
}

static int size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* r against (tenant, the len bytes at pattern), in pattern_ref_cmp's order. */
static int ref_vs(const struct dp_pattern_ref *r, const char *tenant, const char *pattern,
                  size_t len)
{
    int c = strcmp(r->tenant, tenant);
    if (!c)
        c = strncmp(r->pattern, pattern, len);
    return c ? c : r->pattern[len] != '\0'; /* longer: sorts after */
}

/* Adds the webhooks that have pattern (len bytes) in the index, for tenant. */
static void add_pattern(const struct dp_snapshot *snap, const char *tenant, const char *pattern,
                        size_t len, struct dp_matches *m)
{
    size_t lo = 0, hi = snap->npatterns;
    while (lo < hi) { /* the first ref at or after (tenant, pattern) */
        size_t mid = lo + (hi - lo) / 2;
        if (ref_vs(&snap->patterns[mid], tenant, pattern, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < snap->npatterns && ref_vs(&snap->patterns[lo], tenant, pattern, len) == 0; lo++)
        matches_add(m, snap->patterns[lo].hook);
}

/* Below this many webhooks a tenant's range is scanned: a few pattern checks cost less
 * than a lookup per possible pattern. */
#define MATCH_SCAN_MAX 16

void dp_snapshot_matching(const struct dp_snapshot *snap, const char *tenant, const char *type,
                          struct dp_matches *m)
{
    size_t count, first = dp_snapshot_tenant(snap, tenant, &count);
    m->n = 0;
    if (count <= MATCH_SCAN_MAX || !snap->patterns) {
        for (size_t i = first; i < first + count; i++)
            if (hl_event_patterns_match(snap->hooks[i].events, snap->hooks[i].nevents, type))
                matches_add(m, i);
        return;
    }
    /* The patterns that can match type (hl_event_pattern_matches): "*"; "p.*" for every
     * prefix p of type that ends at a dot and leaves something after it; type itself. */
    size_t len = strlen(type);
    char key[HL_EVENT_TYPE_MAX + 2];
    add_pattern(snap, tenant, "*", 1, m);
    for (size_t j = 0; j + 1 < len && j + 2 < sizeof(key); j++) {
        if (type[j] != '.')
            continue;
        memcpy(key, type, j + 1);
        key[j + 1] = '*';
        add_pattern(snap, tenant, key, j + 2, m);
    }
    add_pattern(snap, tenant, type, len, m);
    /* Scan order is index order, and a webhook with two matching patterns was added twice.
     * One pattern's webhooks come in strict order already (the common case: one
     * subscription shared by all, a fan-out to thousands): nothing to sort or drop. */
    bool sorted = true;
    for (size_t i = 1; i < m->n && sorted; i++)
        sorted = m->idx[i - 1] < m->idx[i];
    if (sorted)
        return;
    qsort(m->idx, m->n, sizeof(*m->idx), size_cmp);
    size_t out = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!out || m->idx[out - 1] != m->idx[i])
            m->idx[out++] = m->idx[i];
    m->n = out;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool dp_snapshot_has_tenant(const struct dp_snapshot *snap, const char *tenant)
{
    return snap->ntenants &&
           bsearch(&tenant, snap->tenants, snap->ntenants, sizeof(char *), str_cmp) != NULL;
}

/* A header line is refused when its name or value could split the request. */
static bool header_ok(const char *name, const char *value)
{
    if (!*name || strpbrk(name, ":\r\n \t") || strpbrk(value, "\r\n"))
        return false;
    return true;
}

static void add_line(struct dp_webhook *w, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = hl_xmalloc(n);
    snprintf(line, n, "%s: %s", name, value);
    w->header_lines = hl_xrealloc(w->header_lines, (w->nheader_lines + 1) * sizeof(char *));
    w->header_lines[w->nheader_lines++] = line;
}

static const char *jstr(json_t *o, const char *key, const char *def)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

static int64_t jint(json_t *o, const char *key, int64_t def, int64_t min, int64_t max)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return def;
    int64_t x = json_integer_value(v);
    return x < min ? min : x > max ? max : x;
}

/* Opens a sealed field of webhook id into out. On failure records why in w->secret_error
 * (the first failure only; it names the field and the key id, never the value). */
static bool open_field(const struct hl_keyring *kr, const char *field, const char *id,
                       const char *sealed, struct hl_buf *out, struct dp_webhook *w)
{
    char aad[HL_AAD_MAX], why[128], kid[HL_KEYRING_ID_MAX + 1] = "?";
    hl_aad_webhook(aad, field, id);
    if (hl_keyring_open(kr, aad, sealed, out, why, sizeof(why)) == HL_OK)
        return true;
    if (!w->secret_error) {
        char msg[320];
        hl_sealed_key_id(sealed, kid);
        snprintf(msg, sizeof(msg), "cannot open %s (master key id '%s'): %s", field, kid, why);
        w->secret_error = hl_xstrdup(msg);
    }
    return false;
}

/* Replaces the sealed credential fields of the auth object a by their plain text; a field
 * that does not open is removed (the webhook is then unusable: w->secret_error). */
static void open_auth(const struct hl_keyring *kr, const char *id, json_t *a,
                      struct dp_webhook *w)
{
    const char *const *fields = hl_auth_secret_fields;
    char field[32];
    struct hl_buf plain = HL_BUF_INIT;
    for (size_t i = 0; i < HL_AUTH_SECRET_NFIELDS; i++) {
        json_t *v = json_object_get(a, fields[i]);
        if (!json_is_string(v))
            continue;
        snprintf(field, sizeof(field), "auth.%s", fields[i]);
        if (open_field(kr, field, id, json_string_value(v), &plain, w))
            json_object_set_new(a, fields[i], json_stringn(plain.ptr, plain.len));
        else
            json_object_del(a, fields[i]);
        hl_buf_wipe(&plain);
    }
}

/* Wipes the plain-text credentials open_auth put into a. */
static void wipe_auth(json_t *a)
{
    const char *key;
    json_t *v;
    json_object_foreach(a, key, v) {
        if (json_is_string(v))
            explicit_bzero((char *)json_string_value(v), json_string_length(v));
    }
}

static hl_err load_auth(const struct hl_keyring *kr, const char *id, struct dp_webhook *w,
                        const char *text, char *errbuf, size_t errlen)
{
    hl_err rc = HL_EINVAL;
    json_t *a = text ? json_loads(text, 0, NULL) : NULL;
    const char *type = a ? jstr(a, "type", "none") : "none";
    open_auth(kr, id, a, w);
    if (w->secret_error) {
        /* unusable until the ring can open it; deliveries fail with secret_unavailable */
        wipe_auth(a);
        json_decref(a);
        return HL_OK;
    }
    if (strcmp(type, "none") == 0) {
        rc = HL_OK;
    } else if (strcmp(type, "basic") == 0) {
        const char *u = jstr(a, "username", ""), *p = jstr(a, "password", "");
        size_t n = strlen(u) + strlen(p) + 2;
        char *plain = hl_xmalloc(n);
        snprintf(plain, n, "%s:%s", u, p);
        char *b64 = hl_xmalloc(4 * (n / 3 + 1) + 16);
        memcpy(b64, "Basic ", 6);
        hl_base64_encode((const unsigned char *)plain, n - 1, b64 + 6);
        explicit_bzero(plain, n);
        free(plain);
        add_line(w, "Authorization", b64);
        explicit_bzero(b64, strlen(b64));
        free(b64);
        rc = HL_OK;
    } else if (strcmp(type, "bearer") == 0) {
        const char *t = jstr(a, "token", "");
        if (header_ok("Authorization", t)) {
            size_t n = strlen(t) + 8;
            char *v = hl_xmalloc(n);
            snprintf(v, n, "Bearer %s", t);
            add_line(w, "Authorization", v);
            explicit_bzero(v, n);
            free(v);
            rc = HL_OK;
        }
    } else if (strcmp(type, "api_key") == 0) {
        const char *h = jstr(a, "header", "X-Api-Key"), *v = jstr(a, "value", "");
        if (header_ok(h, v)) {
            add_line(w, h, v);
            rc = HL_OK;
        }
    } else if (strcmp(type, "hmac") == 0) {
        const char *k = jstr(a, "secret", NULL), *h = jstr(a, "header", "X-Hookline-Hmac");
        if (k && *k && header_ok(h, "")) {
            w->hmac_key_len = strlen(k);
            w->hmac_key = hl_xstrdup(k);
            w->hmac_header = hl_xstrdup(h);
            rc = HL_OK;
        }
    }
    if (rc)
        snprintf(errbuf, errlen, "auth of type '%s' is incomplete or has unsafe characters", type);
    wipe_auth(a);
    json_decref(a);
    return rc;
}

/* Opens the signing secrets and v1a keys. A value that does not open leaves
 * w->secret_error set; one that opens but is malformed makes the row unusable. */
static bool open_secrets(const struct hl_keyring *kr, const char *const col[NCOLS],
                         struct dp_webhook *w, char *errbuf, size_t errlen)
{
    struct hl_buf plain = HL_BUF_INIT;
    bool ok = false;
    const char *id = col[0];
    if (open_field(kr, "secret", id, col[4] ? col[4] : "", &plain, w) &&
        hl_whsec_decode(plain.ptr, &w->secret, errbuf, errlen))
        goto out;
    if (col[10] && col[11] && open_field(kr, "previous_secret", id, col[10], &plain, w) &&
        hl_whsec_decode(plain.ptr, &w->previous_secret, errbuf, errlen) == HL_OK)
        w->previous_secret_expires_ms = strtoll(col[11], NULL, 10);
    if (col[17] && open_field(kr, "signing_key", id, col[17], &plain, w)) {
        if (hl_whsk_decode(plain.ptr, &w->signing_key, errbuf, errlen))
            goto out;
        w->has_signing_key = true;
    }
    if (col[18] && open_field(kr, "previous_signing_key", id, col[18], &plain, w) &&
        hl_whsk_decode(plain.ptr, &w->previous_signing_key, errbuf, errlen) == HL_OK)
        w->has_previous_signing_key = true;
    ok = true;
out:
    hl_buf_wipe(&plain);
    return ok;
}

bool dp_webhook_from_columns(const char *const col[NCOLS], const struct hl_keyring *kr,
                             struct dp_webhook *w, char *errbuf, size_t errlen)
{
    bool ok = false;
    json_t *events = NULL, *headers = NULL, *sig = NULL, *retry = NULL;
    memset(w, 0, sizeof(*w));

    if (!col[0]) {
        snprintf(errbuf, errlen, "no id");
        goto out;
    }
    if (!open_secrets(kr, col, w, errbuf, errlen))
        goto out;
    w->updated_ms = col[16] ? strtoll(col[16], NULL, 10) : 0;
    events = json_loads(col[3] ? col[3] : "", 0, NULL);
    if (!json_is_array(events)) {
        snprintf(errbuf, errlen, "events is not an array");
        goto out;
    }
    w->events = hl_xcalloc(json_array_size(events) + 1, sizeof(char *));
    size_t i;
    json_t *v;
    json_array_foreach(events, i, v)
    {
        if (json_is_string(v))
            w->events[w->nevents++] = hl_xstrdup(json_string_value(v));
    }
    const char *st = col[5] ? col[5] : "active";
    w->status = strcmp(st, "active") == 0   ? DP_WH_ACTIVE
                : strcmp(st, "paused") == 0 ? DP_WH_PAUSED
                                            : DP_WH_DISABLED;
    w->method = hl_xstrdup(col[6] ? col[6] : "POST");

    headers = col[7] ? json_loads(col[7], 0, NULL) : NULL;
    const char *name;
    json_object_foreach(headers, name, v)
    {
        if (json_is_string(v) && header_ok(name, json_string_value(v)))
            add_line(w, name, json_string_value(v));
        else
            hl_log(HL_LOG_WARN, "subs", "webhook '%s': header '%s' ignored", col[0], name);
    }
    if (load_auth(kr, col[0], w, col[8], errbuf, errlen))
        goto out;

    sig = col[9] ? json_loads(col[9], 0, NULL) : NULL;
    json_t *b = json_object_get(sig, "standard");
    w->sig_standard = b ? json_is_true(b) : true;
    b = json_object_get(sig, "legacy");
    w->sig_legacy = b ? json_is_true(b) : true;
    w->sig_v1a = json_is_true(json_object_get(sig, "v1a"));
    if (w->sig_v1a && !w->has_signing_key && !w->secret_error) {
        snprintf(errbuf, errlen, "v1a is on but there is no signing key");
        goto out;
    }
    const char *lh = jstr(sig, "legacy_header", "X-Webhook-Signature");
    w->legacy_header = hl_xstrdup(header_ok(lh, "") ? lh : "X-Webhook-Signature");

    retry = col[12] ? json_loads(col[12], 0, NULL) : NULL;
    const char *strategy = jstr(retry, "strategy", "exponential");
    w->retry.strategy = strcmp(strategy, "linear") == 0  ? DP_BACKOFF_LINEAR
                        : strcmp(strategy, "fixed") == 0 ? DP_BACKOFF_FIXED
                                                         : DP_BACKOFF_EXPONENTIAL;
    w->retry.max_attempts = (int)jint(retry, "max_attempts", 6, 1, 100);
    w->retry.initial_delay_ms = jint(retry, "initial_delay_ms", 5000, 0, INT64_C(86400000) * 7);
    w->retry.max_delay_ms =
        jint(retry, "max_delay_ms", 3600000, w->retry.initial_delay_ms, INT64_C(86400000) * 7);
    json_t *sched = json_object_get(retry, "schedule_ms");
    for (size_t k = 0; k < json_array_size(sched) && k < DP_SCHEDULE_MAX; k++)
        w->retry.schedule_ms[w->retry.nschedule++] =
            json_integer_value(json_array_get(sched, k)) > 0
                ? json_integer_value(json_array_get(sched, k))
                : 0;
    if (w->retry.nschedule)
        w->retry.max_attempts = 1 + w->retry.nschedule;
    /* The gateway compiled the filter before storing it; one that no longer compiles
     * (a dispatcher older than the gateway) makes the webhook unusable, never unfiltered. */
    if (col[19]) {
        char where[256], why[256];
        json_t *spec = json_loads(col[19], 0, NULL);
        hl_err ferr = spec ? hl_filter_compile(spec, &w->filter, where, sizeof(where), why,
                                               sizeof(why))
                           : HL_EINVAL;
        json_decref(spec);
        if (ferr) {
            snprintf(errbuf, errlen, "filter does not compile: %s at '%s'",
                     spec ? why : "not JSON", spec ? where : "");
            goto out;
        }
    }
    w->timeout_ms = col[13] ? strtoll(col[13], NULL, 10) : 30000;
    if (w->timeout_ms < 100)
        w->timeout_ms = 30000;
    w->rate_limit_per_s = col[14] ? (int)strtol(col[14], NULL, 10) : 0;
    w->max_concurrency = col[15] ? (int)strtol(col[15], NULL, 10) : 0;
    if (!format_load(kr, col[0], col[4], col[20], w, errbuf, errlen))
        goto out;

    w->id = hl_xstrdup(col[0]);
    w->tenant = hl_xstrdup(col[1]);
    w->url = hl_xstrdup(col[2]);
    ok = true;
out:
    json_decref(events);
    json_decref(headers);
    json_decref(sig);
    json_decref(retry);
    if (!ok)
        dp_webhook_release(w);
    return ok;
}

/* Fills w from one result row; false (and w empty) when the row cannot be used. */
static bool webhook_from_row(PGresult *r, int row, const struct hl_keyring *kr,
                             struct dp_webhook *w)
{
    char err[256];
    const char *col[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        col[c] = PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
    if (!dp_webhook_from_columns(col, kr, w, err, sizeof(err))) {
        hl_log(HL_LOG_ERROR, "subs", "webhook '%s' skipped: %s", col[0], err);
        return false;
    }
    return true;
}

static void wake_loop(struct dp_subs *s)
{
    if (s->wake_fd >= 0)
        while (write(s->wake_fd, "f", 1) < 0 && errno == EINTR)
            ;
}

static void publish(struct dp_subs *s, struct dp_snapshot *snap)
{
    pthread_mutex_lock(&s->lock);
    struct dp_snapshot *old = s->current;
    s->current = snap;
    int64_t n[3] = {0, 0, 0};
    for (size_t i = 0; i < snap->n; i++)
        n[snap->hooks[i].status]++;
    dp_metrics_snapshot_loaded(n[DP_WH_ACTIVE], n[DP_WH_PAUSED], n[DP_WH_DISABLED]);
    pthread_cond_broadcast(&s->loaded);
    pthread_mutex_unlock(&s->lock);
    dp_snapshot_release(old);
    wake_loop(s);
}

/* The current subscription version into *out; false when PostgreSQL did not answer. */
static bool read_version(PGconn *conn, int64_t *out, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, VERSION_SQL);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok)
        *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        hl_pg_errmsg(conn, errbuf, errlen);
    PQclear(r);
    return ok;
}

static bool exec_ok(PGconn *conn, const char *sql, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        hl_pg_errmsg(conn, errbuf, errlen);
    PQclear(r);
    return ok;
}


/* Every webhook row, decoded as it arrives (single-row mode: the whole result of 100,000
 * rows is never held next to the snapshot being built). */
static hl_err load_hooks(struct dp_subs *s, PGconn *conn, struct dp_snapshot *snap, char *errbuf,
                         size_t errlen)
{
    size_t cap = 0;
    hl_err err = HL_OK;
    if (!PQsendQuery(conn, LOAD_SQL)) {
        hl_pg_errmsg(conn, errbuf, errlen);
        return HL_EIO;
    }
    PQsetSingleRowMode(conn); /* if refused, the rows come in one result: handled alike */
    PGresult *r;
    while ((r = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
            for (int row = 0; row < PQntuples(r); row++) {
                if (snap->n == cap) {
                    cap = cap ? cap * 2 : 256;
                    snap->hooks = hl_xrealloc(snap->hooks, (cap + 1) * sizeof(*snap->hooks));
                }
                memset(&snap->hooks[snap->n], 0, sizeof(*snap->hooks));
                if (webhook_from_row(r, row, s->kr, &snap->hooks[snap->n]))
                    snap->n++;
            }
        } else if (!err) {
            hl_pg_errmsg(conn, errbuf, errlen);
            err = HL_EIO;
        }
        PQclear(r); /* PQgetResult until NULL leaves the connection ready either way */
    }
    /* give back the doubling's slack: 448 bytes a webhook */
    snap->hooks = snap->hooks ? hl_xrealloc(snap->hooks, (snap->n + 1) * sizeof(*snap->hooks))
                              : hl_xcalloc(1, sizeof(*snap->hooks));
    return err;
}

/* Loads every webhook and tenant and publishes them; when only_if_changed, nothing happens
 * unless the subscription version moved since the last load. */
static hl_err reload(struct dp_subs *s, PGconn *conn, bool only_if_changed, char *errbuf,
                     size_t errlen)
{
    int64_t version;
    if (only_if_changed) {
        if (!read_version(conn, &version, errbuf, errlen))
            return HL_EIO;
        dp_metrics_snapshot_checked();
        if (version == s->version)
            return HL_OK;
    }

    struct dp_snapshot *snap = hl_xcalloc(1, sizeof(*snap));
    atomic_init(&snap->refs, 1);
    if (!exec_ok(conn, BEGIN_SQL, errbuf, errlen) ||
        !read_version(conn, &snap->version, errbuf, errlen) ||
        load_hooks(s, conn, snap, errbuf, errlen)) {
        PQclear(PQexec(conn, "ROLLBACK"));
        snapshot_free(snap);
        return HL_EIO;
    }
    qsort(snap->hooks, snap->n, sizeof(*snap->hooks), webhook_cmp);
    dp_snapshot_index(snap);

    PGresult *r;
    r = PQexec(conn, TENANTS_SQL);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        hl_pg_errmsg(conn, errbuf, errlen);
        PQclear(r);
        PQclear(PQexec(conn, "ROLLBACK"));
        snapshot_free(snap);
        return HL_EIO;
    }
    snap->ntenants = (size_t)PQntuples(r);
    snap->tenants = hl_xcalloc(snap->ntenants + 1, sizeof(char *));
    for (size_t i = 0; i < snap->ntenants; i++)
        snap->tenants[i] = hl_xstrdup(PQgetvalue(r, (int)i, 0));
    PQclear(r);
    if (!exec_ok(conn, "COMMIT", errbuf, errlen)) {
        snapshot_free(snap);
        return HL_EIO;
    }

    pthread_mutex_lock(&s->lock);
    bool first = s->current == NULL;
    size_t before = first ? 0 : s->current->n;
    /* Secrets that do not open are logged when first seen, not on every reload. */
    for (size_t i = 0; i < snap->n; i++) {
        const struct dp_webhook *w = &snap->hooks[i], *old;
        if (w->secret_error &&
            (first || !(old = dp_snapshot_find(s->current, w->tenant, w->id)) ||
             !old->secret_error || strcmp(old->secret_error, w->secret_error) != 0))
            hl_log(HL_LOG_ERROR, "subs",
                   "webhook '%s': %s; its deliveries fail with secret_unavailable", w->id,
                   w->secret_error);
    }
    pthread_mutex_unlock(&s->lock);
    hl_log(first || before != snap->n ? HL_LOG_INFO : HL_LOG_DEBUG, "subs",
           "loaded %zu webhooks (version %lld)", snap->n, (long long)snap->version);
    s->version = snap->version;
    publish(s, snap);
#ifdef __GLIBC__
    /* The previous snapshot and the load's rows were freed on this thread's arena; hand
     * the pages back, or the RSS keeps the high-water mark of every reload. */
    malloc_trim(0);
#endif
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

/* Empties the request pipe; true if a request was in it. */
static bool drain_requests(struct dp_subs *s)
{
    char buf[64];
    bool any = false;
    while (read(s->req_pipe[0], buf, sizeof(buf)) > 0)
        any = true;
    return any;
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
    bool loaded_here = false; /* a full load on this connection since it was made */
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
            loaded_here = false;
        }

        int64_t now = hl_mono_ms();
        if (drain_notifies(conn) && dirty_since < 0)
            dirty_since = now;
        drain_requests(s);
        /* Read before the check begins: the check serves every ticket handed out so far. */
        uint_fast64_t asked = atomic_load(&s->requested);
        bool requested = asked > atomic_load(&s->served);
        bool notified = dirty_since >= 0 && now >= dirty_since + DEBOUNCE_MS;
        if (now >= next_reload || notified || requested) {
            /* after a (re)connect everything, since notifications may have been missed;
             * otherwise only when the version moved */
            bool only_if_changed = loaded_here;
            dirty_since = -1;
            if (reload(s, conn, only_if_changed, err, sizeof(err))) {
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
            loaded_here = true;
            if (requested) {
                atomic_store(&s->served, asked);
                wake_loop(s);
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
        struct pollfd p[3] = {{.fd = s->stop_pipe[0], .events = POLLIN},
                              {.fd = PQsocket(conn), .events = POLLIN},
                              {.fd = s->req_pipe[0], .events = POLLIN}};
        int n = poll(p, 3, (int)(due - now));
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

struct dp_subs *dp_subs_new(const char *pg_dsn, int64_t refresh_interval_ms,
                            const struct hl_keyring *kr)
{
    struct dp_subs *s = hl_xcalloc(1, sizeof(*s));
    s->dsn = hl_xstrdup(pg_dsn);
    s->kr = kr;
    s->refresh_ms = refresh_interval_ms;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    s->req_pipe[0] = s->req_pipe[1] = -1;
    s->wake_fd = -1;
    s->version = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->loaded, NULL);
    return s;
}

hl_err dp_subs_start(struct dp_subs *s, char *errbuf, size_t errlen)
{
    if (pipe2(s->stop_pipe, O_CLOEXEC) != 0 ||
        pipe2(s->req_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
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
    for (int i = 0; i < 2; i++) {
        if (s->stop_pipe[i] >= 0)
            close(s->stop_pipe[i]);
        if (s->req_pipe[i] >= 0)
            close(s->req_pipe[i]);
    }
    dp_snapshot_release(s->current);
    pthread_cond_destroy(&s->loaded);
    pthread_mutex_destroy(&s->lock);
    free(s->dsn);
    free(s);
}

void dp_subs_set_wake_fd(struct dp_subs *s, int fd)
{
    s->wake_fd = fd;
}

uint64_t dp_subs_request(struct dp_subs *s)
{
    uint64_t ticket = atomic_fetch_add(&s->requested, 1) + 1;
    if (s->req_pipe[1] >= 0)
        while (write(s->req_pipe[1], "r", 1) < 0 && errno == EINTR)
            ;
    return ticket;
}

bool dp_subs_served(struct dp_subs *s, uint64_t ticket)
{
    return atomic_load(&s->served) >= ticket;
}
