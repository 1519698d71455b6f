/* The event loop (see dp_loop.h).
 *
 * Wake-ups: the loop sleeps in poll() on the epoll set of the delivery connections plus one pipe
 * (dp_deliver_run).
 * librdkafka writes to that pipe when the consumer queue turns non-empty
 * (rd_kafka_queue_io_event_enable) and the signal handler writes to it on SIGTERM, so a
 * new event starts its deliveries at once and an idle dispatcher costs nothing but a
 * timer tick every IDLE_WAIT_MS. Because librdkafka only writes on the empty -> non-empty
 * edge, each iteration drains the consumer queue completely (or polls again at once).
 *
 * Back-pressure: at max_in_flight deliveries the loop stops taking messages but keeps
 * serving the consumer queue, so rebalances go on and the group keeps us (see
 * dp_consumer.h); the next finished delivery makes room for the next message.
 *
 * The read-your-writes fence: a message whose fence (dp_consumer.h) is newer than the
 * snapshot, or an event whose tenant the snapshot does not know, is held here, in the
 * order it came, while the loader checks PostgreSQL (dp_subs_request). A held message
 * keeps its place in its partition's FIFO, so its offset is not stored before it is
 * handled; the messages behind it go on. It is handled once the snapshot is new enough,
 * or once a check that began after it was held has finished (whatever the snapshot then
 * says is the truth: a fence from the future, or a tenant that really does not exist), or,
 * for a known tenant, after fence_wait_ms without PostgreSQL. */
#include "dp_loop.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "dp_consumer.h"
#include "dp_deliver.h"
#include "dp_fanout.h"
#include "dp_produce.h"
#include "dp_subs.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

#define IDLE_WAIT_MS 100
/* Messages taken per iteration before the connections are served again. While a backlog of events is
 * fanned out (parse, validate, a produce per webhook), 500 per iteration kept every
 * attempt in flight waiting that long, and those waits entered the pace estimates that
 * decide what is parked and what deferred (dp_deliver.c). */
#define INTAKE_BATCH 100
/* The drain before a rebalance looks at the producer's acknowledgements this often. */
#define DRAIN_STEP_MS 5

/* A message held by the fence. */
struct held {
    struct dp_msg *msg;
    uint64_t ticket;     /* dp_subs_request()'s */
    int64_t since_ms;    /* monotonic */
    bool unknown_tenant; /* fan-out found no such tenant: only a fresh check decides */
    bool warned;
};

struct hold_list {
    struct held *v;
    size_t n, cap;
};

static void drain_pipe(int fd)
{
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void hold(struct hold_list *h, struct dp_subs *subs, struct dp_msg *msg,
                 bool unknown_tenant)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->v = hl_xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    h->v[h->n++] = (struct held){.msg = msg,
                                 .ticket = dp_subs_request(subs),
                                 .since_ms = hl_mono_ms(),
                                 .unknown_tenant = unknown_tenant};
    hl_log(HL_LOG_DEBUG, "loop", "[%d] offset %lld held for a newer snapshot (fence %lld%s)",
           (int)msg->partition, (long long)msg->offset, (long long)msg->fence,
           unknown_tenant ? ", unknown tenant" : "");
}

/* Handles msg with snap; false when fan-out wants a fresher snapshot (nothing done). */
static bool handle(const struct dp_config *cfg, struct dp_msg *msg, struct dp_snapshot *snap,
                   bool fresh, struct dp_deliver *dl, struct dp_producer *prod)
{
    if (msg->kind == DP_TOPIC_EVENTS) {
        if (dp_fanout(msg, snap, prod, dl, (size_t)cfg->inline_fanout_max, fresh) ==
            DP_FANOUT_STALE)
            return false;
    } else {
        dp_deliver_task(dl, msg, snap);
    }
    dp_msg_done(msg);
    return true;
}

/* Handles the held messages that may go now, in the order they were held. */
static void release_held(const struct dp_config *cfg, struct hold_list *h, struct dp_subs *subs,
                         struct dp_deliver *dl, struct dp_producer *prod)
{
    if (!h->n)
        return;
    struct dp_snapshot *snap = dp_subs_acquire(subs);
    int64_t now = hl_mono_ms();
    size_t kept = 0;
    for (size_t i = 0; i < h->n; i++) {
        struct held *x = &h->v[i];
        dp_msg_owner own = dp_msg_ownership(x->msg);
        if (own == DP_MSG_GONE) { /* its partition's new owner handles it */
            dp_msg_done(x->msg);
            continue;
        }
        if (own == DP_MSG_UNDECIDED) {
            h->v[kept++] = *x;
            continue;
        }
        bool fresh = dp_subs_served(subs, x->ticket);
        bool ready = fresh || (!x->unknown_tenant && snap->version >= x->msg->fence);
        if (!ready && !x->unknown_tenant && now - x->since_ms >= cfg->fence_wait_ms) {
            hl_log(HL_LOG_WARN, "loop",
                   "[%d] offset %lld: no snapshot of version %lld after %lld ms (PostgreSQL "
                   "unreachable?); matching it against version %lld",
                   (int)x->msg->partition, (long long)x->msg->offset,
                   (long long)x->msg->fence, (long long)(now - x->since_ms),
                   (long long)snap->version);
            ready = true;
        }
        if (ready && handle(cfg, x->msg, snap, fresh, dl, prod))
            continue;
        if (ready) { /* the fence is met, but the tenant is unknown: ask PostgreSQL */
            x->unknown_tenant = true;
            x->ticket = dp_subs_request(subs);
        } else if (!x->warned && x->unknown_tenant && now - x->since_ms >= cfg->fence_wait_ms) {
            x->warned = true;
            hl_log(HL_LOG_WARN, "loop",
                   "[%d] offset %lld names a tenant this dispatcher does not know; waiting for "
                   "PostgreSQL to say whether it exists",
                   (int)x->msg->partition, (long long)x->msg->offset);
        }
        h->v[kept++] = *x;
    }
    h->n = kept;
    dp_snapshot_release(snap);
}

/* Serves the consumer and takes events while there is room for their deliveries; false
 * when the batch limit stopped it with room and events possibly left. */
static bool intake(const struct dp_config *cfg, struct dp_subs *subs, struct dp_consumer *c,
                   struct dp_consumer *tiers, struct dp_deliver *dl, struct dp_producer *prod,
                   struct hold_list *h)
{
    struct dp_snapshot *snap = NULL;
    bool done = false;

    dp_consumer_serve(c);
    dp_consumer_serve(tiers);
    if (cfg->inline_fanout_max > 0) /* otherwise nothing spreads: every limit is whole */
        dp_deliver_set_share(dl, dp_consumer_events_share(c));
    release_held(cfg, h, subs, dl, prod);
    for (int i = 0; i < INTAKE_BATCH && !done; i++) {
        struct dp_msg *msg = NULL;
        if (dp_deliver_in_flight(dl) >= (size_t)cfg->max_in_flight ||
            h->n >= (size_t)cfg->max_in_flight ||
            dp_producer_outstanding(prod) >= cfg->max_unacked) {
            done = true;
            break;
        }
        /* in turn, so that neither a backlog of events nor one of due retries starves the
         * other */
        struct dp_consumer *first = i & 1 ? tiers : c, *second = i & 1 ? c : tiers;
        if ((msg = dp_consumer_poll(first)) == NULL && (msg = dp_consumer_poll(second)) == NULL) {
            done = true;
            break;
        }
        if (!snap)
            snap = dp_subs_acquire(subs); /* never NULL once the first load is done */
        if (msg->fence > snap->version)
            hold(h, subs, msg, false);
        else if (!handle(cfg, msg, snap, false, dl, prod))
            hold(h, subs, msg, true);
    }
    dp_snapshot_release(snap);
    return done;
}

/* Hands both consumers' finished offsets to librdkafka. */
static void store(struct dp_consumer *c, struct dp_consumer *tiers)
{
    dp_consumer_store(c);
    dp_consumer_store(tiers);
}

/* How long the loop may sleep: until the next held retry is released at most. */
static int wait_ms(const struct dp_consumer *tiers, bool drained)
{
    if (!drained)
        return 0;
    int64_t due = dp_consumer_next_release(tiers);
    if (due < 0)
        return IDLE_WAIT_MS;
    int64_t w = due - hl_mono_ms();
    return w < 0 ? 0 : w < IDLE_WAIT_MS ? (int)w : IDLE_WAIT_MS;
}

/* A rebalance is about to take this dispatcher's partitions (dp_consumer_set_drain).
 * Without a wait, each attempt on the wire would be made again by the partition's next
 * owner, which starts from the committed offset. So the attempts get up to
 * rebalance_drain_ms to end, and what they handed to Kafka (records, retries) to be
 * acknowledged: their messages are then finished, and their offsets go with the revoke's
 * commit. Deliveries waiting here, not on the wire, are handed to Kafka as tasks
 * (dp_deliver_hand_off_waiting), so that their events finish too: else the next owner
 * would repeat the deliveries already made of every event behind the first unfinished
 * one. Nothing new starts meanwhile, and the wait ends as soon as nothing is out. The
 * wake pipe is left alone: what it announces is served when the loop goes on. */
struct drain {
    const struct dp_config *cfg;
    struct dp_deliver *dl;
    struct dp_producer *prod;
};

static void drain_before_revoke(void *arg)
{
    const struct drain *x = arg;
    size_t on_wire = dp_deliver_attempts(x->dl), handed = 0, walked_at = SIZE_MAX;
    int64_t start = hl_mono_ms(), deadline = start + x->cfg->rebalance_drain_ms;
    for (;;) {
        /* Again after an attempt ended: nothing starts meanwhile, and only an attempt's
         * end can hold a retry here or produce one that moves its partition's mark. */
        size_t attempts = dp_deliver_attempts(x->dl);
        if (attempts != walked_at) {
            handed += dp_deliver_hand_off_waiting(x->dl);
            walked_at = attempts;
        }
        dp_producer_hurry(x->prod);
        dp_producer_serve(x->prod);
        if ((!dp_deliver_attempts(x->dl) && !dp_producer_outstanding(x->prod)) ||
            hl_mono_ms() >= deadline)
            break;
        dp_deliver_finish_step(x->dl, -1, DRAIN_STEP_MS);
    }
    if (on_wire || handed)
        hl_log(HL_LOG_INFO, "loop", "rebalance: %zu attempts were on the wire, %zu still are "
               "after %lld ms; %zu waiting deliveries handed to Kafka as tasks", on_wire,
               dp_deliver_attempts(x->dl), (long long)(hl_mono_ms() - start), handed);
}

void dp_loop_run(const struct dp_config *cfg, struct dp_subs *subs, struct dp_consumer *c,
                 struct dp_consumer *tiers, struct dp_deliver *dl, struct dp_producer *prod,
                 int wake_fd, volatile sig_atomic_t *stop)
{
    struct hold_list held = {0};
    struct drain drain = {.cfg = cfg, .dl = dl, .prod = prod};
    if (cfg->rebalance_drain_ms > 0) {
        dp_consumer_set_drain(c, drain_before_revoke, &drain);
        dp_consumer_set_drain(tiers, drain_before_revoke, &drain);
    }
    while (!*stop) {
        dp_producer_serve(prod);
        bool drained = intake(cfg, subs, c, tiers, dl, prod, &held);
        store(c, tiers);
        dp_deliver_run(dl, wake_fd, wait_ms(tiers, drained));
        drain_pipe(wake_fd);
        dp_producer_serve(prod);
        store(c, tiers);
    }

    /* Shutdown: no new events; in-flight deliveries get shutdown_timeout_ms, held retries
     * go to their tiers at once. */
    dp_deliver_stop_holding(dl);
    size_t left = dp_deliver_in_flight(dl);
    hl_log(HL_LOG_INFO, "loop", "stopping: %zu deliveries in flight, waiting up to %lld ms", left,
           (long long)cfg->shutdown_timeout_ms);
    int64_t deadline = hl_mono_ms() + cfg->shutdown_timeout_ms;
    for (;;) {
        int64_t now = hl_mono_ms();
        dp_producer_hurry(prod);
        dp_producer_serve(prod);
        if ((dp_deliver_in_flight(dl) == 0 && dp_producer_outstanding(prod) == 0) ||
            now >= deadline)
            break;
        int64_t wait = deadline - now < IDLE_WAIT_MS ? deadline - now : IDLE_WAIT_MS;
        dp_deliver_run(dl, wake_fd, (int)wait);
        drain_pipe(wake_fd);
        dp_producer_serve(prod);
        dp_consumer_serve(c);
        dp_consumer_serve(tiers);
        store(c, tiers);
    }
    left = dp_deliver_in_flight(dl);
    if (left)
        hl_log(HL_LOG_WARN, "loop",
               "%zu deliveries unfinished at shutdown; their events will be delivered again",
               left);
    /* Held messages were never handled: freeze first, so releasing them stores nothing
     * and the group's next owner handles them. */
    dp_consumer_freeze(c);
    dp_consumer_freeze(tiers);
    for (size_t i = 0; i < held.n; i++)
        dp_msg_done(held.v[i].msg);
    free(held.v);
    dp_consumer_set_drain(c, NULL, NULL); /* drain is about to go out of scope */
    dp_consumer_set_drain(tiers, NULL, NULL);
}
