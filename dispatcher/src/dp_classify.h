/* What went wrong with a delivery attempt, as one error class: the word the attempt log,
 * the delivery API and dp_retry_decide (dp_retry.h) all use. Pure; unit-tested in
 * tests/unit/test_dp_classify.c.
 *
 *   NULL              a 2xx answer (also when the body was cut at the response cap)
 *   redirect          3xx (redirects are not followed, per Standard Webhooks)
 *   gone              410: the webhook is disabled
 *   http_status       any other answer
 *   timeout, dns, connect_failed, tls, too_many_redirects, network
 *                     no answer, by libcurl's code
 *   ssrf_blocked      every address the URL resolved to was refused by the SSRF check */
#ifndef DP_CLASSIFY_H
#define DP_CLASSIFY_H

#include <curl/curl.h>
#include <stdbool.h>

/* rc is the attempt's libcurl result and status its HTTP status (0 without an answer);
 * capped: the body was cut at the response cap (the answer stands); ssrf: every address
 * was refused. Returns a static string, or NULL for a success. */
const char *dp_classify(CURLcode rc, long status, bool capped, bool ssrf);

#endif
