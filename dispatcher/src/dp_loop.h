/* The dispatcher's event loop: one thread that takes events and tasks from Kafka, fans
 * events out into tasks, drives every HTTP attempt and serves the producer's
 * acknowledgements. */
#ifndef DP_LOOP_H
#define DP_LOOP_H

#include <signal.h>

#include "dp_config.h"

struct dp_subs;
struct dp_consumer;
struct dp_deliver;
struct dp_producer;

/* Takes messages from c (events and delivery tasks) and tiers (the retry tiers, released
 * when due) in turn. Runs until *stop is set, then lets in-flight deliveries finish for up to
 * shutdown_timeout_ms (attempts and the acknowledgement of what they handed to Kafka).
 * wake_fd is the read end of the pipe that librdkafka (new messages)
 * and the signal handler write to. Offsets of finished messages are stored on return;
 * what is still in flight is left to the caller to abandon. */
void dp_loop_run(const struct dp_config *cfg, struct dp_subs *subs, struct dp_consumer *c,
                 struct dp_consumer *tiers, struct dp_deliver *dl, struct dp_producer *prod,
                 int wake_fd, volatile sig_atomic_t *stop);

#endif
