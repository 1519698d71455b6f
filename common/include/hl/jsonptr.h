/* JSON Pointer (RFC 6901): "" is the whole document, "/a/0/b~1c" walks members and array
 * indexes, with "~1" standing for '/' and "~0" for '~' inside a reference token. Sources use
 * it to take an incoming webhook's event type from its body. */
#ifndef HL_JSONPTR_H
#define HL_JSONPTR_H

#include <jansson.h>
#include <stdbool.h>

#define HL_JSONPTR_MAX 512

/* True when ptr is a syntactically valid pointer of at most HL_JSONPTR_MAX bytes. */
bool hl_jsonptr_valid(const char *ptr);
/* The value ptr refers to in root (a borrowed reference), or NULL when the pointer is
 * invalid or refers to nothing. Array indexes are decimal without leading zeros; "-"
 * (past the end) refers to nothing. */
json_t *hl_jsonptr_get(json_t *root, const char *ptr);

#endif
