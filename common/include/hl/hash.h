/* A string hash for in-memory tables: 64-bit FNV-1a. Cheap and well spread for ids, names
 * and URLs; not keyed, so a table that holds what clients choose must bound its chains
 * some other way (or, as the caches do, let a collision replace the older entry). */
#ifndef HL_HASH_H
#define HL_HASH_H

#include <stdint.h>

#define HL_HASH_INIT 14695981039346656037ull

/* Hashes s on from h: HL_HASH_INIT for a string alone, or the hash of what came before it
 * for several strings as one. */
static inline uint64_t hl_hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

#endif
