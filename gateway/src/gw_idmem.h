/* Client event ids while PostgreSQL is down.
 *
 * A client-given event id is normally claimed in event_ids (gw_routes_events.c), which
 * dedupes across every gateway for 24 hours. When the database cannot be asked, ingest
 * goes on and the dedupe window shrinks to what this gateway remembers: the last
 * GW_IDMEM_CAP ids it accepted without the database. A repeat of one of those gets the
 * original answer; a repeat sent to another gateway, or of an id forgotten since, is
 * accepted again (its deliveries keep their stable ids, so receivers still dedupe). When
 * the database answers again the remembered ids are written to event_ids, and the 24-hour
 * window covers them from then on.
 *
 * @locality any civetweb worker; one mutex inside. */
#ifndef GW_IDMEM_H
#define GW_IDMEM_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define GW_IDMEM_CAP 65536

typedef enum {
    GW_IDMEM_NEW,       /* claimed for the caller: settle it with gw_idmem_settle */
    GW_IDMEM_ACCEPTED,  /* accepted before: ts and type of the original answer are out */
    GW_IDMEM_IN_FLIGHT, /* another request holds it */
} gw_idmem_state;

/* Claims (tenant, id) of an event of type. On GW_IDMEM_ACCEPTED ts (at least 32 bytes) and
 * type_out receive the original's. */
gw_idmem_state gw_idmem_claim(const char *tenant, const char *id, const char *type, char *ts,
                              char *type_out, size_t type_len);
/* The original answer of an id accepted while the database was down and not yet written to
 * it; false when there is none. Same outputs as gw_idmem_claim. */
bool gw_idmem_find(const char *tenant, const char *id, char *ts, char *type_out,
                   size_t type_len);
/* The claim's outcome: accepted with the envelope timestamp ts, or forgotten. */
void gw_idmem_settle(const char *tenant, const char *id, bool accepted, const char *ts);
/* True while some accepted id is not yet in event_ids. */
bool gw_idmem_pending(void);
/* Writes the accepted ids not yet in event_ids; cheap when there are none. */
void gw_idmem_flush(PGconn *conn);

#endif
