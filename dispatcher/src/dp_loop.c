/* The event loop (see dp_loop.h).
 *
 * Wake-ups: the loop sleeps in curl_multi_poll() on the curl sockets plus one pipe.
 * librdkafka writes to that pipe when the consumer queue turns non-empty
 * (rd_kafka_queue_io_event_enable) and the signal handler writes to it on SIGTERM, so a
 * new event starts its deliveries at once and an idle dispatcher costs nothing but a
 * timer tick every IDLE_WAIT_MS. Because librdkafka only writes on the empty -> non-empty
 * edge, each iteration drains the consumer queue completely (or polls again at once).
 *
 * Back-pressure: at max_in_flight deliveries the assigned partitions are paused (the
 * consumer is still polled, so rebalances are served and the group keeps us), and resumed
 * below three quarters of it, so a busy dispatcher doesn't flap between the two. */
#include "dp_loop.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "dp_consumer.h"
#include "dp_deliver.h"
#include "dp_fanout.h"
#include "dp_subs.h"
#include "hl/log.h"
#include "hl/time.h"
#include "hl/banned.h"

#define IDLE_WAIT_MS 100
#define INTAKE_BATCH 500

static void drain_pipe(int fd)
{
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

/* Takes what the consumer has; false when it may have more (batch limit reached). */
static bool intake(const struct dp_config *cfg, struct dp_subs *subs, struct dp_consumer *c,
                   struct dp_deliver *dl, bool *paused)
{
    size_t high = (size_t)cfg->max_in_flight;
    size_t low = high - high / 4;
    struct dp_snapshot *snap = NULL;
    bool drained = false;

    if (*paused && dp_deliver_in_flight(dl) < low) {
        dp_consumer_pause(c, false);
        *paused = false;
    }
    for (int i = 0; i < INTAKE_BATCH; i++) {
        if (!*paused && dp_deliver_in_flight(dl) >= high) {
            dp_consumer_pause(c, true);
            *paused = true;
        }
        struct dp_msg *msg = dp_consumer_poll(c);
        if (!msg) {
            drained = true;
            break;
        }
        if (!snap)
            snap = dp_subs_acquire(subs); /* never NULL once the first load is done */
        dp_fanout(msg, snap, dl);
        dp_msg_done(msg);
    }
    dp_snapshot_release(snap);
    return drained;
}

void dp_loop_run(const struct dp_config *cfg, struct dp_subs *subs, struct dp_consumer *c,
                 struct dp_deliver *dl, int wake_fd, volatile sig_atomic_t *stop)
{
    struct curl_waitfd wake = {.fd = wake_fd, .events = CURL_WAIT_POLLIN};
    bool paused = false;

    while (!*stop) {
        bool drained = intake(cfg, subs, c, dl, &paused);
        dp_consumer_store(c);
        wake.revents = 0;
        dp_deliver_run(dl, &wake, 1, drained ? IDLE_WAIT_MS : 0);
        drain_pipe(wake_fd);
        dp_consumer_store(c);
    }

    /* Shutdown: no new events; in-flight deliveries get shutdown_timeout_ms. */
    size_t left = dp_deliver_in_flight(dl);
    hl_log(HL_LOG_INFO, "loop", "stopping: %zu deliveries in flight, waiting up to %lld ms", left,
           (long long)cfg->shutdown_timeout_ms);
    dp_consumer_pause(c, true);
    int64_t deadline = hl_mono_ms() + cfg->shutdown_timeout_ms;
    for (;;) {
        int64_t now = hl_mono_ms();
        if (dp_deliver_in_flight(dl) == 0 || now >= deadline)
            break;
        int64_t wait = deadline - now < IDLE_WAIT_MS ? deadline - now : IDLE_WAIT_MS;
        dp_deliver_run(dl, &wake, 1, (int)wait);
        drain_pipe(wake_fd);
        dp_consumer_store(c);
    }
    left = dp_deliver_in_flight(dl);
    if (left)
        hl_log(HL_LOG_WARN, "loop",
               "%zu deliveries unfinished at shutdown; their events will be delivered again",
               left);
}
