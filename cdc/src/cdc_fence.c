/* The subscription version this worker has heard of (see cdc_fence.h). */
#include "cdc_fence.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "hl/banned.h"

static _Atomic int64_t version;

void cdc_fence_note(int64_t v)
{
    int64_t cur = atomic_load(&version);
    while (v > cur && !atomic_compare_exchange_weak(&version, &cur, v))
        ;
}

void cdc_fence_note_text(const char *s)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0' && v > 0)
        cdc_fence_note(v);
}

int64_t cdc_fence_version(void)
{
    return atomic_load(&version);
}
