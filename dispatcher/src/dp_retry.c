/* Retry schedule and timer heap (see dp_retry.h). */
#include "dp_retry.h"

#include <stdlib.h>

#include "hl/mem.h"
#include "hl/banned.h"

struct dp_retry_entry {
    int64_t due_ms;
    void *item;
};

int64_t dp_retry_delay_ms(const struct dp_config *cfg, int attempts)
{
    int64_t d = cfg->retry_initial_ms;
    for (int i = 1; i < attempts && d < cfg->retry_max_ms; i++)
        d *= 2;
    return d < cfg->retry_max_ms ? d : cfg->retry_max_ms;
}

bool dp_retry_allowed(const struct dp_config *cfg, int attempts)
{
    return attempts < cfg->max_attempts;
}

static void swap(struct dp_retry_entry *a, struct dp_retry_entry *b)
{
    struct dp_retry_entry t = *a;
    *a = *b;
    *b = t;
}

void dp_retry_queue_push(struct dp_retry_queue *q, int64_t due_ms, void *item)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->v = hl_xrealloc(q->v, q->cap * sizeof(*q->v));
    }
    size_t i = q->n++;
    q->v[i] = (struct dp_retry_entry){due_ms, item};
    while (i > 0 && q->v[(i - 1) / 2].due_ms > q->v[i].due_ms) {
        swap(&q->v[(i - 1) / 2], &q->v[i]);
        i = (i - 1) / 2;
    }
}

void *dp_retry_queue_pop_due(struct dp_retry_queue *q, int64_t now_ms)
{
    if (q->n == 0 || q->v[0].due_ms > now_ms)
        return NULL;
    void *item = q->v[0].item;
    q->v[0] = q->v[--q->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->n && q->v[l].due_ms < q->v[m].due_ms)
            m = l;
        if (r < q->n && q->v[r].due_ms < q->v[m].due_ms)
            m = r;
        if (m == i)
            break;
        swap(&q->v[i], &q->v[m]);
        i = m;
    }
    return item;
}

int64_t dp_retry_queue_next_due(const struct dp_retry_queue *q)
{
    return q->n ? q->v[0].due_ms : -1;
}

void dp_retry_queue_release(struct dp_retry_queue *q)
{
    free(q->v);
    q->v = NULL;
    q->n = q->cap = 0;
}
