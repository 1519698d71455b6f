/* HTTP delivery: one curl multi handle, driven by the loop thread, carries every attempt.
 * Connections are kept alive and reused per host; a delivery is signed afresh for each
 * attempt (the timestamp is part of the signature) and keeps its webhook-id across all of
 * them.
 *
 * @locality loop thread only: the multi handle and every delivery belong to it. */
#ifndef DP_DELIVER_H
#define DP_DELIVER_H

#include <curl/curl.h>
#include <stddef.h>

#include "dp_config.h"
#include "hl/err.h"

struct dp_msg;
struct dp_webhook;
struct dp_deliver;

struct dp_deliver *dp_deliver_new(const struct dp_config *cfg, char *errbuf, size_t errlen);
/* Starts delivering msg to w (copied: the snapshot may go away). Counts one pending unit
 * on msg, given back with dp_msg_done() when the delivery succeeds or gives up. */
void dp_deliver_add(struct dp_deliver *dl, struct dp_msg *msg, const struct dp_webhook *w);
/* Deliveries in progress or waiting for a retry. */
size_t dp_deliver_in_flight(const struct dp_deliver *dl);
/* Starts due retries, then waits at most max_wait_ms (less when a retry or a curl timer is
 * due sooner) for network activity or one of the extra fds, and handles what finished. */
void dp_deliver_run(struct dp_deliver *dl, struct curl_waitfd *extra, unsigned nextra,
                    int max_wait_ms);
/* Aborts whatever is left (each delivery's dp_msg_done is called) and frees everything. */
void dp_deliver_free(struct dp_deliver *dl);

#endif
