/* Which LSN a stream may confirm to PostgreSQL.
 *
 * The invariant this module keeps: the confirmed LSN never passes a transaction that has
 * an event Kafka has not acknowledged. Once PostgreSQL hears an LSN as flushed it may
 * recycle the WAL before it, so confirming early would lose changes on a crash; confirming
 * late only replays them (same event ids, so receivers dedupe).
 *
 * Transactions are queued in commit order as the stream receives them. Each counts its
 * events in flight; delivery reports (on the producer's poll thread) count them down. The
 * confirmable LSN is the end LSN of the last transaction of the longest prefix that is
 * committed and fully acknowledged. A failed delivery stops the prefix for good: the
 * stream must reconnect and replay from what was confirmed.
 *
 * A stream that goes away with events still in flight orphans its acks; the last delivery
 * report frees them. @locks its own mutex: the stream thread and the delivery-report
 * thread both call in. */
#ifndef CDC_ACKS_H
#define CDC_ACKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cdc_txn;

struct cdc_acks {
    pthread_mutex_t lock;
    struct cdc_txn *head, *tail; /* commit order */
    uint64_t confirmed;          /* the last LSN that may be confirmed */
    size_t in_flight;            /* events produced, not yet reported */
    bool failed;                 /* some event was not delivered */
    bool orphaned;               /* the stream is gone: free with the last report */
};

struct cdc_acks *cdc_acks_new(uint64_t confirmed);
/* Opens a transaction at the tail (the stream received Begin). */
struct cdc_txn *cdc_acks_begin(struct cdc_acks *a);
/* One more event of txn handed to the producer. */
void cdc_acks_produced(struct cdc_acks *a, struct cdc_txn *txn);
/* txn is complete (Commit), at end_lsn. */
void cdc_acks_commit(struct cdc_acks *a, struct cdc_txn *txn, uint64_t end_lsn);
/* Delivery report of one event of txn. Frees txn's acks when it is orphaned and this was its last
 * event in flight. @locality the producer's delivery-report thread */
void cdc_acks_done(struct cdc_txn *txn, bool ok);
/* Pops what is finished; returns the LSN that may now be confirmed. *failed is set when a
 * delivery failed (the stream must replay). */
uint64_t cdc_acks_advance(struct cdc_acks *a, bool *failed);
/* Nothing is pending and the server says it has sent everything before lsn (a keepalive
 * outside a transaction): lsn may be confirmed too. False when something is pending. */
bool cdc_acks_idle(struct cdc_acks *a, uint64_t lsn);
/* Events in flight. */
size_t cdc_acks_in_flight(struct cdc_acks *a);
/* The stream lets go: frees now when nothing is in flight, else at the last report. */
void cdc_acks_orphan(struct cdc_acks *a);

#endif
