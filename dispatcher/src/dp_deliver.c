/* Delivery attempts over curl multi (see dp_deliver.h).
 *
 * Success is a 2xx answer. Redirects are not followed (3xx is a failure, per Standard
 * Webhooks). The response body is read so the connection can be reused, but only up to
 * RESPONSE_CAP: a receiver that streams more gets its connection closed, and its 2xx still
 * counts; the first EXCERPT_CAP bytes go to the attempt log. 410 Gone disables the webhook
 * at once; 429 and timeouts back off harder; Retry-After is honoured up to
 * retry_after_max_ms.
 *
 * SSRF protection happens in open_socket(), libcurl's CURLOPT_OPENSOCKETFUNCTION: it sees
 * each address libcurl is about to connect to, after DNS, and refuses the blocked ones
 * before a socket exists, so no packet leaves for them. Checking the URL's host name
 * instead would let a name that resolves to 10.0.0.1, or one whose DNS answer changes
 * between check and connect (rebinding), through. Proxies are off (a proxy would be the
 * address checked, not the endpoint), redirects are not followed, and a connection is only
 * reused for the host and port it was opened (and checked) for. An attempt whose every
 * address was refused is recorded as ssrf_blocked and not retried: only a new URL (or an
 * operator's ssrf_allowlist) can change the outcome, so it is dead-lettered at once.
 *
 * TLS peers are always verified (CURLOPT_SSL_VERIFYPEER and VERIFYHOST), against the
 * system store or the ca_bundle option; there is deliberately no switch to turn that off. */
#include "dp_deliver.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dp_consumer.h"
#include "dp_deadletter.h"
#include "dp_health.h"
#include "dp_produce.h"
#include "dp_retry.h"
#include "dp_subs.h"
#include "dp_metrics.h"
#include "hl/buf.h"
#include "hl/envelope.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/sign.h"
#include "hl/ssrf.h"
#include "hl/task.h"
#include "hl/time.h"
#include "hl/banned.h"

#define RESPONSE_CAP (64 * 1024)
#define EXCERPT_CAP 4096
#define MAX_HOST_CONNECTIONS 64
/* A webhook that finishes its parked deliveries within park_max_ms at its pace parks more
 * beyond wait_cap (max_in_flight then holds the intake back): a fast endpoint with a
 * backlog would otherwise send most of it through a retry tier, each hop waiting at least
 * the shortest tier's delay while the dispatcher idles. Others wait behind it at most
 * park_max_ms: a quarter of the shortest tier's delay, since a deferred delivery cannot
 * come back sooner than that, but never less than PARK_MIN_MS. The pace is measured under
 * load (attempt times include the loop's own latency), so a bound much shorter than a hop
 * defers a healthy backlog whenever the machine is busy, and the due times handed out then
 * lock in that slow pace for the whole backlog. */
#define PARK_MIN_MS 200.0

struct dp_delivery {
    struct dp_deliver *dl;
    struct dp_delivery *prev, *next; /* every live delivery, for shutdown */
    struct dp_delivery *wnext;       /* in its health entry's wait list */
    struct dp_msg *msg;
    struct hl_task task;
    struct dp_snapshot *snap; /* our reference: w points into it */
    const struct dp_webhook *w;
    struct dp_health *h;
    struct hl_buf body;
    struct hl_event ev; /* read off task.event_text, which it borrows */

    /* the attempt in progress */
    CURL *easy;
    struct curl_slist *headers;
    size_t resp_bytes;
    struct hl_buf excerpt;
    int64_t retry_after_ms;
    int64_t started_wall_ms;
    char errbuf[CURL_ERROR_SIZE];
    int ssrf_refused, ssrf_passed; /* addresses open_socket() refused / let through */
    char ssrf_why[256];            /* why the last refused one was */
};

struct dp_deliver {
    const struct dp_config *cfg;
    struct dp_producer *prod;
    CURLM *multi;
    struct dp_health_table *health;
    struct dp_delivery *live;
    size_t in_flight;
    size_t wait_cap; /* deliveries one webhook may park here before they are deferred */
    /* Easy handles of finished attempts, reset, for the next ones: curl_easy_init and
     * _cleanup per attempt cost more than curl_easy_reset (connections live in the multi
     * handle's pool either way). At most max_in_flight are kept. */
    CURL **spare;
    size_t nspare;
    double park_max_ms;
};

static double rnd01(void)
{
    return (double)(random() % 1000000) / 1000000.0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct dp_delivery *d = ud;
    size_t n = size * nmemb;
    if (d->excerpt.len < EXCERPT_CAP)
        hl_buf_add(&d->excerpt, ptr,
                   n < EXCERPT_CAP - d->excerpt.len ? n : EXCERPT_CAP - d->excerpt.len);
    d->resp_bytes += n;
    return d->resp_bytes > RESPONSE_CAP ? 0 : n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct dp_delivery *d = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
        char v[64];
        size_t k = n - (sizeof(name) - 1);
        if (k >= sizeof(v))
            k = sizeof(v) - 1;
        memcpy(v, ptr + sizeof(name) - 1, k);
        v[k] = '\0';
        d->retry_after_ms = dp_retry_after_parse(v, hl_now_ms() / 1000);
    }
    return n;
}

/* CURLOPT_OPENSOCKETFUNCTION: the SSRF check on the address about to be connected. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct dp_delivery *d = ud;
    struct sockaddr_storage ss;
    char why[sizeof(d->ssrf_why)];

    /* curl's struct declares a bare sockaddr but hands a whole sockaddr_storage. */
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, (const char *)&a->addr, a->addrlen < sizeof(ss) ? a->addrlen : sizeof(ss));
    if (purpose != CURLSOCKTYPE_IPCXN) {
        snprintf(why, sizeof(why), "socket purpose %d is not a plain connection", (int)purpose);
    } else if (!hl_ssrf_blocked((const struct sockaddr *)&ss, &hl_ssrf_allow, why,
                                sizeof(why))) {
        d->ssrf_passed++;
        return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    }
    d->ssrf_refused++;
    snprintf(d->ssrf_why, sizeof(d->ssrf_why), "%s", why);
    hl_log(HL_LOG_WARN, "deliver", "ssrf: delivery '%s' to webhook '%s': not connecting: %s",
           d->task.delivery_id, d->task.webhook_id, why);
    return CURL_SOCKET_BAD;
}

static void add_line(struct dp_delivery *d, const char *line)
{
    struct curl_slist *l = curl_slist_append(d->headers, line);
    if (!l)
        abort();
    d->headers = l;
}

static void add_header(struct dp_delivery *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_header(struct dp_delivery *d, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    add_line(d, line);
}

/* Standard Webhooks headers: one "v1," entry per live secret and one "v1a," entry per
 * live ed25519 key. During a rotation's overlap the old ones sign too (new first), so
 * receivers holding either verify. */
static void add_signatures(struct dp_delivery *d, long long ts, int64_t now)
{
    const struct dp_webhook *w = d->w;
    const char *id = d->task.delivery_id;
    bool overlap = w->previous_secret_expires_ms > now;
    char v1[HL_SIG_V1_LEN], v1a[HL_SIG_V1A_LEN];
    struct hl_buf line = HL_BUF_INIT;
    hl_buf_adds(&line, "webhook-signature:");
    if (w->sig_standard) {
        hl_sign_v1(&w->secret, id, ts, d->body.ptr, d->body.len, v1);
        hl_buf_addf(&line, " %s", v1);
        if (overlap && w->previous_secret.len) {
            hl_sign_v1(&w->previous_secret, id, ts, d->body.ptr, d->body.len, v1);
            hl_buf_addf(&line, " %s", v1);
        }
    }
    if (w->sig_v1a) {
        hl_sign_v1a(&w->signing_key, id, ts, d->body.ptr, d->body.len, v1a);
        hl_buf_addf(&line, " %s", v1a);
        if (overlap && w->has_previous_signing_key) {
            hl_sign_v1a(&w->previous_signing_key, id, ts, d->body.ptr, d->body.len, v1a);
            hl_buf_addf(&line, " %s", v1a);
        }
    }
    add_header(d, "webhook-id: %s", id);
    add_header(d, "webhook-timestamp: %lld", ts);
    add_line(d, line.ptr);
    hl_buf_release(&line);
}

static void attempt_start(struct dp_delivery *d)
{
    const struct dp_config *cfg = d->dl->cfg;
    const struct dp_webhook *w = d->w;
    int64_t now = hl_now_ms();
    long long ts = (long long)(now / 1000);
    char legacy[HL_SIG_LEGACY_LEN];

    add_line(d, "Content-Type: application/json");
    add_line(d, "User-Agent: Hookline/" HL_VERSION);
    for (size_t i = 0; i < w->nheader_lines; i++)
        add_line(d, w->header_lines[i]);
    if (w->sig_standard || w->sig_v1a)
        add_signatures(d, ts, now);
    if (w->sig_legacy) {
        hl_sign_legacy(&w->secret, d->body.ptr, d->body.len, legacy);
        add_header(d, "%s: %s", w->legacy_header, legacy);
        add_header(d, "X-Webhook-Event: %s", d->ev.type);
        add_header(d, "X-Webhook-Id: %s", d->task.delivery_id);
        add_header(d, "X-Webhook-Timestamp: %lld", ts);
    }
    if (w->hmac_key) {
        unsigned char mac[32];
        unsigned int maclen = 0;
        char hex[65];
        HMAC(EVP_sha256(), w->hmac_key, (int)w->hmac_key_len, (const unsigned char *)d->body.ptr,
             d->body.len, mac, &maclen);
        for (unsigned i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        add_header(d, "%s: sha256=%s", w->hmac_header, hex);
    }
    add_line(d, "Expect:"); /* no 100-continue round trip for larger bodies */

    d->task.attempt++;
    d->resp_bytes = 0;
    d->retry_after_ms = -1;
    hl_buf_clear(&d->excerpt);
    d->errbuf[0] = '\0';
    d->ssrf_refused = d->ssrf_passed = 0;
    d->ssrf_why[0] = '\0';
    d->started_wall_ms = now;
    int64_t connect_ms =
        cfg->connect_timeout_ms < w->timeout_ms ? cfg->connect_timeout_ms : w->timeout_ms;
    CURL *e = d->dl->nspare ? d->dl->spare[--d->dl->nspare] : curl_easy_init();
    if (!e)
        abort();
    curl_easy_setopt(e, CURLOPT_URL, w->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, d);
    /* "" overrides http_proxy and friends from the environment. */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_bundle && *cfg->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_bundle);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (strcmp(w->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, w->method);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body.ptr);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, d);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
    d->easy = e;
    CURLMcode mc = curl_multi_add_handle(d->dl->multi, e);
    assert(mc == CURLM_OK);
    (void)mc;
    dp_metrics_attempts_in_flight(1);
}

static void attempt_cleanup(struct dp_delivery *d)
{
    struct dp_deliver *dl = d->dl;
    curl_multi_remove_handle(dl->multi, d->easy);
    dp_metrics_attempts_in_flight(-1);
    if (dl->nspare < (size_t)dl->cfg->max_in_flight) {
        curl_easy_reset(d->easy); /* every option is set again by attempt_start */
        dl->spare[dl->nspare++] = d->easy;
    } else {
        curl_easy_cleanup(d->easy);
    }
    curl_slist_free_all(d->headers);
    d->easy = NULL;
    d->headers = NULL;
}

/* The delivery is over: its message has one pending unit less. */
static void delivery_finish(struct dp_delivery *d)
{
    struct dp_deliver *dl = d->dl;
    if (d->easy)
        attempt_cleanup(d);
    if (d->prev)
        d->prev->next = d->next;
    else
        dl->live = d->next;
    if (d->next)
        d->next->prev = d->prev;
    dl->in_flight--;
    dp_msg_done(d->msg);
    hl_event_release(&d->ev);
    hl_task_release(&d->task);
    dp_snapshot_release(d->snap);
    hl_buf_release(&d->body);
    hl_buf_release(&d->excerpt);
    free(d);
}

/* --- records handed to Kafka -------------------------------------------------------- */

struct outcome {
    const char *status; /* succeeded | retrying | failed | skipped */
    int attempt_no;     /* attempts made so far for skipped and circuit_open records */
    int64_t started_ms, finished_ms;
    long http_status;
    const char *excerpt;
    size_t excerpt_len;
    const char *error_class; /* NULL on success */
    const char *error;
    int64_t next_attempt_ms;    /* 0 when none */
    const char *disable_reason; /* the log writer disables the webhook */
};

static void add_str(struct hl_buf *b, const char *key, const char *v)
{
    /* not hl_buf_addf: vsnprintf per field was a third of a record's cost */
    hl_buf_add(b, ",\"", 2);
    hl_buf_adds(b, key);
    hl_buf_add(b, "\":", 2);
    if (v)
        hl_buf_add_json_str(b, v, strlen(v));
    else
        hl_buf_adds(b, "null");
}

/* One record on <prefix>.attempts, keyed by delivery id (so a delivery's records stay in
 * order); dp_log.c writes it. */
static void emit_record(struct dp_producer *prod, const struct hl_task *t, const char *event_id,
                        const char *event_type, const struct outcome *o, struct dp_msg *msg)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_grow(&b, t->event_len + o->excerpt_len + 512);
    hl_buf_adds(&b, "{\"delivery_id\":\"");
    hl_buf_adds(&b, t->delivery_id); /* hl_task_decode checked: msg_ + hex */
    hl_buf_addch(&b, '"');
    add_str(&b, "tenant", t->tenant);
    add_str(&b, "webhook_id", t->webhook_id);
    add_str(&b, "event_id", event_id);
    add_str(&b, "event_type", event_type);
    add_str(&b, "status", o->status);
    hl_buf_addf(&b,
                ",\"attempt_no\":%d,\"started_ms\":%lld,\"finished_ms\":%lld,\"http_status\":%ld,"
                "\"next_attempt_ms\":%lld",
                o->attempt_no, (long long)o->started_ms, (long long)o->finished_ms,
                o->http_status, (long long)o->next_attempt_ms);
    hl_buf_adds(&b, ",\"response_excerpt\":");
    if (o->excerpt)
        hl_buf_add_json_str(&b, o->excerpt, o->excerpt_len);
    else
        hl_buf_adds(&b, "null");
    add_str(&b, "error_class", o->error_class);
    add_str(&b, "error", o->error);
    if (o->disable_reason)
        add_str(&b, "disable_reason", o->disable_reason);
    hl_buf_adds(&b, ",\"event\":");
    if (t->event_text) {
        hl_buf_add(&b, t->event_text, t->event_len); /* as the task carried it */
    } else {
        char *ev = json_dumps(t->event, JSON_COMPACT | JSON_ENCODE_ANY);
        hl_buf_adds(&b, ev ? ev : "null");
        free(ev);
    }
    hl_buf_addch(&b, '}');
    dp_metrics_outcome(o->status, o->error_class, o->disable_reason != NULL);
    dp_produce(prod, "attempts", t->delivery_id, b.ptr, b.len, msg);
    hl_buf_release(&b);
}

/* Hands a task to the retry tier that fits a wait of wait_ms. */
static void schedule(struct dp_deliver *dl, const struct hl_task *t, int64_t wait_ms,
                     struct dp_msg *msg)
{
    char suffix[32];
    struct hl_buf b = HL_BUF_INIT;
    struct hl_task copy = *t;
    copy.due_ms = hl_now_ms() + wait_ms;
    hl_task_encode(&copy, &b);
    snprintf(suffix, sizeof(suffix), "retry.%zu",
             dp_retry_tier(dl->cfg->tiers, dl->cfg->ntiers, wait_ms));
    dp_produce(dl->prod, suffix, t->webhook_id, b.ptr, b.len, msg);
    hl_buf_release(&b);
}

void dp_emit_webhook_event(struct dp_producer *prod, const char *type, const char *tenant,
                           const char *webhook_id, const char *reason, struct dp_msg *msg)
{
    char id[HL_UUID_LEN], ts[HL_ISO8601_LEN];
    struct hl_buf b = HL_BUF_INIT;
    hl_uuid_v7(id);
    hl_iso8601_ms(hl_now_ms(), ts);
    hl_buf_addf(&b, "{\"id\":\"%s\",\"event\":\"%s\",\"tenant\":", id, type);
    hl_buf_add_json_str(&b, tenant, strlen(tenant));
    hl_buf_addf(&b, ",\"timestamp\":\"%s\",\"data\":{\"webhook_id\":", ts);
    hl_buf_add_json_str(&b, webhook_id, strlen(webhook_id));
    add_str(&b, "reason", reason);
    hl_buf_adds(&b, "}}");
    dp_produce(prod, "events", id, b.ptr, b.len, msg);
    hl_buf_release(&b);
    hl_log(HL_LOG_INFO, "deliver", "%s: webhook '%s' (%s)", type, webhook_id, reason);
}

/* --- attempts ------------------------------------------------------------------------ */

static const char *classify(CURLcode rc, long status, bool capped, bool ssrf)
{
    if (ssrf)
        return "ssrf_blocked";
    if (rc == CURLE_OK || capped) {
        if (status >= 200 && status < 300)
            return NULL;
        if (status >= 300 && status < 400)
            return "redirect";
        if (status == 410)
            return "gone";
        return "http_status";
    }
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "dns";
    case CURLE_COULDNT_CONNECT:
        return "connect_failed";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION: /* = CURLE_SSL_CACERT: unknown CA, wrong host */
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
        return "tls";
    case CURLE_TOO_MANY_REDIRECTS:
        return "too_many_redirects";
    default:
        return "network";
    }
}

static void wake_waiters(struct dp_deliver *dl, struct dp_health *h);
static void defer_open(struct dp_deliver *dl, struct dp_delivery *d, int64_t wait_ms);

/* The excerpt travels as JSON into a jsonb column: no NUL, valid UTF-8. */
static void sanitize(struct hl_buf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->ptr[i] == '\0')
            b->ptr[i] = ' ';
    json_t *ok = b->len ? json_stringn(b->ptr, b->len) : NULL;
    if (!ok)
        for (size_t i = 0; i < b->len; i++)
            if ((unsigned char)b->ptr[i] >= 0x80)
                b->ptr[i] = '?';
    json_decref(ok);
}

static void attempt_done(struct dp_deliver *dl, CURL *e, CURLcode rc)
{
    struct dp_delivery *d = NULL;
    long status = 0;
    char why[CURL_ERROR_SIZE + 64];
    const struct dp_config *cfg = dl->cfg;

    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&d);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    assert(d && d->easy == e);
    int64_t finished = hl_now_ms();
    const struct dp_webhook *w = d->w;
    struct hl_task *t = &d->task;

    bool capped = rc == CURLE_WRITE_ERROR && d->resp_bytes > RESPONSE_CAP;
    /* Refused on every address it had: had one been let through, its own error counts. */
    bool ssrf = rc != CURLE_OK && d->ssrf_refused && !d->ssrf_passed;
    const char *cls = classify(rc, status, capped, ssrf);
    if (ssrf)
        snprintf(why, sizeof(why), "blocked by SSRF protection: %s", d->ssrf_why);
    else if (rc != CURLE_OK && !capped)
        snprintf(why, sizeof(why), "%s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc));
    else
        snprintf(why, sizeof(why), "HTTP %ld", status);
    hl_log(HL_LOG_DEBUG, "deliver", "attempt %d of delivery '%s' to webhook '%s': %s in %lld ms",
           t->attempt, t->delivery_id, t->webhook_id, why,
           (long long)(finished - d->started_wall_ms));
    attempt_cleanup(d);
    dp_metrics_attempt(finished - d->started_wall_ms, cls);

    sanitize(&d->excerpt);
    dp_health_timed(d->h, d->started_wall_ms, finished);
    bool recovered = dp_health_done(cfg, d->h, cls == NULL, hl_mono_ms(), finished);
    wake_waiters(dl, d->h);
    struct outcome o = {
        .attempt_no = t->attempt,
        .started_ms = d->started_wall_ms,
        .finished_ms = finished,
        .http_status = status,
        .excerpt = d->excerpt.ptr,
        .excerpt_len = d->excerpt.len,
        .error_class = cls,
        .error = cls ? why : NULL,
    };
    if (!cls) {
        o.status = "succeeded";
        dp_metrics_delivered(d->ev.timestamp, finished);
        if (recovered)
            dp_emit_webhook_event(dl->prod, "webhook.recovered", t->tenant, t->webhook_id,
                                  "delivered again", d->msg);
    } else {
        bool gone = strcmp(cls, "gone") == 0;
        bool disable = gone || dp_health_should_disable(cfg, d->h, finished);
        if (disable) {
            d->h->disabled_sent = true;
            d->h->disabled_at_ms = finished;
            o.disable_reason = gone ? "410 gone" : "failing continuously";
            dp_emit_webhook_event(dl->prod, "webhook.disabled", t->tenant, t->webhook_id,
                                  o.disable_reason, d->msg);
        }
        free(t->last_error);
        t->last_error = hl_xstrdup(why);
        if (!gone && !ssrf && t->attempt - t->budget_base < w->retry.max_attempts) {
            bool throttled = status == 429 || strcmp(cls, "timeout") == 0;
            int64_t ra = d->retry_after_ms;
            if (ra > cfg->retry_after_max_ms)
                ra = cfg->retry_after_max_ms;
            int64_t wait = dp_retry_delay_ms(&w->retry, t->attempt - t->budget_base, rnd01(),
                                             (int)cfg->retry_jitter_pct, throttled,
                                             cfg->throttle_min_delay_ms, ra);
            o.status = "retrying";
            o.next_attempt_ms = finished + wait;
            schedule(dl, t, wait, d->msg);
        } else {
            o.status = "failed";
            dp_dead_letter_delivery(dl->prod, t,
                                    gone   ? "410 gone"
                                    : ssrf ? "ssrf blocked"
                                           : "attempts exhausted",
                                    d->msg);
        }
    }
    emit_record(dl->prod, t, d->ev.id, d->ev.type, &o, d->msg);
    delivery_finish(d);
}

/* Starts waiting deliveries of h while it admits them. */
static void start_waiting(struct dp_deliver *dl, struct dp_health *h)
{
    while (h->nwait) {
        struct dp_delivery *d = h->wait_head;
        int64_t wait;
        dp_admit a = dp_health_admit(dl->cfg, h, d->w->max_concurrency, d->w->rate_limit_per_s,
                                     hl_mono_ms(), &wait);
        if (a == DP_ADMIT_WAIT)
            return;
        h->wait_head = d->wnext;
        if (!h->wait_head)
            h->wait_tail = NULL;
        h->nwait--;
        d->wnext = NULL;
        if (a == DP_ADMIT_GO) {
            attempt_start(d);
        } else {
            defer_open(dl, d, wait);
            delivery_finish(d);
        }
    }
}

static void wake_waiters(struct dp_deliver *dl, struct dp_health *h)
{
    dp_health_mark_ready(dl->health, h);
}

static void skip(struct dp_deliver *dl, struct dp_msg *msg, const struct hl_task *t,
                 const char *event_id, const char *event_type, const char *cls)
{
    int64_t now = hl_now_ms();
    /* The attempts made so far (0 for a new delivery): a record never moves a delivery
     * back to fewer attempts, so with 0 a retry skipped after its webhook was disabled
     * would stay "retrying" in the log for ever. */
    struct outcome o = {.status = "skipped", .attempt_no = t->attempt, .started_ms = now,
                        .finished_ms = now, .error_class = cls, .error = cls};
    emit_record(dl->prod, t, event_id, event_type, &o, msg);
}

/* The breaker is open: the delivery waits for the probe in a retry tier, unattempted. The
 * log shows it as retrying with error class circuit_open and when it is tried again (the
 * record repeats the last attempt number, so it adds no row to delivery_attempts). */
static void defer_open(struct dp_deliver *dl, struct dp_delivery *d, int64_t wait_ms)
{
    int64_t now = hl_now_ms();
    struct outcome o = {.status = "retrying", .attempt_no = d->task.attempt, .started_ms = now,
                        .finished_ms = now, .error_class = "circuit_open",
                        .error = "circuit breaker open: not attempted",
                        .next_attempt_ms = now + wait_ms};
    emit_record(dl->prod, &d->task, d->ev.id, d->ev.type, &o, d->msg);
    schedule(dl, &d->task, wait_ms, d->msg);
}

/* May a task that came back before its due time go on now? Only one never attempted: its
 * due time merely paced a backlog (dp_health_defer_due) at the pace measured when it was
 * deferred, often while the loop was busy with fan-out. When its webhook would now park it
 * within park_max_ms, a further hop would only keep the dispatcher idle. A retry's due time
 * is its backoff and always holds, and so does an open breaker's. */
static bool paced_early(struct dp_deliver *dl, struct dp_snapshot *snap, const struct hl_task *t)
{
    if (t->attempt != 0)
        return false;
    const struct dp_webhook *w = dp_snapshot_find(snap, t->tenant, t->webhook_id);
    if (!w)
        return false;
    struct dp_health *h = dp_health_get(dl->health, t->webhook_id);
    int limit = w->max_concurrency > 0 ? w->max_concurrency : (int)dl->cfg->default_max_concurrency;
    return !h->open &&
           dp_health_drain_ms(h, limit, w->rate_limit_per_s, hl_mono_ms()) < dl->park_max_ms;
}

/* The webhook's secrets do not open with this dispatcher's ring, so nothing can be signed:
 * the attempt fails unsent with error class secret_unavailable and retries on the
 * webhook's schedule (a dispatcher given the missing key delivers it), until attempts run
 * out. The endpoint is not at fault, so its health is left alone. */
static void fail_unsigned(struct dp_deliver *dl, struct dp_msg *msg, struct hl_task *t,
                          const struct dp_webhook *w, const char *event_id,
                          const char *event_type)
{
    int64_t now = hl_now_ms();
    t->attempt++;
    struct outcome o = {.status = "failed", .attempt_no = t->attempt, .started_ms = now,
                        .finished_ms = now, .error_class = "secret_unavailable",
                        .error = w->secret_error};
    free(t->last_error);
    t->last_error = hl_xstrdup(w->secret_error);
    if (t->attempt - t->budget_base < w->retry.max_attempts) {
        int64_t wait = dp_retry_delay_ms(&w->retry, t->attempt - t->budget_base, rnd01(),
                                         (int)dl->cfg->retry_jitter_pct, false, 0, -1);
        o.status = "retrying";
        o.next_attempt_ms = now + wait;
        schedule(dl, t, wait, msg);
    } else {
        dp_dead_letter_delivery(dl->prod, t, "secret unavailable", msg);
    }
    emit_record(dl->prod, t, event_id, event_type, &o, msg);
}

void dp_deliver_task(struct dp_deliver *dl, struct dp_msg *msg, struct dp_snapshot *snap)
{
    char err[512];
    struct hl_task task;
    struct hl_event ev;

    if (!msg->payload ||
        hl_task_decode(msg->payload, msg->len, &task, err, sizeof(err)) != HL_OK) {
        dp_dead_letter(dl->prod, msg, msg->payload ? err : "empty message");
        return;
    }
    int64_t now = hl_now_ms();
    if (task.due_ms > now && !paced_early(dl, snap, &task)) {
        /* not yet: another hop through the tiers */
        schedule(dl, &task, task.due_ms - now, msg);
        hl_task_release(&task);
        return;
    }
    if (hl_event_read(task.event_text, task.event_len, &ev, err, sizeof(err)) != HL_OK) {
        dp_dead_letter(dl->prod, msg, err);
        hl_task_release(&task);
        return;
    }
    const struct dp_webhook *w = dp_snapshot_find(snap, task.tenant, task.webhook_id);
    struct dp_health *h = dp_health_get(dl->health, task.webhook_id);
    /* Disabled here: skipped until PostgreSQL shows it (the log writer disables the row),
     * or shows a change made after it (resumed before any task came by to see it
     * disabled): then PostgreSQL's status rules again. */
    if (w && (w->status != DP_WH_ACTIVE || w->updated_ms > h->disabled_at_ms))
        h->disabled_sent = false;
    if (!w || w->status != DP_WH_ACTIVE || h->disabled_sent) {
        const char *cls = !w                             ? "deleted"
                          : w->status == DP_WH_PAUSED    ? "paused"
                                                         : "disabled";
        skip(dl, msg, &task, ev.id, ev.type, cls);
        hl_event_release(&ev);
        hl_task_release(&task);
        return;
    }

    if (w->secret_error) {
        fail_unsigned(dl, msg, &task, w, ev.id, ev.type);
        hl_event_release(&ev);
        hl_task_release(&task);
        return;
    }

    struct dp_delivery *d = hl_xcalloc(1, sizeof(*d));
    d->dl = dl;
    d->msg = msg;
    msg->pending++;
    d->task = task;
    d->snap = snap;
    atomic_fetch_add(&snap->refs, 1);
    d->w = w;
    d->h = h;
    d->ev = ev; /* its text is task.event_text, now d->task's */
    hl_envelope_body(&d->ev, w->id, &d->body);
    d->next = dl->live;
    if (dl->live)
        dl->live->prev = d;
    dl->live = d;
    dl->in_flight++;

    int64_t wait = 0;
    int limit = w->max_concurrency > 0 ? w->max_concurrency : (int)dl->cfg->default_max_concurrency;
    dp_admit a = h->nwait ? DP_ADMIT_WAIT
                          : dp_health_admit(dl->cfg, h, w->max_concurrency, w->rate_limit_per_s,
                                            hl_mono_ms(), &wait);
    if (a == DP_ADMIT_GO) {
        attempt_start(d);
    } else if (a == DP_ADMIT_WAIT &&
               (h->nwait < dl->wait_cap ||
                dp_health_drain_ms(h, limit, w->rate_limit_per_s, hl_mono_ms()) <
                    dl->park_max_ms)) {
        if (h->wait_tail)
            ((struct dp_delivery *)h->wait_tail)->wnext = d;
        else
            h->wait_head = d;
        h->wait_tail = d;
        h->nwait++;
        dp_health_mark_ready(dl->health, h);
    } else {
        /* breaker open, or too much parked here: wait in Kafka, not in memory */
        if (a == DP_ADMIT_OPEN) {
            defer_open(dl, d, wait);
        } else {
            int64_t now_wall = hl_now_ms();
            schedule(dl, &d->task,
                     dp_health_defer_due(h, limit, w->rate_limit_per_s, now_wall) - now_wall,
                     msg);
        }
        delivery_finish(d);
    }
}

static void perform(struct dp_deliver *dl)
{
    int running = 0, left = 0;
    CURLMsg *m;
    CURLMcode mc = curl_multi_perform(dl->multi, &running);
    if (mc != CURLM_OK)
        hl_log(HL_LOG_ERROR, "deliver", "curl_multi_perform: %s", curl_multi_strerror(mc));
    while ((m = curl_multi_info_read(dl->multi, &left)) != NULL)
        if (m->msg == CURLMSG_DONE)
            attempt_done(dl, m->easy_handle, m->data.result);
}

/* Retries admission for every webhook with waiters; true when some still wait for a
 * token (the loop then polls again soon). */
static bool admit_waiting(struct dp_deliver *dl)
{
    struct dp_health *still = NULL, *h;
    bool waiting = false;
    while ((h = dp_health_take_ready(dl->health)) != NULL) {
        start_waiting(dl, h);
        if (h->nwait) {
            h->ready_next = still;
            still = h;
            waiting = true;
        }
    }
    while ((h = still) != NULL) {
        still = h->ready_next;
        dp_health_mark_ready(dl->health, h);
    }
    return waiting;
}

void dp_deliver_run(struct dp_deliver *dl, struct curl_waitfd *extra, unsigned nextra,
                    int max_wait_ms)
{
    bool waiting = admit_waiting(dl);
    perform(dl);
    int wait = waiting && max_wait_ms > 10 ? 10 : max_wait_ms;
    CURLMcode mc = curl_multi_poll(dl->multi, extra, nextra, wait, NULL);
    if (mc != CURLM_OK)
        hl_log(HL_LOG_ERROR, "deliver", "curl_multi_poll: %s", curl_multi_strerror(mc));
    perform(dl);
}

size_t dp_deliver_in_flight(const struct dp_deliver *dl)
{
    return dl->in_flight;
}

struct dp_deliver *dp_deliver_new(const struct dp_config *cfg, struct dp_producer *prod,
                                  char *errbuf, size_t errlen)
{
    struct dp_deliver *dl = hl_xcalloc(1, sizeof(*dl));
    dl->cfg = cfg;
    dl->prod = prod;
    dl->multi = curl_multi_init();
    if (!dl->multi) {
        snprintf(errbuf, errlen, "curl_multi_init failed");
        free(dl);
        return NULL;
    }
    dl->health = dp_health_table_new();
    dl->wait_cap = (size_t)(cfg->max_in_flight / 8 > 16 ? cfg->max_in_flight / 8 : 16);
    dl->spare = hl_xcalloc((size_t)cfg->max_in_flight, sizeof(*dl->spare));
    dl->park_max_ms = cfg->ntiers && (double)cfg->tiers[0] / 4 > PARK_MIN_MS
                          ? (double)cfg->tiers[0] / 4
                          : PARK_MIN_MS;
    curl_multi_setopt(dl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)MAX_HOST_CONNECTIONS);
    curl_multi_setopt(dl->multi, CURLMOPT_MAXCONNECTS, (long)(cfg->max_in_flight + 16));
    return dl;
}

void dp_deliver_free(struct dp_deliver *dl)
{
    if (!dl)
        return;
    while (dl->live)
        delivery_finish(dl->live);
    dp_health_table_free(dl->health);
    while (dl->nspare)
        curl_easy_cleanup(dl->spare[--dl->nspare]);
    free(dl->spare);
    curl_multi_cleanup(dl->multi);
    free(dl);
}
