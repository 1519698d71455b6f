/* Aborting allocation wrappers (see hl/mem.h for why). */
#include "hl/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/banned.h"

static void oom(size_t n)
{
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"out of memory allocating %zu bytes\"}\n", n);
    abort();
}

void *hl_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *hl_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *hl_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *hl_xstrdup(const char *s)
{
    return hl_xstrndup(s, strlen(s));
}

char *hl_xstrndup(const char *s, size_t n)
{
    char *p = hl_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
