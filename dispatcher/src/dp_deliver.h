/* HTTP delivery: the loop thread carries every attempt over the dispatcher's connections
 * (dp_conn.h), kept alive and reused per scheme, host and port; a delivery is signed
 * afresh for each attempt (the timestamp is part of the signature) and keeps its
 * webhook-id across all of them.
 *
 * Input is delivery tasks (hl/task.h) from <prefix>.deliveries and the retry tiers. After
 * each attempt dp_retry_decide (dp_retry.h) says what follows, and it is handed to Kafka
 * before the task's message finishes: a retry task to the tier that fits its wait, a dead
 * letter to <prefix>.dlq, and always an attempt record to <prefix>.attempts (the
 * attempt-log writer's input). A retry due sooner than the shortest tier is held here
 * instead, its message unfinished until the retry was attempted (see hold() in
 * dp_deliver.c), so that a 1 s policy waits 1 s, not a tier's 5 s.
 *
 * @locality loop thread only: the connections and every delivery belong to it. */
#ifndef DP_DELIVER_H
#define DP_DELIVER_H

#include <stddef.h>

#include "dp_config.h"
#include "hl/err.h"

struct dp_msg;
struct dp_snapshot;
struct dp_deliver;
struct dp_producer;
struct dp_subs;
struct dp_webhook;

/* subs gives held retries the current snapshot when they are due. */
/* Breakers and failure clocks outlive this dispatcher in store (see dp_healthstore.h). */
struct dp_healthstore;
void dp_deliver_set_healthstore(struct dp_deliver *dl, struct dp_healthstore *store);
struct dp_deliver *dp_deliver_new(const struct dp_config *cfg, struct dp_producer *prod,
                                  struct dp_subs *subs, char *errbuf, size_t errlen);
/* Takes on the task in msg (one pending unit per piece of work, released as each is
 * done). snap is the caller's reference; the delivery takes its own. */
void dp_deliver_task(struct dp_deliver *dl, struct dp_msg *msg, struct dp_snapshot *snap);
/* Starts the delivery of msg's event (an events message, already fanned out, whose text
 * is msg->payload) to webhook w of snap at once, in place of a task on <prefix>.deliveries
 * (see dp_fanout.h): the delivery is the same as a task's from there on, and msg stays
 * unfinished until it is done or handed to a retry tier. Only for a webhook that
 * dp_deliver_spreads(). */
void dp_deliver_event(struct dp_deliver *dl, struct dp_msg *msg, struct dp_snapshot *snap,
                      const struct dp_webhook *w, const char *delivery_id, int64_t now_ms);
/* May w's deliveries start wherever its events are fanned out? Only when it has neither a
 * rate limit nor a concurrency limit of its own: those are exact only in one place, the
 * owner of its task key. Its share of the dispatcher's default concurrency is then
 * divided among the dispatchers (dp_deliver_set_share). */
bool dp_deliver_spreads(const struct dp_webhook *w);
/* This dispatcher's share of the events partitions (dp_consumer_events_share): a webhook
 * that spreads gets this share of default_max_concurrency here, at least one. */
void dp_deliver_set_share(struct dp_deliver *dl, double share);
/* Shutdown begins: retries held in memory until due go to their retry tier now (each
 * finishes once Kafka acknowledged it), and later ones go there directly. */
void dp_deliver_stop_holding(struct dp_deliver *dl);
/* Deliveries attempting, waiting for a slot, or held for a retry due soon. */
size_t dp_deliver_in_flight(const struct dp_deliver *dl);
/* Attempts on the wire. */
size_t dp_deliver_attempts(const struct dp_deliver *dl);
/* A rebalance is about to take the partitions (dp_loop.c's drain). The partition's next
 * owner starts from the committed offset, which is before the first unfinished message,
 * so it would do again what was done here for the messages after that one: an event
 * delivered to a fast webhook, or a backlog's deliveries deferred to a retry tier, while
 * the oldest deliveries waited here for a slow one. So each delivery waiting here, not on
 * the wire (parked for its webhook's concurrency or rate limit, or a retry held until
 * due), whose message is at or before the last one of its partition with a delivery
 * attempted or handed to Kafka (dp_msg_before_acted), goes to <prefix>.deliveries as a
 * task, due when it was: its message finishes once Kafka has the task, and its offset
 * goes with the revoke's commit. Later ones stay: the next owner does them, or they go on
 * here if the partition comes back. Returns how many were handed off. */
size_t dp_deliver_hand_off_waiting(struct dp_deliver *dl);
/* Like dp_deliver_run, but starts nothing: handles the attempts that ended and waits at
 * most max_wait_ms for more to end (or for wake_fd). What an ended attempt
 * leads to (its record, a retry, a dead letter) is done as always; deliveries that wait
 * go on waiting. For the drain before a rebalance (dp_loop.c). */
void dp_deliver_finish_step(struct dp_deliver *dl, int wake_fd, int max_wait_ms);
/* Starts what may start, then waits at most max_wait_ms for network activity or for
 * wake_fd (a negative one is not watched) to be readable, and handles what finished. */
void dp_deliver_run(struct dp_deliver *dl, int wake_fd, int max_wait_ms);
/* Aborts whatever is left (each delivery's dp_msg_done is called) and frees everything. */
void dp_deliver_free(struct dp_deliver *dl);

#endif
