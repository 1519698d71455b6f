/* Delivery attempts over curl multi (see dp_deliver.h).
 *
 * Success is a 2xx answer. Redirects are not followed (3xx is a failure, per Standard
 * Webhooks). The response body is read so the connection can be reused, but only up to
 * RESPONSE_CAP: a receiver that streams more gets its connection closed, and its 2xx still
 * counts. Every failure is retried until max_attempts, then dead-lettered. */
#include "dp_deliver.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_consumer.h"
#include "dp_deadletter.h"
#include "dp_retry.h"
#include "dp_subs.h"
#include "hl/buf.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/sign.h"
#include "hl/time.h"
#include "hl/banned.h"

#define RESPONSE_CAP (64 * 1024)
#define MAX_HOST_CONNECTIONS 32

struct dp_delivery {
    struct dp_deliver *dl;
    struct dp_delivery *prev, *next; /* every live delivery, for shutdown */
    struct dp_msg *msg;
    char *webhook_id;
    char *url;
    struct hl_secret secret;
    char delivery_id[HL_DELIVERY_ID_LEN];
    struct hl_buf body;
    int attempts;

    /* the attempt in progress */
    CURL *easy;
    struct curl_slist *headers;
    size_t resp_bytes;
    char errbuf[CURL_ERROR_SIZE];
};

struct dp_deliver {
    const struct dp_config *cfg;
    CURLM *multi;
    struct dp_retry_queue retries;
    struct dp_delivery *live;
    size_t in_flight;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct dp_delivery *d = ud;
    size_t n = size * nmemb;
    d->resp_bytes += n;
    return d->resp_bytes > RESPONSE_CAP ? 0 : n;
}

static void add_header(struct dp_delivery *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_header(struct dp_delivery *d, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    struct curl_slist *l = curl_slist_append(d->headers, line);
    if (!l)
        abort();
    d->headers = l;
}

static void attempt_start(struct dp_delivery *d)
{
    const struct dp_config *cfg = d->dl->cfg;
    const struct hl_event *ev = &d->msg->ev;
    long long ts = (long long)(hl_now_ms() / 1000);
    char sig_v1[HL_SIG_V1_LEN], sig_legacy[HL_SIG_LEGACY_LEN];

    hl_sign_v1(&d->secret, d->delivery_id, ts, d->body.ptr, d->body.len, sig_v1);
    hl_sign_legacy(&d->secret, d->body.ptr, d->body.len, sig_legacy);
    add_header(d, "Content-Type: application/json");
    add_header(d, "User-Agent: Hookline/%s", HL_VERSION);
    add_header(d, "webhook-id: %s", d->delivery_id);
    add_header(d, "webhook-timestamp: %lld", ts);
    add_header(d, "webhook-signature: %s", sig_v1);
    add_header(d, "X-Webhook-Signature: %s", sig_legacy);
    add_header(d, "X-Webhook-Event: %s", ev->type);
    add_header(d, "X-Webhook-Id: %s", d->delivery_id);
    add_header(d, "X-Webhook-Timestamp: %lld", ts);
    add_header(d, "Expect:"); /* no 100-continue round trip for larger bodies */

    d->attempts++;
    d->resp_bytes = 0;
    d->errbuf[0] = '\0';
    CURL *e = curl_easy_init();
    if (!e)
        abort();
    curl_easy_setopt(e, CURLOPT_URL, d->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body.ptr);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->request_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
    d->easy = e;
    CURLMcode mc = curl_multi_add_handle(d->dl->multi, e);
    assert(mc == CURLM_OK);
    (void)mc;
}

static void attempt_cleanup(struct dp_delivery *d)
{
    curl_multi_remove_handle(d->dl->multi, d->easy);
    curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    d->easy = NULL;
    d->headers = NULL;
}

/* The delivery is over, delivered or given up: its message has one pending unit less. */
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
    explicit_bzero(&d->secret, sizeof(d->secret));
    hl_buf_release(&d->body);
    free(d->webhook_id);
    free(d->url);
    free(d);
}

void dp_deliver_add(struct dp_deliver *dl, struct dp_msg *msg, const struct dp_webhook *w)
{
    struct dp_delivery *d = hl_xcalloc(1, sizeof(*d));
    d->dl = dl;
    d->msg = msg;
    msg->pending++;
    d->webhook_id = hl_xstrdup(w->id);
    d->url = hl_xstrdup(w->url);
    d->secret = w->secret;
    hl_delivery_id(msg->ev.tenant, msg->ev.id, w->id, d->delivery_id);
    hl_envelope_body(&msg->ev, w->id, &d->body);
    d->next = dl->live;
    if (dl->live)
        dl->live->prev = d;
    dl->live = d;
    dl->in_flight++;
    attempt_start(d);
}

static void attempt_done(struct dp_deliver *dl, CURL *e, CURLcode rc)
{
    struct dp_delivery *d = NULL;
    long status = 0;
    curl_off_t took_us = 0;
    char why[CURL_ERROR_SIZE + 64];

    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&d);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &took_us);
    assert(d && d->easy == e);

    bool capped = rc == CURLE_WRITE_ERROR && d->resp_bytes > RESPONSE_CAP;
    bool ok = (rc == CURLE_OK || capped) && status >= 200 && status < 300;
    if (rc != CURLE_OK && !capped)
        snprintf(why, sizeof(why), "%s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc));
    else
        snprintf(why, sizeof(why), "HTTP %ld", status);
    hl_log(HL_LOG_DEBUG, "deliver", "attempt %d of delivery '%s' to webhook '%s': %s in %lld ms",
           d->attempts, d->delivery_id, d->webhook_id, why, (long long)(took_us / 1000));
    attempt_cleanup(d);

    if (ok) {
        delivery_finish(d);
    } else if (dp_retry_allowed(dl->cfg, d->attempts)) {
        int64_t delay = dp_retry_delay_ms(dl->cfg, d->attempts);
        dp_retry_queue_push(&dl->retries, hl_mono_ms() + delay, d);
    } else {
        dp_dead_letter_delivery(d->msg, d->delivery_id, d->webhook_id, d->attempts, why);
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

void dp_deliver_run(struct dp_deliver *dl, struct curl_waitfd *extra, unsigned nextra,
                    int max_wait_ms)
{
    int64_t now = hl_mono_ms();
    struct dp_delivery *d;
    while ((d = dp_retry_queue_pop_due(&dl->retries, now)) != NULL)
        attempt_start(d);
    perform(dl);

    int64_t wait = max_wait_ms;
    int64_t due = dp_retry_queue_next_due(&dl->retries);
    if (due >= 0 && due - now < wait)
        wait = due > now ? due - now : 0;
    CURLMcode mc = curl_multi_poll(dl->multi, extra, nextra, (int)wait, NULL);
    if (mc != CURLM_OK)
        hl_log(HL_LOG_ERROR, "deliver", "curl_multi_poll: %s", curl_multi_strerror(mc));
    perform(dl);
}

size_t dp_deliver_in_flight(const struct dp_deliver *dl)
{
    return dl->in_flight;
}

struct dp_deliver *dp_deliver_new(const struct dp_config *cfg, char *errbuf, size_t errlen)
{
    struct dp_deliver *dl = hl_xcalloc(1, sizeof(*dl));
    dl->cfg = cfg;
    dl->multi = curl_multi_init();
    if (!dl->multi) {
        snprintf(errbuf, errlen, "curl_multi_init failed");
        free(dl);
        return NULL;
    }
    curl_multi_setopt(dl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)MAX_HOST_CONNECTIONS);
    return dl;
}

void dp_deliver_free(struct dp_deliver *dl)
{
    if (!dl)
        return;
    while (dl->live)
        delivery_finish(dl->live);
    dp_retry_queue_release(&dl->retries);
    curl_multi_cleanup(dl->multi);
    free(dl);
}
