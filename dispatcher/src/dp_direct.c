/* The direct path of attempt records (see dp_direct.h). */
#include "dp_direct.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl/log.h"
#include "hl/mem.h"
#include "hl/banned.h"

struct rec_list {
    struct dp_direct_rec **v;
    size_t n, cap;
};

struct dp_direct {
    size_t batch, most;
    int writer_fd, loop_fd;
    pthread_mutex_t mu; /* inbox and outbox */
    struct rec_list inbox, outbox;
    atomic_size_t held; /* offered and not yet collected */
    atomic_bool accepting;
    atomic_bool hurry;
};

static void push(struct rec_list *x, struct dp_direct_rec *r)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 64;
        x->v = hl_xrealloc(x->v, x->cap * sizeof(*x->v));
    }
    x->v[x->n++] = r;
}

static void release(struct rec_list *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->v[i]);
    free(x->v);
    *x = (struct rec_list){0};
}

static void poke(int fd)
{
    if (fd >= 0 && write(fd, "d", 1) < 0 && errno != EAGAIN)
        hl_log(HL_LOG_WARN, "log", "wake-up: %s", strerror(errno));
}

struct dp_direct *dp_direct_new(size_t batch, size_t most, int writer_fd, int loop_fd,
                                bool accepting)
{
    struct dp_direct *q = hl_xcalloc(1, sizeof(*q));
    q->batch = batch;
    q->most = most;
    q->writer_fd = writer_fd;
    q->loop_fd = loop_fd;
    pthread_mutex_init(&q->mu, NULL);
    atomic_store(&q->accepting, accepting);
    return q;
}

void dp_direct_free(struct dp_direct *q)
{
    if (!q)
        return;
    release(&q->inbox);
    release(&q->outbox);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

bool dp_direct_offer(struct dp_direct *q, const char *key, const void *rec, size_t len,
                     const struct dp_record_spans *spans, void *opaque)
{
    if (!atomic_load(&q->accepting) || atomic_load(&q->held) >= q->most)
        return false;
    struct dp_direct_rec *r = hl_xmalloc(sizeof(*r) + len);
    r->opaque = opaque;
    r->written = false;
    snprintf(r->key, sizeof(r->key), "%s", key ? key : "");
    r->spans = *spans;
    r->len = len;
    memcpy(r->text, rec, len);
    atomic_fetch_add(&q->held, 1);
    pthread_mutex_lock(&q->mu);
    push(&q->inbox, r);
    bool full = q->inbox.n == q->batch;
    pthread_mutex_unlock(&q->mu);
    if (full)
        poke(q->writer_fd);
    return true;
}

size_t dp_direct_collect(struct dp_direct *q, dp_direct_done_fn *done, void *ud)
{
    pthread_mutex_lock(&q->mu);
    struct rec_list out = q->outbox;
    q->outbox = (struct rec_list){0};
    pthread_mutex_unlock(&q->mu);
    for (size_t i = 0; i < out.n; i++) {
        struct dp_direct_rec *r = out.v[i];
        done(ud, r->opaque, r->written, r->key, r->text, r->len);
        free(r);
    }
    free(out.v);
    atomic_fetch_sub(&q->held, out.n);
    return out.n;
}

void dp_direct_hurry(struct dp_direct *q)
{
    if (!atomic_exchange(&q->hurry, true))
        poke(q->writer_fd);
}

struct dp_direct_rec **dp_direct_take(struct dp_direct *q, size_t *n)
{
    pthread_mutex_lock(&q->mu);
    struct rec_list in = q->inbox;
    q->inbox = (struct rec_list){0};
    pthread_mutex_unlock(&q->mu);
    *n = in.n;
    return in.v;
}

void dp_direct_finish(struct dp_direct *q, struct dp_direct_rec *const *v, size_t n,
                      bool written)
{
    if (!n)
        return;
    pthread_mutex_lock(&q->mu);
    bool was_empty = q->outbox.n == 0;
    for (size_t i = 0; i < n; i++) {
        v[i]->written = written;
        push(&q->outbox, v[i]);
    }
    pthread_mutex_unlock(&q->mu);
    if (was_empty)
        poke(q->loop_fd);
}

bool dp_direct_hurried(struct dp_direct *q)
{
    return atomic_exchange(&q->hurry, false);
}

void dp_direct_set_accepting(struct dp_direct *q, bool accepting)
{
    atomic_store(&q->accepting, accepting);
}

bool dp_direct_accepting(const struct dp_direct *q)
{
    return atomic_load(&q->accepting);
}

size_t dp_direct_held(const struct dp_direct *q)
{
    return atomic_load(&q->held);
}
