/* Retry decisions: how long to wait before the next attempt (the webhook's policy, jitter,
 * Retry-After, harder back-off after 429 and timeouts) and which retry tier carries the
 * wait. Pure functions: unit-tested in tests/unit/test_dp_retry.c.
 *
 * Waiting happens in Kafka, not here: a failed attempt becomes a task on
 * <prefix>.retry.<tier> (see dp_consumer.h for how a tier holds its messages), so its
 * source message finishes at once and a dead endpoint never pins a partition. */
#ifndef DP_RETRY_H
#define DP_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_subs.h"

/* Wait before retry number n (1 = the wait after the first attempt), before jitter:
 * exponential initial * 2^(n-1), linear initial * n, fixed initial; capped at max. */
int64_t dp_retry_base_delay_ms(const struct dp_retry_policy *p, int n);
/* The wait after a failed attempt. rnd in [0, 1) spreads it by +-jitter_pct; throttled
 * (429, timeout) raises it to at least min(throttle_min_ms, max delay); retry_after_ms
 * (>= 0 when the endpoint sent Retry-After, already capped by the caller) raises it to at
 * least that. Never negative. */
int64_t dp_retry_delay_ms(const struct dp_retry_policy *p, int n, double rnd, int jitter_pct,
                          bool throttled, int64_t throttle_min_ms, int64_t retry_after_ms);
/* The tier for a wait: the longest tier not longer than wait_ms (tier 0 when all are
 * longer: the retry is then late by at most tiers[0] - wait_ms, never early). */
size_t dp_retry_tier(const int64_t *tiers, size_t ntiers, int64_t wait_ms);
/* Parses a Retry-After value (delta seconds or an HTTP date) into ms from now_s; -1 when
 * absent or malformed. */
int64_t dp_retry_after_parse(const char *value, int64_t now_s);

#endif
