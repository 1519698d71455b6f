/* Attempt records handed from the loop thread to the attempt-log writer of the same
 * process, without Kafka (dp_attemptlog.h): an inbox the loop offers records to and the
 * writer takes them from, and an outbox the writer puts them in once finished (written, or
 * handed back to go through Kafka) and the loop collects them from.
 *
 * The loop never waits: an offer is refused when the writer is not accepting (its last
 * write failed) or as many records as it may hold are offered and not yet collected. Each
 * side is woken through a descriptor only on an edge: the writer's when the inbox reaches
 * a batch (or on dp_direct_hurry), the loop's when the outbox turns non-empty.
 *
 * @locality the loop thread offers, collects and hurries; the writer thread takes and
 * finishes. */
#ifndef DP_DIRECT_H
#define DP_DIRECT_H

#include <stdbool.h>
#include <stddef.h>

#include "dp_record_columns.h"
#include "hl/id.h"

/* One record and what became of it. */
struct dp_direct_rec {
    void *opaque;
    bool written; /* set by dp_direct_finish */
    char key[HL_DELIVERY_ID_LEN];
    struct dp_record_spans spans; /* where the columns' values are in text */
    size_t len;
    char text[];
};

struct dp_direct;

/* batch: records in the inbox at which the writer is woken; most: records held (offered,
 * not yet collected) at which offers are refused. writer_fd, loop_fd: written one byte to
 * on the edges above (-1: never). accepting: the initial state. */
struct dp_direct *dp_direct_new(size_t batch, size_t most, int writer_fd, int loop_fd,
                                bool accepting);
/* Frees the records still in either box (never reported). */
void dp_direct_free(struct dp_direct *q);

/* The loop's side. True when the record (copied, with its spans) is taken; opaque comes
 * back with it. */
bool dp_direct_offer(struct dp_direct *q, const char *key, const void *rec, size_t len,
                     const struct dp_record_spans *spans, void *opaque);
/* What happened to a record: written, or handed back unwritten with its key and text. */
typedef void dp_direct_done_fn(void *ud, void *opaque, bool written, const char *key,
                               const char *rec, size_t len);
/* Calls done for each finished record, in the order they were finished, and frees it;
 * returns how many. */
size_t dp_direct_collect(struct dp_direct *q, dp_direct_done_fn *done, void *ud);
/* Asks the writer to write what it holds now (wakes it once until it looks). */
void dp_direct_hurry(struct dp_direct *q);

/* The writer's side. Takes the inbox: *n records, the array the caller's to free. */
struct dp_direct_rec **dp_direct_take(struct dp_direct *q, size_t *n);
/* Puts records [0, n) of v in the outbox, written or handed back. */
void dp_direct_finish(struct dp_direct *q, struct dp_direct_rec *const *v, size_t n,
                      bool written);
/* Whether a hurry was asked since the last call. */
bool dp_direct_hurried(struct dp_direct *q);
/* Whether offers are taken; set false by the writer when a write failed. */
void dp_direct_set_accepting(struct dp_direct *q, bool accepting);
bool dp_direct_accepting(const struct dp_direct *q);
/* Records offered and not yet collected (any thread). */
size_t dp_direct_held(const struct dp_direct *q);

#endif
