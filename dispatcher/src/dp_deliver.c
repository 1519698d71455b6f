/* Delivery attempts (see dp_deliver.h).
 *
 * This file carries deliveries out; it decides nothing about their outcome. Each attempt's
 * answer is classified (dp_classify.c), counted by the breaker (dp_breaker.c), and what
 * follows (done, retry at, dead letter, disable) is dp_retry_decide's (dp_retry.c);
 * carry_out() does it. The HTTP exchange itself, its connection and the SSRF check on
 * every address connected to are dp_conn.c's. Redirects are not followed (3xx is a
 * failure, per Standard Webhooks). The response body is read so the connection can be
 * reused, but only up to RESPONSE_CAP: a receiver that streams more gets its connection
 * closed, and its 2xx still counts; the first EXCERPT_CAP bytes go to the attempt log.
 * An attempt whose every address was refused is classified ssrf_blocked, which
 * dp_retry_decide dead-letters at once: only a new URL (or an operator's ssrf_allowlist)
 * can change the outcome. */
#include "dp_deliver.h"

#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dp_attempt_record.h"
#include "dp_autodisable.h"
#include "dp_breaker.h"
#include "dp_classify.h"
#include "dp_conn.h"
#include "dp_consumer.h"
#include "dp_deadletter.h"
#include "dp_format.h"
#include "dp_produce.h"
#include "dp_retry.h"
#include "dp_signature.h"
#include "dp_subs.h"
#include "dp_metrics.h"
#include "hl/buf.h"
#include "hl/envelope.h"
#include "hl/format.h"
#include "hl/id.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/sign.h"
#include "hl/task.h"
#include "hl/time.h"
#include "hl/banned.h"

#define RESPONSE_CAP (64 * 1024)
#define EXCERPT_CAP 4096
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
    struct dp_delivery *hnext;       /* in the held list, by due time */
    int64_t due_mono_ms;             /* held: when the next attempt is due (monotonic) */
    /* An attempt that ended while its partition was revoked: what follows it, once the
     * rebalance says whose the partition is (settle_undecided). */
    struct dp_delivery *unext;          /* in the undecided list */
    struct dp_retry_decision follow;    /* the retry or dead letter decided */
    int64_t follow_due_ms;              /* DP_NEXT_RETRY: when the retry is due (wall clock) */
    struct dp_msg *msg;
    struct hl_task task;
    struct dp_snapshot *snap; /* our reference: w points into it */
    const struct dp_webhook *w;
    struct dp_breaker *h;
    struct hl_buf body;
    struct hl_buf fmt_lines; /* the format's header lines (dp_format.h), when it has one */
    struct hl_event ev; /* read off task.event_text, which it borrows */

    /* the attempt in progress */
    bool attempting;
    struct dp_exchange x;
    struct dp_headers headers;
    size_t resp_bytes;
    struct hl_buf excerpt;
    int64_t started_wall_ms;
};

struct dp_deliver {
    const struct dp_config *cfg;
    struct dp_producer *prod;
    struct dp_subs *subs;
    /* Retries due sooner than the shortest tier, held here until due (see hold()). */
    struct dp_delivery *held;
    size_t nheld, held_cap;
    struct dp_delivery *undecided; /* see struct dp_delivery's unext */
    bool holding; /* false once shutdown began: retries go to Kafka */
    struct dp_conns *conns;
    struct dp_breaker_table *health;
    struct dp_delivery *live;
    size_t in_flight;
    size_t attempts; /* on the wire: started, not yet ended */
    size_t wait_cap; /* deliveries one webhook may park here before they are deferred */
    /* The header lists' storage of finished attempts, for the next ones. At most
     * max_in_flight are kept. */
    struct dp_headers *spare;
    size_t nspare;
    double park_max_ms;
    /* dp_deliver_set_share: the default concurrency of a webhook that spreads, here */
    int spread_limit;
};

static double rnd01(void)
{
    return (double)(random() % 1000000) / 1000000.0;
}

bool dp_deliver_spreads(const struct dp_webhook *w)
{
    return w->max_concurrency <= 0 && w->rate_limit_per_s <= 0;
}

void dp_deliver_set_share(struct dp_deliver *dl, double share)
{
    int limit = (int)ceil((double)dl->cfg->default_max_concurrency * share);
    dl->spread_limit = limit > 0 ? limit : 1;
}

/* The most attempts webhook w may have in flight here: its own limit; the shared default
 * when it spreads over the dispatchers; the whole default when only its key's owner
 * delivers it (a rate limit and no max_concurrency). */
static int limit_of(const struct dp_deliver *dl, const struct dp_webhook *w)
{
    if (w->max_concurrency > 0)
        return w->max_concurrency;
    return dp_deliver_spreads(w) ? dl->spread_limit : (int)dl->cfg->default_max_concurrency;
}

/* The response's body (dp_http.h): kept up to EXCERPT_CAP, read up to RESPONSE_CAP. */
static bool on_body(void *ud, const char *p, size_t n)
{
    struct dp_delivery *d = ud;
    if (d->excerpt.len < EXCERPT_CAP)
        hl_buf_add(&d->excerpt, p,
                   n < EXCERPT_CAP - d->excerpt.len ? n : EXCERPT_CAP - d->excerpt.len);
    d->resp_bytes += n;
    return d->resp_bytes <= RESPONSE_CAP;
}

static void attempt_start(struct dp_delivery *d)
{
    struct dp_deliver *dl = d->dl;
    const struct dp_config *cfg = dl->cfg;
    const struct dp_webhook *w = d->w;
    int64_t now = hl_now_ms();

    if (dl->nspare)
        d->headers = dl->spare[--dl->nspare];
    else
        memset(&d->headers, 0, sizeof(d->headers));
    struct dp_headers *hd = &d->headers;
    dp_header_line(hd, "Content-Type: application/json");
    const char *agent = w->format ? w->format->user_agent_line : NULL;
    dp_header_line(hd, agent ? agent : "User-Agent: Hookline/" HL_VERSION);
    for (size_t i = 0; i < w->nheader_lines; i++)
        dp_header_line(hd, w->header_lines[i]);
    dp_signature_headers(w, d->task.delivery_id, d->ev.type, d->body.ptr, d->body.len, now, hd);
    if (w->format)
        dp_format_headers(w, &d->fmt_lines, d->body.ptr, d->body.len, hd);

    d->task.attempt++;
    dp_msg_acted(d->msg);
    d->resp_bytes = 0;
    hl_buf_clear(&d->excerpt);
    d->started_wall_ms = now;
    struct dp_exchange *x = &d->x;
    if (x->resp.on_body)
        dp_http_resp_reset(&x->resp);
    else
        dp_http_resp_init(&x->resp, on_body, d);
    x->timeout_ms = w->timeout_ms;
    x->connect_timeout_ms = cfg->connect_timeout_ms;
    x->log_delivery = d->task.delivery_id;
    x->log_webhook = d->task.webhook_id;
    d->attempting = true;
    dp_exchange_start(dl->conns, x, w->url, w->method, hd, d->body.ptr, d->body.len);
    dl->attempts++;
    dp_metrics_attempts_in_flight(1);
}

/* The attempt in progress ended (aborted: it had not, and is ended now). */
static void attempt_cleanup(struct dp_delivery *d, bool aborted)
{
    struct dp_deliver *dl = d->dl;
    if (aborted)
        dp_exchange_abort(dl->conns, &d->x);
    d->attempting = false;
    dl->attempts--;
    dp_metrics_attempts_in_flight(-1);
    dp_headers_clear(&d->headers);
    if (dl->nspare < (size_t)dl->cfg->max_in_flight)
        dl->spare[dl->nspare++] = d->headers;
    else
        dp_headers_release(&d->headers);
    memset(&d->headers, 0, sizeof(d->headers));
}

/* The delivery is over: its message has one pending unit less. */
static void delivery_finish(struct dp_delivery *d)
{
    struct dp_deliver *dl = d->dl;
    if (d->attempting)
        attempt_cleanup(d, true);
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
    hl_buf_release(&d->fmt_lines);
    hl_buf_release(&d->excerpt);
    dp_exchange_release(&d->x);
    free(d);
}

/* --- hand-offs to Kafka ---------------------------------------------------------------- */

/* Produces task t, due at due_ms (wall clock), to <prefix>.<suffix>, keyed by its webhook;
 * msg finishes once Kafka has it. */
static void produce_task(struct dp_deliver *dl, const struct hl_task *t, int64_t due_ms,
                         const char *suffix, struct dp_msg *msg)
{
    struct hl_buf b = HL_BUF_INIT;
    struct hl_task copy = *t;
    copy.due_ms = due_ms;
    hl_task_encode(&copy, &b);
    dp_produce(dl->prod, suffix, t->webhook_id, b.ptr, b.len, msg);
    hl_buf_release(&b);
}

/* Hands task t to the retry tiers, due in wait_ms: to the longest tier not longer than
 * wait_ms + slack_ms. With a slack, a wait just short of a tier takes that tier and comes
 * back up to slack_ms late instead of hopping through the shorter ones (defer_open). */
static void schedule_within(struct dp_deliver *dl, const struct hl_task *t, int64_t wait_ms,
                            int64_t slack_ms, struct dp_msg *msg)
{
    char suffix[32];
    snprintf(suffix, sizeof(suffix), "retry.%zu",
             dp_retry_tier(dl->cfg->tiers, dl->cfg->ntiers, wait_ms + slack_ms));
    produce_task(dl, t, hl_now_ms() + wait_ms, suffix, msg);
}

static void schedule(struct dp_deliver *dl, const struct hl_task *t, int64_t wait_ms,
                     struct dp_msg *msg)
{
    schedule_within(dl, t, wait_ms, 0, msg);
}

/* The slack of a delivery waiting for an open breaker: less than the shortest tier. Its wait
 * ends at the probe, itself a guess at when the endpoint is back, and any delivery due
 * then can be the probe; so a wait of 58 s goes to a 60 s tier once, not through a 5 s
 * tier eleven times, each hop a produce, a fetch and a decode. Late by under one shortest
 * tier, no later than a hop through it would have been. */
static int64_t open_slack_ms(const struct dp_deliver *dl)
{
    return dl->cfg->tiers[0] - 1;
}

/* A retry due sooner than the shortest tier would wait for the tier: with tiers of 5 s, a
 * 1 s policy would wait 5 s. Such a retry (and what is left of a longer one's wait once
 * its tiers are done) waits here instead, in memory, with the delivery kept alive: its
 * source message keeps its pending unit, so the message's offset is not stored until the
 * retry has been attempted (or, at shutdown, handed to a tier and acknowledged). A crash
 * loses the held retry but not the work: the message is consumed again and the delivery
 * retried from there (at-least-once). At most held_cap retries wait here (they count as
 * in flight); beyond that they take the tier and are late. */
static bool can_hold(const struct dp_deliver *dl, int64_t wait_ms)
{
    return dl->holding && wait_ms < dl->cfg->tiers[0] && dl->nheld < dl->held_cap;
}

static void hold(struct dp_deliver *dl, struct dp_delivery *d, int64_t wait_ms)
{
    struct dp_delivery **pp = &dl->held;
    d->due_mono_ms = hl_mono_ms() + wait_ms;
    while (*pp && (*pp)->due_mono_ms <= d->due_mono_ms)
        pp = &(*pp)->hnext;
    d->hnext = *pp;
    *pp = d;
    dl->nheld++;
}

/* What follows an attempt of task t: its retry in wait_ms (held here when short, see
 * can_hold, or handed to a tier) or its dead letter. True when delivery d (NULL: none to
 * keep) was held for its retry and is not finished. */
static bool follow_up(struct dp_deliver *dl, const struct dp_retry_decision *dec,
                      int64_t wait_ms, struct hl_task *t, struct dp_msg *msg,
                      struct dp_delivery *d)
{
    switch (dec->next) {
    case DP_NEXT_DONE:
        break;
    case DP_NEXT_RETRY:
        if (d && can_hold(dl, wait_ms)) {
            hold(dl, d, wait_ms);
            return true;
        }
        schedule(dl, t, wait_ms, msg);
        break;
    case DP_NEXT_DEAD_LETTER:
        dp_dead_letter_delivery(dl->prod, t, dec->dead_letter_reason, msg);
        break;
    }
    return false;
}

/* Carries out what dp_retry_decide decided for task t (after an attempt of webhook w that
 * ended at wall-clock now_ms): a disable, then the retry or the dead letter. rec is the
 * attempt's record, still to be emitted: a retry's time and a disable go into it. True
 * when delivery d (NULL: none to keep) is kept, not finished: held for its retry, or
 * waiting for the rebalance.
 *
 * An attempt that ended after its partition was revoked (d's message is not ours) has a
 * retry or dead letter only if the partition comes back: another owner reads the message
 * again from the committed offset and goes on from it, and a retry of ours would be a
 * second chain of attempts beside that one, each ending in its own dead letter. So d
 * waits in the undecided list for the rebalance (settle_undecided); its record, the
 * attempt that was made, goes out now either way. */
static bool carry_out(struct dp_deliver *dl, const struct dp_retry_decision *dec,
                      struct dp_breaker *h, const struct dp_webhook *w, struct hl_task *t,
                      struct dp_attempt_record *rec, int64_t now_ms, struct dp_msg *msg,
                      struct dp_delivery *d)
{
    if (dec->disable_reason)
        dp_autodisable(dl->prod, h, w, t->tenant, dec->disable_reason, rec, msg);
    if (dec->next == DP_NEXT_RETRY)
        rec->next_attempt_ms = now_ms + dec->wait_ms;
    if (d && dec->next != DP_NEXT_DONE && dp_msg_ownership(msg) != DP_MSG_OURS) {
        d->follow = *dec;
        d->follow_due_ms = now_ms + dec->wait_ms;
        d->unext = dl->undecided;
        dl->undecided = d;
        return true;
    }
    return follow_up(dl, dec, dec->wait_ms, t, msg, d);
}

/* --- attempts ------------------------------------------------------------------------ */

static void wake_waiters(struct dp_deliver *dl, struct dp_breaker *h);
static void defer_open(struct dp_deliver *dl, struct dp_delivery *d, int64_t wait_ms);

static void attempt_done(struct dp_deliver *dl, struct dp_delivery *d)
{
    char why[CURL_ERROR_SIZE + 64];
    const struct dp_config *cfg = dl->cfg;
    const struct dp_exchange *x = &d->x;
    CURLcode rc = x->rc;
    long status = x->resp.status;
    int64_t finished = hl_now_ms();
    const struct dp_webhook *w = d->w;
    struct hl_task *t = &d->task;

    bool capped = rc == CURLE_WRITE_ERROR && d->resp_bytes > RESPONSE_CAP;
    /* Refused on every address it had: had one been let through, its own error counts. */
    bool ssrf = rc != CURLE_OK && x->ssrf_refused && !x->ssrf_passed;
    const char *cls = dp_classify(rc, status, capped, ssrf);
    if (ssrf)
        snprintf(why, sizeof(why), "blocked by SSRF protection: %s", x->ssrf_why);
    else if (rc != CURLE_OK && !capped)
        snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    else if (cls || hl_log_threshold <= HL_LOG_DEBUG)
        snprintf(why, sizeof(why), "HTTP %ld", status);
    else
        why[0] = '\0'; /* a success: the text is only for the debug line below */
    int64_t retry_after_ms =
        x->resp.retry_after[0] ? dp_retry_after_parse(x->resp.retry_after, finished / 1000) : -1;
    hl_log(HL_LOG_DEBUG, "deliver", "attempt %d of delivery '%s' to webhook '%s': %s in %lld ms",
           t->attempt, t->delivery_id, t->webhook_id, why,
           (long long)(finished - d->started_wall_ms));
    attempt_cleanup(d, false);
    dp_metrics_attempt(finished - d->started_wall_ms, cls);

    dp_attempt_record_sanitize_excerpt(&d->excerpt);
    dp_breaker_timed(d->h, d->started_wall_ms, finished);
    bool recovered = dp_breaker_done(cfg, d->h, cls == NULL, hl_mono_ms(), finished);
    wake_waiters(dl, d->h);
    struct dp_attempt_result res = {.error_class = cls,
                                    .http_status = status,
                                    .attempts_used = t->attempt - t->budget_base,
                                    .retry_after_ms = retry_after_ms};
    struct dp_endpoint_health health = {.failing_since_ms = d->h->failing_since_ms,
                                        .disabled = d->h->disabled_sent};
    struct dp_retry_decision dec =
        dp_retry_decide(cfg, &w->retry, &res, &health, finished, rnd01());
    struct dp_attempt_record rec = {
        .status = dec.status,
        .attempt_no = t->attempt,
        .started_ms = d->started_wall_ms,
        .finished_ms = finished,
        .http_status = status,
        .excerpt = d->excerpt.ptr,
        .excerpt_len = d->excerpt.len,
        .error_class = cls,
        .error = cls ? why : NULL,
    };
    if (!cls)
        dp_metrics_delivered(d->ev.timestamp, finished);
    if (cls) {
        free(t->last_error);
        t->last_error = hl_xstrdup(why);
    } else if (recovered) {
        dp_emit_webhook_event(dl->prod, "webhook.recovered", t->tenant, t->webhook_id,
                              "delivered again", d->msg);
    }
    bool kept = carry_out(dl, &dec, d->h, w, t, &rec, finished, d->msg, d);
    dp_attempt_record_emit(dl->prod, t, d->ev.id, d->ev.type, &rec, d->msg);
    if (!kept)
        delivery_finish(d);
}

/* A delivery whose partition went to another dispatcher is dropped before its attempt, or
 * after an attempt made before the partition moved, without what would have followed it:
 * the new owner reads the message again and delivers it (dp_msg_ownership). Nothing more
 * is recorded; the new owner's attempt is the record. */
static void hand_over(struct dp_delivery *d)
{
    dp_metrics_handed_over();
    delivery_finish(d);
}

/* Starts waiting deliveries of h while it admits them. A delivery whose partition was
 * revoked waits, and the ones behind it, until the rebalance decides (a few ms to the
 * rebalance's duration). */
static void start_waiting(struct dp_deliver *dl, struct dp_breaker *h)
{
    while (h->nwait) {
        struct dp_delivery *d = h->wait_head;
        int64_t wait = 0;
        dp_msg_owner own = dp_msg_ownership(d->msg);
        if (own == DP_MSG_UNDECIDED)
            return;
        dp_admit a = DP_ADMIT_GO; /* a GONE one only leaves the queue */
        if (own == DP_MSG_OURS)
            a = dp_breaker_admit(dl->cfg, h, limit_of(dl, d->w), d->w->rate_limit_per_s,
                                 hl_mono_ms(), &wait);
        if (a == DP_ADMIT_WAIT)
            return;
        h->wait_head = d->wnext;
        if (!h->wait_head)
            h->wait_tail = NULL;
        h->nwait--;
        d->wnext = NULL;
        if (own == DP_MSG_GONE) {
            hand_over(d);
        } else if (a == DP_ADMIT_GO) {
            attempt_start(d);
        } else {
            defer_open(dl, d, wait);
            delivery_finish(d);
        }
    }
}

static void wake_waiters(struct dp_deliver *dl, struct dp_breaker *h)
{
    dp_breaker_mark_ready(dl->health, h);
}

/* Calls visit(dl, h, ud) for each webhook marked ready with deliveries waiting, then marks
 * the ones that still have some ready again; true when any does. */
static bool each_ready(struct dp_deliver *dl,
                       void (*visit)(struct dp_deliver *, struct dp_breaker *, void *), void *ud)
{
    struct dp_breaker *still = NULL, *h;
    while ((h = dp_breaker_take_ready(dl->health)) != NULL) {
        visit(dl, h, ud);
        if (h->nwait) {
            h->ready_next = still;
            still = h;
        }
    }
    bool waiting = still != NULL;
    while ((h = still) != NULL) {
        still = h->ready_next;
        dp_breaker_mark_ready(dl->health, h);
    }
    return waiting;
}

static void skip(struct dp_deliver *dl, struct dp_msg *msg, const struct hl_task *t,
                 const char *event_id, const char *event_type, const char *cls)
{
    int64_t now = hl_now_ms();
    /* The attempts made so far (0 for a new delivery): a record never moves a delivery
     * back to fewer attempts, so with 0 a retry skipped after its webhook was disabled
     * would stay "retrying" in the log for ever. */
    struct dp_attempt_record o = {.status = "skipped",
                                  .attempt_no = t->attempt,
                                  .started_ms = now,
                                  .finished_ms = now,
                                  .error_class = cls,
                                  .error = cls};
    dp_attempt_record_emit(dl->prod, t, event_id, event_type, &o, msg);
}

/* The breaker is open: the delivery waits for the probe in a retry tier, unattempted. The
 * log shows it as retrying with error class circuit_open and when it is tried again (the
 * record repeats the last attempt number, so it adds no row to delivery_attempts); with
 * the tiers' slack (open_slack_ms) it may come back a little after that. */
static void defer_open(struct dp_deliver *dl, struct dp_delivery *d, int64_t wait_ms)
{
    int64_t now = hl_now_ms();
    struct dp_attempt_record o = {.status = "retrying",
                                  .attempt_no = d->task.attempt,
                                  .started_ms = now,
                                  .finished_ms = now,
                                  .error_class = "circuit_open",
                                  .error = "circuit breaker open: not attempted",
                                  .next_attempt_ms = now + wait_ms};
    dp_attempt_record_emit(dl->prod, &d->task, d->ev.id, d->ev.type, &o, d->msg);
    schedule_within(dl, &d->task, wait_ms, open_slack_ms(dl), d->msg);
}

/* May a task that came back before its due time go on now? Only one never attempted: its
 * due time merely paced a backlog (dp_breaker_defer_due) at the pace measured when it was
 * deferred, often while the loop was busy with fan-out. When its webhook would now park it
 * within park_max_ms, a further hop would only keep the dispatcher idle. A retry's due time
 * is its backoff and always holds, and so does an open breaker's. w: the task's webhook,
 * NULL when deleted. */
static bool paced_early(struct dp_deliver *dl, const struct dp_webhook *w,
                        const struct hl_task *t)
{
    if (t->attempt != 0 || !w)
        return false;
    struct dp_breaker *h = dp_breaker_get(dl->health, t->webhook_id);
    int limit = limit_of(dl, w);
    return !h->open &&
           dp_breaker_drain_ms(h, limit, w->rate_limit_per_s, hl_mono_ms()) < dl->park_max_ms;
}

/* The webhook's secrets do not open with this dispatcher's ring, so nothing can be signed:
 * the attempt fails unsent with error class secret_unavailable and retries on the
 * webhook's schedule (a dispatcher given the missing key delivers it), until attempts run
 * out. The endpoint is not at fault, so its health is left alone. */
static void fail_unsigned(struct dp_deliver *dl, struct dp_msg *msg, struct hl_task *t,
                          const struct dp_webhook *w, struct dp_breaker *h, const char *event_id,
                          const char *event_type)
{
    int64_t now = hl_now_ms();
    t->attempt++;
    struct dp_attempt_result res = {.error_class = "secret_unavailable",
                                    .attempts_used = t->attempt - t->budget_base,
                                    .retry_after_ms = -1};
    struct dp_endpoint_health health = {.failing_since_ms = h->failing_since_ms,
                                        .disabled = h->disabled_sent};
    struct dp_retry_decision dec =
        dp_retry_decide(dl->cfg, &w->retry, &res, &health, now, rnd01());
    struct dp_attempt_record rec = {.status = dec.status, .attempt_no = t->attempt,
                                    .started_ms = now, .finished_ms = now,
                                    .error_class = "secret_unavailable", .error = w->secret_error};
    free(t->last_error);
    t->last_error = hl_xstrdup(w->secret_error);
    carry_out(dl, &dec, h, w, t, &rec, now, msg, NULL);
    dp_attempt_record_emit(dl->prod, t, event_id, event_type, &rec, msg);
}

/* Skips (paused, disabled, deleted) or fails unsigned (secret unavailable) a task whose
 * webhook w cannot be attempted now; false when it can. */
static bool cannot_attempt(struct dp_deliver *dl, struct dp_msg *msg, struct hl_task *t,
                           const struct hl_event *ev, const struct dp_webhook *w,
                           struct dp_breaker *h)
{
    /* Disabled here (dp_autodisable): skipped until the snapshot shows a newer version of
     * the webhook; then PostgreSQL's status rules again. */
    if (!w || w->status != DP_WH_ACTIVE || dp_autodisable_blocks(h, w)) {
        const char *cls = !w                             ? "deleted"
                          : w->status == DP_WH_PAUSED    ? "paused"
                                                         : "disabled";
        skip(dl, msg, t, ev->id, ev->type, cls);
        return true;
    }
    if (w->secret_error) {
        fail_unsigned(dl, msg, t, w, h, ev->id, ev->type);
        return true;
    }
    return false;
}

/* Is every live delivery here h's own, with h answering (dp_breaker_answering)? Then
 * deferring h's overflow would make room only for more of the same: the intake reads on,
 * defers again, and a fast webhook's backlog moves from its partitions into the retry
 * tiers, due at a pace guessed while the loop was busy. Parking it instead holds the
 * intake back at max_in_flight, and the backlog waits in Kafka until there is room. Once
 * another webhook has a delivery here, the pace rules apply again, so a slow webhook
 * cannot keep others out for longer than the slots it frees. A silent (hanging) webhook
 * is not answering, and its overflow is deferred. */
static bool alone_and_answering(const struct dp_deliver *dl, const struct dp_breaker *h)
{
    return dl->in_flight <= (size_t)h->in_flight + h->nwait + 1 &&
           dp_breaker_answering(h, hl_mono_ms());
}

/* Starts d's attempt when its webhook admits it, parks it here when the webhook is busy
 * and will soon be free (or when nothing else is here, see alone_and_answering), and hands
 * it to a retry tier otherwise. A delivery whose partition was revoked is parked until the
 * rebalance decides, and dropped once the partition is another dispatcher's. */
static void admit(struct dp_deliver *dl, struct dp_delivery *d)
{
    const struct dp_webhook *w = d->w;
    struct dp_breaker *h = d->h;
    int64_t wait = 0;
    int limit = limit_of(dl, w);
    dp_msg_owner own = dp_msg_ownership(d->msg);
    if (own == DP_MSG_GONE) {
        hand_over(d);
        return;
    }
    dp_admit a = h->nwait || own == DP_MSG_UNDECIDED
                     ? DP_ADMIT_WAIT
                     : dp_breaker_admit(dl->cfg, h, limit, w->rate_limit_per_s, hl_mono_ms(),
                                        &wait);
    if (a == DP_ADMIT_GO) {
        attempt_start(d);
    } else if (a == DP_ADMIT_WAIT &&
               (own == DP_MSG_UNDECIDED || h->nwait < dl->wait_cap ||
                dp_breaker_drain_ms(h, limit, w->rate_limit_per_s, hl_mono_ms()) <
                    dl->park_max_ms ||
                alone_and_answering(dl, h))) {
        if (h->wait_tail)
            ((struct dp_delivery *)h->wait_tail)->wnext = d;
        else
            h->wait_head = d;
        h->wait_tail = d;
        h->nwait++;
        dp_breaker_mark_ready(dl->health, h);
    } else {
        /* breaker open, or too much parked here: wait in Kafka, not in memory */
        if (a == DP_ADMIT_OPEN) {
            defer_open(dl, d, wait);
        } else {
            int64_t now_wall = hl_now_ms();
            schedule(dl, &d->task,
                     dp_breaker_defer_due(h, limit, w->rate_limit_per_s, now_wall) - now_wall,
                     d->msg);
        }
        delivery_finish(d);
    }
}

static void begin(struct dp_deliver *dl, struct dp_msg *msg, struct dp_snapshot *snap,
                  struct hl_task *taskp, struct hl_event *evp, const struct dp_webhook *w,
                  int64_t hold_ms);

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
    const struct dp_webhook *w = dp_snapshot_find(snap, task.tenant, task.webhook_id);
    int64_t early = task.due_ms - hl_now_ms();
    bool hold_it = false;
    if (early > 0 && !paced_early(dl, w, &task)) {
        /* Not yet. A delivery already attempted waits out a remainder shorter than the
         * shortest tier here; anything else takes another hop through the tiers. */
        if (task.attempt > 0 && can_hold(dl, early)) {
            hold_it = true;
        } else {
            /* (no breaker entry for a deleted webhook: it would never be freed) */
            bool open = w && dp_breaker_get(dl->health, task.webhook_id)->open;
            schedule_within(dl, &task, early, open ? open_slack_ms(dl) : 0, msg);
            hl_task_release(&task);
            return;
        }
    }
    if (hl_event_read(task.event_text, task.event_len, &ev, err, sizeof(err)) != HL_OK) {
        dp_dead_letter(dl->prod, msg, err);
        hl_task_release(&task);
        return;
    }
    begin(dl, msg, snap, &task, &ev, w, hold_it ? early : -1);
}

void dp_deliver_event(struct dp_deliver *dl, struct dp_msg *msg, struct dp_snapshot *snap,
                      const struct dp_webhook *w, const char *delivery_id, int64_t now_ms)
{
    char err[512];
    struct hl_event ev;
    /* the task a fan-out would have produced, in memory: retries and records carry it */
    struct hl_task task = {.tenant = hl_xstrdup(w->tenant),
                           .webhook_id = hl_xstrdup(w->id),
                           .due_ms = now_ms,
                           .created_ms = now_ms,
                           .event_text = hl_xstrndup(msg->payload, msg->len),
                           .event_len = msg->len};
    memcpy(task.delivery_id, delivery_id, sizeof(task.delivery_id));
    /* fan-out parsed and checked this text already; this read only finds the fields */
    if (hl_event_read(task.event_text, task.event_len, &ev, err, sizeof(err)) != HL_OK) {
        dp_dead_letter(dl->prod, msg, err);
        hl_task_release(&task);
        return;
    }
    begin(dl, msg, snap, &task, &ev, w, -1);
}

/* Takes on task (and ev, read off its text) for webhook w (NULL: deleted): skipped,
 * failed unsigned, or a delivery that is held for hold_ms (>= 0) or admitted now. */
static void begin(struct dp_deliver *dl, struct dp_msg *msg, struct dp_snapshot *snap,
                  struct hl_task *taskp, struct hl_event *evp, const struct dp_webhook *w,
                  int64_t hold_ms)
{
    struct hl_task task = *taskp;
    struct hl_event ev = *evp;
    /* none for a deleted webhook: cannot_attempt skips its task, and an entry would stay */
    struct dp_breaker *h = w ? dp_breaker_get(dl->health, task.webhook_id) : NULL;
    if (cannot_attempt(dl, msg, &task, &ev, w, h)) {
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
    if (w->format)
        dp_format_render(w, &d->ev, d->task.delivery_id, &d->body, &d->fmt_lines);
    else
        hl_envelope_body(&d->ev, w->id, &d->body);
    d->next = dl->live;
    if (dl->live)
        dl->live->prev = d;
    dl->live = d;
    dl->in_flight++;
    if (hold_ms >= 0)
        hold(dl, d, hold_ms);
    else
        admit(dl, d);
}

/* Held retries that are due go on: against the current snapshot (the webhook may have been
 * paused, edited or deleted meanwhile), through admission like any delivery. */
static void wake_held(struct dp_deliver *dl)
{
    struct dp_snapshot *snap = NULL;
    int64_t now = hl_mono_ms();
    while (dl->held && dl->held->due_mono_ms <= now) {
        struct dp_delivery *d = dl->held;
        dl->held = d->hnext;
        d->hnext = NULL;
        dl->nheld--;
        /* moved while it waited: its new owner retries it (a skip or an unsigned failure
         * recorded here would be carried out beside that) */
        if (dp_msg_ownership(d->msg) == DP_MSG_GONE) {
            hand_over(d);
            continue;
        }
        if (!snap)
            snap = dp_subs_acquire(dl->subs);
        if (snap && snap != d->snap) {
            d->w = dp_snapshot_find(snap, d->task.tenant, d->task.webhook_id);
            dp_snapshot_release(d->snap);
            d->snap = snap;
            atomic_fetch_add(&snap->refs, 1);
        }
        if (cannot_attempt(dl, d->msg, &d->task, &d->ev, d->w, d->h))
            delivery_finish(d);
        else
            admit(dl, d);
    }
    dp_snapshot_release(snap);
}

/* Carries out, or leaves to the partition's new owner, what follows the attempts that
 * ended while their partitions were revoked (carry_out), once the rebalance decided. */
static void settle_undecided(struct dp_deliver *dl)
{
    struct dp_delivery **pp = &dl->undecided;
    while (*pp) {
        struct dp_delivery *d = *pp;
        dp_msg_owner own = dp_msg_ownership(d->msg);
        if (own == DP_MSG_UNDECIDED) {
            pp = &d->unext;
            continue;
        }
        *pp = d->unext;
        d->unext = NULL;
        if (own == DP_MSG_GONE) {
            hand_over(d);
            continue;
        }
        int64_t wait = d->follow_due_ms - hl_now_ms();
        if (!follow_up(dl, &d->follow, wait > 0 ? wait : 0, &d->task, d->msg, d))
            delivery_finish(d);
    }
}

void dp_deliver_stop_holding(struct dp_deliver *dl)
{
    int64_t now = hl_mono_ms();
    dl->holding = false;
    while (dl->held) {
        struct dp_delivery *d = dl->held;
        dl->held = d->hnext;
        d->hnext = NULL;
        dl->nheld--;
        schedule(dl, &d->task, d->due_mono_ms > now ? d->due_mono_ms - now : 0, d->msg);
        delivery_finish(d);
    }
}

/* Hands delivery d, not on the wire, to <prefix>.deliveries as a task due at due_ms (wall
 * clock): the owner of its webhook's key delivers it, or holds it until due. d's message
 * finishes once Kafka has the task. */
static void hand_off(struct dp_deliver *dl, struct dp_delivery *d, int64_t due_ms)
{
    produce_task(dl, &d->task, due_ms, "deliveries", d->msg);
    dp_metrics_handed_off();
    delivery_finish(d);
}

/* Does a delivery of msg (owned as own says) stay here through the rebalance? One in limbo
 * since an earlier rebalance waits for its decision; one after the last message of its
 * partition acted on is left to the partition's next owner (dp_deliver.h). */
static bool stays(const struct dp_msg *msg, dp_msg_owner own)
{
    return own == DP_MSG_UNDECIDED || (own == DP_MSG_OURS && !dp_msg_before_acted(msg));
}

/* each_ready's visit: hands off the deliveries waiting for h that do not stay, counting
 * them in *(size_t *)handed. */
static void hand_off_queue(struct dp_deliver *dl, struct dp_breaker *h, void *handed)
{
    struct dp_delivery *d = h->wait_head, *keep = NULL, *keep_tail = NULL;
    size_t kept = 0;
    while (d) {
        struct dp_delivery *next = d->wnext;
        d->wnext = NULL;
        dp_msg_owner own = dp_msg_ownership(d->msg);
        if (stays(d->msg, own)) {
            if (keep_tail)
                keep_tail->wnext = d;
            else
                keep = d;
            keep_tail = d;
            kept++;
        } else if (own == DP_MSG_GONE) {
            hand_over(d);
        } else {
            hand_off(dl, d, hl_now_ms());
            ++*(size_t *)handed;
        }
        d = next;
    }
    h->wait_head = keep;
    h->wait_tail = keep_tail;
    h->nwait = kept;
}

size_t dp_deliver_hand_off_waiting(struct dp_deliver *dl)
{
    size_t n = 0;
    each_ready(dl, hand_off_queue, &n);
    int64_t now_mono = hl_mono_ms(), now_wall = hl_now_ms();
    struct dp_delivery **pp = &dl->held;
    while (*pp) {
        struct dp_delivery *d = *pp;
        dp_msg_owner own = dp_msg_ownership(d->msg);
        if (stays(d->msg, own)) {
            pp = &d->hnext;
            continue;
        }
        *pp = d->hnext;
        d->hnext = NULL;
        dl->nheld--;
        if (own == DP_MSG_GONE) {
            hand_over(d);
        } else {
            int64_t left = d->due_mono_ms > now_mono ? d->due_mono_ms - now_mono : 0;
            hand_off(dl, d, now_wall + left);
            n++;
        }
    }
    return n;
}

/* Does what the network has for the attempts, then handles the ones that ended. */
static void perform(struct dp_deliver *dl)
{
    struct dp_exchange *x;
    dp_conns_step(dl->conns);
    while ((x = dp_conns_next_done(dl->conns)) != NULL)
        attempt_done(dl, (struct dp_delivery *)((char *)x - offsetof(struct dp_delivery, x)));
}

static void admit_queue(struct dp_deliver *dl, struct dp_breaker *h, void *unused)
{
    (void)unused;
    start_waiting(dl, h);
}

/* Retries admission for every webhook with waiters; true when some still wait for a
 * token (the loop then polls again soon). */
static bool admit_waiting(struct dp_deliver *dl)
{
    return each_ready(dl, admit_queue, NULL);
}

/* Waits at most wait_ms (less when curl's timer is due sooner) for the network or for
 * wake_fd to be readable (ignored when negative), and handles the attempts that ended
 * meanwhile. */
static void wait_perform(struct dp_deliver *dl, int wake_fd, int wait_ms)
{
    struct pollfd pfd[2] = {{.fd = dp_conns_fd(dl->conns), .events = POLLIN},
                            {.fd = wake_fd, .events = POLLIN}}; /* poll skips fd < 0 */
    long due = dp_conns_due_in(dl->conns);
    if (due >= 0 && due < wait_ms)
        wait_ms = (int)due;
    if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR)
        hl_log(HL_LOG_ERROR, "deliver", "poll: %s", strerror(errno));
    perform(dl);
}

void dp_deliver_run(struct dp_deliver *dl, int wake_fd, int max_wait_ms)
{
    settle_undecided(dl);
    wake_held(dl);
    bool waiting = admit_waiting(dl);
    perform(dl);
    int wait = waiting && max_wait_ms > 10 ? 10 : max_wait_ms;
    if (dl->held) {
        int64_t until = dl->held->due_mono_ms - hl_mono_ms();
        if (until < wait)
            wait = until > 0 ? (int)until : 0;
    }
    wait_perform(dl, wake_fd, wait);
}

size_t dp_deliver_in_flight(const struct dp_deliver *dl)
{
    return dl->in_flight;
}

size_t dp_deliver_attempts(const struct dp_deliver *dl)
{
    return dl->attempts;
}

void dp_deliver_finish_step(struct dp_deliver *dl, int wake_fd, int max_wait_ms)
{
    perform(dl);
    wait_perform(dl, wake_fd, max_wait_ms);
}

struct dp_deliver *dp_deliver_new(const struct dp_config *cfg, struct dp_producer *prod,
                                  struct dp_subs *subs, char *errbuf, size_t errlen)
{
    struct dp_deliver *dl = hl_xcalloc(1, sizeof(*dl));
    dl->cfg = cfg;
    dl->prod = prod;
    dl->subs = subs;
    dl->holding = true;
    dl->held_cap = cfg->max_in_flight / 4 > 1 ? (size_t)cfg->max_in_flight / 4 : 1;
    dl->conns = dp_conns_new(cfg, errbuf, errlen);
    if (!dl->conns) {
        free(dl);
        return NULL;
    }
    dl->health = dp_breaker_table_new();
    dp_deliver_set_share(dl, 1.0);
    dl->wait_cap = (size_t)(cfg->max_in_flight / 8 > 16 ? cfg->max_in_flight / 8 : 16);
    dl->spare = hl_xcalloc((size_t)cfg->max_in_flight, sizeof(*dl->spare));
    dl->park_max_ms = cfg->ntiers && (double)cfg->tiers[0] / 4 > PARK_MIN_MS
                          ? (double)cfg->tiers[0] / 4
                          : PARK_MIN_MS;
    return dl;
}

void dp_deliver_set_healthstore(struct dp_deliver *dl, struct dp_healthstore *store)
{
    dp_breaker_table_set_store(dl->health, store);
}

void dp_deliver_free(struct dp_deliver *dl)
{
    if (!dl)
        return;
    while (dl->live)
        delivery_finish(dl->live);
    dp_breaker_table_free(dl->health);
    while (dl->nspare)
        dp_headers_release(&dl->spare[--dl->nspare]);
    free(dl->spare);
    dp_conns_free(dl->conns);
    free(dl);
}
