/* One table source's replication stream, on its own thread: connects to the user's
 * database with `replication=database`, makes the publication and the logical slot when
 * missing, streams pgoutput from the slot's confirmed LSN, turns each configured change
 * into an event (cdc_event.h) for the producer, and confirms LSNs back as Kafka
 * acknowledges them (cdc_acks.h). Any failure (unreachable database, a table that does not
 * exist, a malformed message, an event Kafka refused) closes the connection, is reported in
 * the status and retried with exponential back-off: the stream replays from the slot, it
 * never skips.
 *
 * In drop mode the thread instead drops the slot and the publication (a deleted source)
 * and reports finished.
 *
 * A thread per stream keeps libpq blocking calls (connect, slot creation) of one user's
 * database from stalling the others. @locality start/stop/status: the control thread. */
#ifndef CDC_STREAM_H
#define CDC_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "cdc_config.h"
#include "cdc_producer.h"
#include "cdc_source.h"

struct cdc_stream_status {
    char state[16];   /* connecting, streaming, error, dropping, dropped */
    char detail[256]; /* the last error, "" when none */
    uint64_t confirmed; /* last LSN confirmed to PostgreSQL (0: none yet) */
    uint64_t wal_end;   /* the server's end of WAL when it last said */
    uint64_t events;    /* produced since the stream started */
    uint64_t errors;    /* failures (each retried) since the stream started */
};

struct cdc_stream;

/* Starts the thread. src and dsn move into the stream (dsn is wiped when freed). */
struct cdc_stream *cdc_stream_start(const struct cdc_config *cfg, struct cdc_producer *prod,
                                    struct cdc_source *src, char *dsn, bool drop);
/* Asks the thread to stop without waiting (so that many streams stop in parallel). */
void cdc_stream_signal(struct cdc_stream *s);
/* Asks the thread to stop, waits for it and frees the stream. */
void cdc_stream_stop(struct cdc_stream *s);
/* A copy of the status; *changed says whether it moved since the last call. */
void cdc_stream_status(struct cdc_stream *s, struct cdc_stream_status *out, bool *changed);
/* Drop mode: the slot and the publication are gone. */
bool cdc_stream_dropped(struct cdc_stream *s);

#endif
