/* Confirmable-LSN tracking (see cdc_acks.h). */
#include "cdc_acks.h"

#include <stdlib.h>

#include "hl/mem.h"
#include "hl/banned.h"

struct cdc_txn {
    struct cdc_txn *next;
    struct cdc_acks *acks;
    uint64_t end_lsn;
    size_t pending;
    bool committed;
};

struct cdc_acks *cdc_acks_new(uint64_t confirmed)
{
    struct cdc_acks *a = hl_xcalloc(1, sizeof(*a));
    pthread_mutex_init(&a->lock, NULL);
    a->confirmed = confirmed;
    return a;
}

static void destroy(struct cdc_acks *a)
{
    while (a->head) {
        struct cdc_txn *t = a->head;
        a->head = t->next;
        free(t);
    }
    pthread_mutex_destroy(&a->lock);
    free(a);
}

struct cdc_txn *cdc_acks_begin(struct cdc_acks *a)
{
    struct cdc_txn *t = hl_xcalloc(1, sizeof(*t));
    t->acks = a;
    pthread_mutex_lock(&a->lock);
    if (a->tail)
        a->tail->next = t;
    else
        a->head = t;
    a->tail = t;
    pthread_mutex_unlock(&a->lock);
    return t;
}

void cdc_acks_produced(struct cdc_acks *a, struct cdc_txn *txn)
{
    pthread_mutex_lock(&a->lock);
    txn->pending++;
    a->in_flight++;
    pthread_mutex_unlock(&a->lock);
}

void cdc_acks_commit(struct cdc_acks *a, struct cdc_txn *txn, uint64_t end_lsn)
{
    pthread_mutex_lock(&a->lock);
    txn->committed = true;
    txn->end_lsn = end_lsn;
    pthread_mutex_unlock(&a->lock);
}

void cdc_acks_done(struct cdc_txn *txn, bool ok)
{
    struct cdc_acks *a = txn->acks;
    pthread_mutex_lock(&a->lock);
    txn->pending--;
    a->in_flight--;
    if (!ok)
        a->failed = true;
    bool gone = a->orphaned && a->in_flight == 0;
    pthread_mutex_unlock(&a->lock);
    if (gone)
        destroy(a);
}

uint64_t cdc_acks_advance(struct cdc_acks *a, bool *failed)
{
    pthread_mutex_lock(&a->lock);
    /* After a failure nothing more is confirmed: an acknowledged transaction behind the
     * failed one must not carry the slot past it. */
    while (!a->failed && a->head && a->head->committed && a->head->pending == 0) {
        struct cdc_txn *t = a->head;
        a->head = t->next;
        if (!a->head)
            a->tail = NULL;
        if (t->end_lsn > a->confirmed)
            a->confirmed = t->end_lsn;
        free(t);
    }
    uint64_t c = a->confirmed;
    *failed = a->failed;
    pthread_mutex_unlock(&a->lock);
    return c;
}

bool cdc_acks_idle(struct cdc_acks *a, uint64_t lsn)
{
    pthread_mutex_lock(&a->lock);
    bool idle = !a->head && !a->failed;
    if (idle && lsn > a->confirmed)
        a->confirmed = lsn;
    pthread_mutex_unlock(&a->lock);
    return idle;
}

size_t cdc_acks_in_flight(struct cdc_acks *a)
{
    pthread_mutex_lock(&a->lock);
    size_t n = a->in_flight;
    pthread_mutex_unlock(&a->lock);
    return n;
}

void cdc_acks_orphan(struct cdc_acks *a)
{
    pthread_mutex_lock(&a->lock);
    a->orphaned = true;
    bool gone = a->in_flight == 0;
    pthread_mutex_unlock(&a->lock);
    if (gone)
        destroy(a);
}
