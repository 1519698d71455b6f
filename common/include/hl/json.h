/* JSON helpers: checks on the text before (or instead of) parsing it, and writing a parsed
 * value into a buffer without jansson's json_dumps. */
#ifndef HL_JSON_H
#define HL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl/buf.h"

/* True when no array or object in the len bytes at text nests deeper than max_depth
 * (a top-level object is depth 1). One pass over the bytes, no allocation: brackets inside
 * strings (with their backslash escapes) do not count. Text that is not JSON is scanned
 * all the same; its parser rejects it afterwards. */
bool hl_json_depth_ok(const char *text, size_t len, int max_depth);


/* Appends v as compact JSON, the same bytes as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)
 * (object keys in insertion order, jansson's escapes), in a fraction of its instructions:
 * jansson decodes every string code point by code point, this copies runs of bytes. Reals
 * are still formatted by jansson, so their digits stay jansson's. v must be a valid tree
 * (strings valid UTF-8, as jansson's parser and constructors guarantee); recursion follows
 * its nesting, which the gateway bounds with hl_json_depth_ok. */
void hl_json_write(struct hl_buf *b, const json_t *v);

/* A faster json_loadb(text, len, JSON_REJECT_DUPLICATES) for the common case: the same tree
 * (a new reference), or NULL whenever it is not certain to be the same, which includes
 * every input jansson refuses. On NULL, parse with jansson: its result and its error
 * message decide. Root must be an object or array; strings must be strict UTF-8 without
 * NUL; duplicate keys, number overflows and anything unusual give NULL. jansson reads its
 * input one character at a time through a stream and costs ~150 instructions per byte;
 * this one scans runs of bytes. Nesting is not bounded here: check hl_json_depth_ok first. */
json_t *hl_json_parse(const char *text, size_t len);

#endif
