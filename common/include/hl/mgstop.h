/* Stopping a civetweb server without its two-second wait. civetweb's master thread polls its
 * listening sockets for up to two seconds at a time and notices mg_stop only when that poll
 * ends, so every mg_stop took up to 2 s: every gateway and dispatcher shutdown (a rolling
 * restart, each integration test). hl_mg_stop connects to the server's own listening ports
 * while mg_stop waits, which ends the poll at once. @locality the thread that would call
 * mg_stop. */
#ifndef HL_MGSTOP_H
#define HL_MGSTOP_H

struct mg_context;

void hl_mg_stop(struct mg_context *mg);

#endif
