/* Deadlines on reading request bodies (gw_deadline.c): a watchdog thread cuts off the
 * reading side of a client that is still sending its body when the deadline passes.
 * @locks its own mutex; any thread may call. */
#ifndef GW_DEADLINE_H
#define GW_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_request_info;

struct gw_deadlines;
struct gw_deadlines *gw_deadlines_new(int listen_port, size_t nslots);
void gw_deadlines_free(struct gw_deadlines *d);
/* Arms a deadline ms from now for this request's client; returns a slot for disarm (-1
 * when all nslots are in use: that request then has civetweb's per-read timeout only). */
int gw_deadline_arm(struct gw_deadlines *d, const struct mg_request_info *info, int64_t ms);
/* Disarms a slot; true when the deadline had passed (the client was cut off). */
bool gw_deadline_disarm(struct gw_deadlines *d, int slot);

#endif
