/* The event loop (see dp_loop.h).
 *
 * Wake-ups: the loop sleeps in curl_multi_poll() on the curl sockets plus one pipe.
 * librdkafka writes to that pipe when the consumer queue turns non-empty
 * (rd_kafka_queue_io_event_enable) and the signal handler writes to it on SIGTERM, so a
 * new event starts its deliveries at once and an idle dispatcher costs nothing but a
 * timer tick every IDLE_WAIT_MS. Because librdkafka only writes on the empty -> non-empty
 * edge, each iteration drains the consumer queue completely (or polls again at once).
 *
 * Back-pressure: at max_in_flight deliveries the loop stops taking messages but keeps
 * serving the consumer queue, so rebalances go on and the group keeps us (see
 * dp_consumer.h); the next finished delivery makes room for the next message. */
#include "dp_loop.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "dp_consumer.h"
#include "dp_deliver.h"
#include "dp_fanout.h"
#include "dp_produce.h"
#include "dp_subs.h"
#include "hl/log.h"
#include "hl/time.h"
#include "hl/banned.h"

#define IDLE_WAIT_MS 100
/* Messages taken per iteration before curl is served again. While a backlog of events is
 * fanned out (parse, validate, a produce per webhook), 500 per iteration kept every
 * attempt in flight waiting that long, and those waits entered the pace estimates that
 * decide what is parked and what deferred (dp_deliver.c). */
#define INTAKE_BATCH 100

static void drain_pipe(int fd)
{
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

/* Serves the consumer and takes events while there is room for their deliveries; false
 * when the batch limit stopped it with room and events possibly left. */
static bool intake(const struct dp_config *cfg, struct dp_subs *subs, struct dp_consumer *c,
                   struct dp_deliver *dl, struct dp_producer *prod)
{
    struct dp_snapshot *snap = NULL;
    bool done = false;

    dp_consumer_serve(c);
    for (int i = 0; i < INTAKE_BATCH && !done; i++) {
        struct dp_msg *msg = NULL;
        if (dp_deliver_in_flight(dl) >= (size_t)cfg->max_in_flight ||
            dp_producer_outstanding(prod) >= cfg->max_unacked || (msg = dp_consumer_poll(c)) == NULL) {
            done = true;
            break;
        }
        if (!snap)
            snap = dp_subs_acquire(subs); /* never NULL once the first load is done */
        if (msg->kind == DP_TOPIC_EVENTS)
            dp_fanout(msg, snap, prod);
        else
            dp_deliver_task(dl, msg, snap);
        dp_msg_done(msg);
    }
    dp_snapshot_release(snap);
    return done;
}

/* How long the loop may sleep: until the next held retry is released at most. */
static int wait_ms(const struct dp_consumer *c, bool drained)
{
    if (!drained)
        return 0;
    int64_t due = dp_consumer_next_release(c);
    if (due < 0)
        return IDLE_WAIT_MS;
    int64_t w = due - hl_mono_ms();
    return w < 0 ? 0 : w < IDLE_WAIT_MS ? (int)w : IDLE_WAIT_MS;
}

void dp_loop_run(const struct dp_config *cfg, struct dp_subs *subs, struct dp_consumer *c,
                 struct dp_deliver *dl, struct dp_producer *prod, int wake_fd,
                 volatile sig_atomic_t *stop)
{
    struct curl_waitfd wake = {.fd = wake_fd, .events = CURL_WAIT_POLLIN};
    while (!*stop) {
        dp_producer_serve(prod);
        bool drained = intake(cfg, subs, c, dl, prod);
        dp_consumer_store(c);
        wake.revents = 0;
        dp_deliver_run(dl, &wake, 1, wait_ms(c, drained));
        drain_pipe(wake_fd);
        dp_producer_serve(prod);
        dp_consumer_store(c);
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
        dp_producer_serve(prod);
        if ((dp_deliver_in_flight(dl) == 0 && dp_producer_outstanding(prod) == 0) ||
            now >= deadline)
            break;
        int64_t wait = deadline - now < IDLE_WAIT_MS ? deadline - now : IDLE_WAIT_MS;
        dp_deliver_run(dl, &wake, 1, (int)wait);
        drain_pipe(wake_fd);
        dp_producer_serve(prod);
        dp_consumer_serve(c);
        dp_consumer_store(c);
    }
    left = dp_deliver_in_flight(dl);
    if (left)
        hl_log(HL_LOG_WARN, "loop",
               "%zu deliveries unfinished at shutdown; their events will be delivered again",
               left);
}
