/* Retry decisions and the timer queue of deliveries waiting for their next attempt.
 *
 * This slice retries in-process: a failed attempt is parked here until it is due, which
 * never blocks other deliveries (the loop sleeps until the earliest due time at most).
 * Retry topics replace the parking, not the schedule. */
#ifndef DP_RETRY_H
#define DP_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_config.h"

/* Wait before the attempt after attempt number `attempts` (1-based): retry_initial_ms,
 * doubling each time, capped at retry_max_ms. */
int64_t dp_retry_delay_ms(const struct dp_config *cfg, int attempts);
/* True while a failed delivery has attempts left. */
bool dp_retry_allowed(const struct dp_config *cfg, int attempts);

/* A min-heap of opaque items keyed by a monotonic due time. */
struct dp_retry_queue {
    struct dp_retry_entry *v;
    size_t n, cap;
};

#define DP_RETRY_QUEUE_INIT {NULL, 0, 0}

void dp_retry_queue_push(struct dp_retry_queue *q, int64_t due_ms, void *item);
/* The earliest item due at or before now_ms, removed from the queue; NULL when none. */
void *dp_retry_queue_pop_due(struct dp_retry_queue *q, int64_t now_ms);
/* The earliest due time, or -1 when the queue is empty. */
int64_t dp_retry_queue_next_due(const struct dp_retry_queue *q);
void dp_retry_queue_release(struct dp_retry_queue *q);

#endif
