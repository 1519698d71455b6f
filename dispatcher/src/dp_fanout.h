/* Fan-out: which webhooks an event goes to. */
#ifndef DP_FANOUT_H
#define DP_FANOUT_H

#include <stddef.h>

struct dp_msg;
struct dp_snapshot;
struct dp_deliver;

/* Starts one delivery of msg per webhook of its tenant whose patterns match its type, and
 * returns how many. @locality loop thread */
size_t dp_fanout(struct dp_msg *msg, const struct dp_snapshot *snap, struct dp_deliver *dl);

#endif
