/* Retry decisions: what happens after an attempt (dp_retry_decide: done, retry at a time,
 * dead letter, and whether the webhook is disabled), how long to wait before the next
 * attempt (the webhook's policy, jitter, Retry-After, harder back-off after 429 and
 * timeouts) and which retry tier carries the wait. Pure functions: unit-tested in
 * tests/unit/test_dp_retry.c. dp_deliver.c only carries the decision out.
 *
 * Waiting happens in Kafka, not here: a failed attempt becomes a task on
 * <prefix>.retry.<tier> (see dp_consumer.h for how a tier holds its messages), so its
 * source message finishes at once and a dead endpoint never pins a partition. */
#ifndef DP_RETRY_H
#define DP_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_config.h"
#include "dp_subs.h"

/* What an attempt came to, as dp_retry_decide needs it. */
struct dp_attempt_result {
    const char *error_class; /* NULL: success; otherwise dp_classify's class, or
                                "secret_unavailable" for an attempt that could not be signed */
    long http_status;        /* 0 when there was no answer */
    int attempts_used;       /* attempts counted against the policy (attempt - budget_base) */
    int64_t retry_after_ms;  /* Retry-After the endpoint sent, -1 when none (not capped) */
};

/* The endpoint's health as the decision sees it (dp_breaker's clock, after this attempt
 * was counted). */
struct dp_endpoint_health {
    int64_t failing_since_ms; /* wall clock of the first failure since the last success; 0 */
    bool disabled;            /* already disabled by this dispatcher */
};

typedef enum { DP_NEXT_DONE, DP_NEXT_RETRY, DP_NEXT_DEAD_LETTER } dp_next;

struct dp_retry_decision {
    dp_next next;
    const char *status;             /* the attempt record's: succeeded | retrying | failed */
    int64_t wait_ms;                /* DP_NEXT_RETRY: from now to the next attempt */
    const char *dead_letter_reason; /* DP_NEXT_DEAD_LETTER */
    const char *disable_reason;     /* non-NULL: disable the webhook (with any next) */
};

/* The one place where what follows an attempt is decided, at wall-clock now_ms with rnd
 * in [0, 1) for the jitter:
 * - success: done;
 * - 410 Gone: the webhook is disabled and the delivery dead-lettered ("410 gone");
 * - ssrf_blocked: dead-lettered at once ("ssrf blocked"): only a new URL can change that;
 * - any other failure: retried after dp_retry_delay_ms while the policy's max_attempts
 *   allow, dead-lettered otherwise ("attempts exhausted", or "secret unavailable");
 * - a failure of the endpoint (not secret_unavailable, which is this dispatcher's) that
 *   ends auto_disable_after_ms of failures without a success disables the webhook
 *   ("failing continuously"), unless this dispatcher already did; the delivery still
 *   retries or dead-letters as above (it is skipped when it comes back disabled). */
struct dp_retry_decision dp_retry_decide(const struct dp_config *cfg,
                                         const struct dp_retry_policy *p,
                                         const struct dp_attempt_result *a,
                                         const struct dp_endpoint_health *h, int64_t now_ms,
                                         double rnd);

/* Wait before retry number n (1 = the wait after the first attempt), before jitter:
 * exponential initial * 2^(n-1), linear initial * n, fixed initial; capped at max. With an
 * explicit schedule, its n-th entry (the last one past its end). */
int64_t dp_retry_base_delay_ms(const struct dp_retry_policy *p, int n);
/* The wait after a failed attempt. rnd in [0, 1) spreads it by +-jitter_pct; throttled
 * (429, timeout) raises it to at least min(throttle_min_ms, max delay); retry_after_ms
 * (>= 0 when the endpoint sent Retry-After, already capped by the caller) raises it to at
 * least that. Never negative. An explicit schedule is followed as written (a client that
 * lists 1m, 5m, 15m expects each retry within 10 % of those times): neither jitter nor
 * the throttle floor nor max_delay_ms applies, only a longer Retry-After. The tiers carry
 * such a wait to its due time (dp_deliver.c), so it arrives late only by the loop's and
 * Kafka's latency, never early. */
int64_t dp_retry_delay_ms(const struct dp_retry_policy *p, int n, double rnd, int jitter_pct,
                          bool throttled, int64_t throttle_min_ms, int64_t retry_after_ms);
/* The tier for a wait: the longest tier not longer than wait_ms (tier 0 when all are
 * longer: the retry is then late by at most tiers[0] - wait_ms, never early). */
size_t dp_retry_tier(const int64_t *tiers, size_t ntiers, int64_t wait_ms);
/* Parses a Retry-After value (delta seconds or an HTTP date) into ms from now_s; -1 when
 * absent or malformed. */
int64_t dp_retry_after_parse(const char *value, int64_t now_s);

#endif
