/* The Kafka side of the dispatcher: high-level consumers in group group_id of the topics
 * the dispatcher works from, with at-least-once offset tracking. main.c makes two, both
 * members of the group: one of the live topics (<prefix>.events, <prefix>.deliveries) and
 * one of the delay topics (each <prefix>.retry.<tier>). A fetch request lists every
 * partition of its consumer, so with one consumer each live fetch (about one per event at
 * low rates) carried the idle tiers' partitions too: at 100 events/s that was 18 % of the
 * dispatcher's instructions. A consumer of delay topics only lets the broker hold its
 * empty fetches longer (a tenth of the shortest delay, at most 500 ms).
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
 * Delay topics: a topic opened with a delay (the retry tiers) hands out a message only
 * once its Kafka timestamp plus the delay has passed. The partition's head is read and
 * held until then, and nothing behind it is read: the partition is paused in effect,
 * without rd_kafka_pause_partitions (which would drop prefetched messages), and the loop
 * sleeps no longer than dp_consumer_next_release(). Every message of a tier waits the same
 * delay, so heads are released in order and never early.
 *
 * @locality everything here runs on the dispatcher's loop thread: rebalances are served
 * from dp_consumer_poll() (rd_kafka_poll_set_consumer), so no lock is needed. */
#ifndef DP_CONSUMER_H
#define DP_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "dp_config.h"
#include "hl/envelope.h"
#include "hl/err.h"

/* The Kafka header that carries a message's fence (see struct dp_msg). */
#define DP_FENCE_HEADER "hookline-subs-version"

/* The longest a Kafka consumer of the dispatcher (the loop's two, the attempt log's) takes
 * to close on shutdown before it is destroyed without leaving its group
 * (hl_kafka_consumer_close): three of them within a supervisor's usual 30 s after SIGTERM,
 * after shutdown_timeout_ms of draining. */
#define DP_CONSUMER_CLOSE_MS 3000

struct dp_partition;

/* What a topic carries, and so what the loop does with its messages. */
typedef enum { DP_TOPIC_EVENTS, DP_TOPIC_TASKS } dp_topic_kind;

struct dp_topic_spec {
    const char *suffix; /* "events", "deliveries", "retry.0", ... */
    dp_topic_kind kind;
    int64_t delay_ms; /* retry tiers: how long each message waits; 0 otherwise */
};

/* One consumed message, alive from the poll that returned it until its last unit of work
 * (a delivery attempt, a produce awaiting its acknowledgement) is finished
 * (dp_msg_done). */
struct dp_msg {
    struct dp_partition *part; /* NULL once the partition was revoked: nothing to store */
    struct dp_msg *next;       /* in part's FIFO */
    dp_topic_kind kind;
    int tier; /* index of the topic spec it came from */
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
    int pending; /* unfinished work, plus one for the caller while it handles it */
    /* The read-your-writes fence: the subscription version this message must be handled
     * with at least (Kafka header hookline-subs-version; 0 when absent). Tasks produced on
     * its behalf carry it on (dp_produce). */
    int64_t fence;
    /* The delivery ids' derivation its event asks for (Kafka header hookline-id-version,
     * hl/id.h); 1 when absent. */
    int id_version;
    char *payload; /* owned copy, NUL-terminated; NULL when the message had none */
    size_t len;
    struct hl_event ev; /* events: filled by the caller once parsed */
};

/* The offset invariant, kept for one partition: its in-flight messages in offset order
 * (head = oldest). A message is finished when its pending count reaches 0; finished
 * messages leave from the head only, and next_offset is then the offset after the last
 * one that left, the only offset that may be stored: every message below it is finished.
 * A finished message behind an unfinished one stays in the FIFO (a crash replays it,
 * never skips it). Pure bookkeeping, unit-tested in tests/unit/test_dp_consumer.c. */
struct dp_offset_fifo {
    struct dp_msg *head, *tail;
    int64_t next_offset; /* -1 before any message finished */
};

/* Appends m, which must come after the tail in offset order. */
void dp_offset_fifo_push(struct dp_offset_fifo *f, struct dp_msg *m);
/* Pops the finished messages at the head, handing each to release; true when
 * next_offset moved. */
bool dp_offset_fifo_advance(struct dp_offset_fifo *f, void (*release)(struct dp_msg *));

struct dp_consumer;

/* Creates the consumer and subscribes to the n topics <prefix>.<suffix>. librdkafka
 * writes a byte to wake_fd whenever the consumer queue or a partition queue turns
 * non-empty, so the loop can sleep in poll(2). */
struct dp_consumer *dp_consumer_new(const struct dp_config *cfg, const struct dp_topic_spec *topics,
                                    size_t n, int wake_fd, char *errbuf, size_t errlen);
/* Serves rebalances and errors (never blocks). Call it on every loop iteration, also when
 * no more messages can be taken: it keeps the group membership alive. */
void dp_consumer_serve(struct dp_consumer *c);
/* The next message, taken round-robin across the assigned partitions, or NULL when none
 * is ready (never blocks; messages of delay topics come out once released). The message
 * comes with pending = 1: the caller adds its work, then calls dp_msg_done() once for
 * itself. */
struct dp_msg *dp_consumer_poll(struct dp_consumer *c);
/* This member's share of the events topic: assigned events partitions over the topic's
 * partition count (one counted when none is assigned), 1.0 while unknown. A webhook whose
 * deliveries start at fan-out on every member (dp_fanout.h) gets this share of its
 * concurrency here. Asks the brokers for the partition count the first time and when a
 * partition beyond it is assigned (blocks up to 2 s then); otherwise a count after each
 * rebalance, or a field read. */
double dp_consumer_events_share(struct dp_consumer *c);
/* Monotonic ms at which the earliest held message of a delay topic is released, or -1. */
int64_t dp_consumer_next_release(const struct dp_consumer *c);
/* The fence header (DP_FENCE_HEADER) of a Kafka message as a number; 0 when absent or not
 * a plain decimal. */
int64_t dp_fence_header(rd_kafka_message_t *rkm);
/* The id version header (HL_ID_VERSION_HEADER) of a Kafka message; 1 when absent. */
int dp_id_version_header(rd_kafka_message_t *rkm);
/* Whose msg's remaining work is. A revoked partition is UNDECIDED until the next
 * assignment: back to this member, it is OURS again; given to another, GONE. The new
 * owner reads a GONE partition from its committed offset, which is at or before every
 * message still unfinished here (offsets are only stored past finished messages), so it
 * does all of msg's deliveries again: one not started here yet is a duplicate if started
 * (dp_deliver.c drops it), one on the wire already can only run to its end. */
typedef enum { DP_MSG_OURS, DP_MSG_UNDECIDED, DP_MSG_GONE } dp_msg_owner;
dp_msg_owner dp_msg_ownership(const struct dp_msg *msg);

/* One of msg's deliveries is being attempted, or handed to Kafka as a task (a retry
 * tier's or <prefix>.deliveries'): were msg read again, that would be done again. */
void dp_msg_acted(struct dp_msg *msg);
/* Is msg at or before the last message of its partition that dp_msg_acted was called
 * for? Then its offset must be committed before the partition moves, or the next owner,
 * which starts from the committed offset, repeats what was done for the messages up to
 * that one: a rebalance hands msg's waiting deliveries to Kafka
 * (dp_deliver_hand_off_waiting). A later one can be left to the next owner. */
bool dp_msg_before_acted(const struct dp_msg *msg);

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
/* Called when a rebalance is about to take this consumer's partitions (not when they are
 * lost, nor once frozen), before their offsets are stored and committed: it may let work
 * on them finish, for at most rebalance_drain_ms (dp_loop.c). NULL: none. */
void dp_consumer_set_drain(struct dp_consumer *c, void (*drain)(void *arg), void *arg);

#endif
