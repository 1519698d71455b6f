/* Retry schedule (see dp_retry.h). */
#include "dp_retry.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl/banned.h"

struct dp_retry_decision dp_retry_decide(const struct dp_config *cfg,
                                         const struct dp_retry_policy *p,
                                         const struct dp_attempt_result *a,
                                         const struct dp_endpoint_health *h, int64_t now_ms,
                                         double rnd)
{
    struct dp_retry_decision d = {.next = DP_NEXT_DONE, .status = "succeeded"};
    const char *cls = a->error_class;
    if (!cls)
        return d;
    bool gone = strcmp(cls, "gone") == 0;
    bool ssrf = strcmp(cls, "ssrf_blocked") == 0;
    bool unsigned_ = strcmp(cls, "secret_unavailable") == 0;
    if (gone)
        d.disable_reason = "410 gone";
    else if (!unsigned_ && !h->disabled && h->failing_since_ms > 0 &&
             now_ms - h->failing_since_ms >= cfg->auto_disable_after_ms)
        d.disable_reason = "failing continuously";
    if (!gone && !ssrf && a->attempts_used < p->max_attempts) {
        bool throttled = !unsigned_ && (a->http_status == 429 || strcmp(cls, "timeout") == 0);
        int64_t ra = unsigned_ ? -1 : a->retry_after_ms;
        if (ra > cfg->retry_after_max_ms)
            ra = cfg->retry_after_max_ms;
        d.next = DP_NEXT_RETRY;
        d.status = "retrying";
        d.wait_ms = dp_retry_delay_ms(p, a->attempts_used, rnd, (int)cfg->retry_jitter_pct,
                                      throttled, cfg->throttle_min_delay_ms, ra);
        return d;
    }
    d.next = DP_NEXT_DEAD_LETTER;
    d.status = "failed";
    d.dead_letter_reason = gone       ? "410 gone"
                           : ssrf     ? "ssrf blocked"
                           : unsigned_ ? "secret unavailable"
                                      : "attempts exhausted";
    return d;
}

int64_t dp_retry_base_delay_ms(const struct dp_retry_policy *p, int n)
{
    int64_t d = p->initial_delay_ms;
    if (n < 1)
        n = 1;
    if (p->nschedule > 0)
        return p->schedule_ms[n <= p->nschedule ? n - 1 : p->nschedule - 1];
    switch (p->strategy) {
    case DP_BACKOFF_FIXED:
        break;
    case DP_BACKOFF_LINEAR:
        d = p->initial_delay_ms * n;
        break;
    case DP_BACKOFF_EXPONENTIAL:
        for (int i = 1; i < n && d < p->max_delay_ms; i++)
            d *= 2;
        break;
    }
    return d < p->max_delay_ms ? d : p->max_delay_ms;
}

int64_t dp_retry_delay_ms(const struct dp_retry_policy *p, int n, double rnd, int jitter_pct,
                          bool throttled, int64_t throttle_min_ms, int64_t retry_after_ms)
{
    int64_t d = dp_retry_base_delay_ms(p, n);
    if (p->nschedule > 0) /* the client's own times: no jitter, no throttle floor, no cap */
        return retry_after_ms > d ? retry_after_ms : d;
    d += (int64_t)((double)d * jitter_pct / 100.0 * (2.0 * rnd - 1.0));
    if (d > p->max_delay_ms)
        d = p->max_delay_ms;
    if (throttled) {
        int64_t floor = throttle_min_ms < p->max_delay_ms ? throttle_min_ms : p->max_delay_ms;
        if (d < floor)
            d = floor;
    }
    if (retry_after_ms > d)
        d = retry_after_ms;
    return d > 0 ? d : 0;
}

size_t dp_retry_tier(const int64_t *tiers, size_t ntiers, int64_t wait_ms)
{
    size_t t = 0;
    for (size_t i = 0; i < ntiers; i++)
        if (tiers[i] <= wait_ms)
            t = i;
    return t;
}

int64_t dp_retry_after_parse(const char *value, int64_t now_s)
{
    if (!value)
        return -1;
    while (*value == ' ')
        value++;
    if (*value >= '0' && *value <= '9') {
        char *end;
        long long s = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n')
            end++;
        return *end ? -1 : s * 1000;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return -1;
    int64_t at = (int64_t)timegm(&tm);
    return at > now_s ? (at - now_s) * 1000 : 0;
}
