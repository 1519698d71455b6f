/* Allocation wrappers that abort on failure: a webhook server that cannot allocate a few
 * bytes cannot do anything useful, and short code beats OOM recovery paths nobody tests. */
#ifndef HL_MEM_H
#define HL_MEM_H

#include <stddef.h>

void *hl_xmalloc(size_t n);
void *hl_xcalloc(size_t nmemb, size_t size);
void *hl_xrealloc(void *p, size_t n);
char *hl_xstrdup(const char *s);
char *hl_xstrndup(const char *s, size_t n);

#endif
