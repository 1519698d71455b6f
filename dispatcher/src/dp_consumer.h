/* The Kafka side of the dispatcher: a high-level consumer of <prefix>.events in group
 * group_id, with at-least-once offset tracking.
 *
 * Deliveries finish out of order (a slow endpoint must not hold up a fast one), but an
 * offset may only be stored once every message below it is finished. So each assigned
 * partition keeps a FIFO of its in-flight messages in offset order; a message is finished
 * when its last delivery is; finished messages are popped from the head only, and the
 * offset stored is the one after the last popped message. A message behind an unfinished
 * one waits in the FIFO; a crash replays it, never skips it.
 *
 * Back-pressure without pausing: each assigned partition's messages are diverted to their
 * own queue (rd_kafka_queue_get_partition, forwarding to the consumer queue switched off
 * before the partition is assigned), so the consumer queue carries only rebalances and
 * errors. The loop serves that queue on every iteration, and reads messages only while it
 * has room for more deliveries; what it doesn't read stays prefetched in librdkafka
 * (bounded by queued.max.messages.kbytes). Pausing partitions instead would drop the
 * prefetched messages and refetch them on every resume.
 *
 * @locality everything here runs on the dispatcher's loop thread: rebalances are served
 * from dp_consumer_poll() (rd_kafka_poll_set_consumer), so no lock is needed. */
#ifndef DP_CONSUMER_H
#define DP_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_config.h"
#include "hl/envelope.h"
#include "hl/err.h"

struct dp_partition;

/* One consumed event, alive from the poll that returned it until its last delivery is
 * finished (dp_msg_done). */
struct dp_msg {
    struct dp_partition *part; /* NULL once the partition was revoked: nothing to store */
    struct dp_msg *next;       /* in part's FIFO */
    int32_t partition;
    int64_t offset;
    int pending; /* unfinished deliveries, plus one for the caller while it fans out */
    struct hl_event ev;
};

struct dp_consumer;

/* Creates the consumer and subscribes to <prefix>.events. librdkafka writes a byte to
 * wake_fd whenever the consumer queue or a partition queue turns non-empty, so the loop
 * can sleep in poll(2). */
struct dp_consumer *dp_consumer_new(const struct dp_config *cfg, int wake_fd, char *errbuf,
                                    size_t errlen);
/* Serves rebalances and errors (never blocks). Call it on every loop iteration, also when
 * no more messages can be taken: it keeps the group membership alive. */
void dp_consumer_serve(struct dp_consumer *c);
/* The next well-formed event, taken round-robin across the assigned partitions, or NULL
 * when none is ready (never blocks). Poison messages go to dp_dead_letter() and are
 * finished here. The message comes with pending = 1: the caller adds its deliveries, then
 * calls dp_msg_done() once for itself. */
struct dp_msg *dp_consumer_poll(struct dp_consumer *c);
/* One unit of msg's pending work is finished; frees msg when it was the last one. */
void dp_msg_done(struct dp_msg *msg);
/* Hands the offsets of partitions whose head advanced to librdkafka (committed by
 * auto-commit, on revoke and on close). */
void dp_consumer_store(struct dp_consumer *c);
/* Stores one last time; from now on finished messages no longer advance offsets, so
 * deliveries abandoned at shutdown can be released without being counted as done. */
void dp_consumer_freeze(struct dp_consumer *c);
/* Leaves the group (revoke: commit stored offsets), then frees everything. Every
 * message must have been released. */
void dp_consumer_close(struct dp_consumer *c);

#endif
