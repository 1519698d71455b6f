/* JSON helpers that work on the text, before (or instead of) parsing it. */
#ifndef HL_JSON_H
#define HL_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* True when no array or object in the len bytes at text nests deeper than max_depth
 * (a top-level object is depth 1). One pass over the bytes, no allocation: brackets inside
 * strings (with their backslash escapes) do not count. Text that is not JSON is scanned
 * all the same; its parser rejects it afterwards. */
bool hl_json_depth_ok(const char *text, size_t len, int max_depth);

#endif
