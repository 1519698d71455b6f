/* Payload filters: a webhook's condition on the event beyond its type, compiled once when the
 * webhook is saved (the gateway, to refuse a bad one with the path inside it) and when the
 * dispatcher loads it, then evaluated against each event's parsed envelope without
 * parsing or allocating anything.
 *
 * A filter is a node:
 *   {"path": "/data/amount", "op": "gte", "value": 100}   a condition
 *   {"all": [node, ...]}                                   every node matches
 *   {"any": [node, ...]}                                   at least one node matches
 * path is a JSON Pointer (RFC 6901) into the envelope (/event, /tenant, /data/..., /metadata/..., ...).
 * Operators: eq, ne, in (value: an array), exists (value: true or false, default true),
 * lt, lte, gt, gte (value: a number), prefix (value: a string). Numbers compare by value
 * (1 equals 1.0). A path that refers to nothing matches only ne, exists:false; a value of
 * the wrong type for lt..gte or prefix does not match. Limits: depth HL_FILTER_MAX_DEPTH,
 * HL_FILTER_MAX_NODES nodes, HL_FILTER_MAX_IN values in an "in". */
#ifndef HL_FILTER_H
#define HL_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl/err.h"

#define HL_FILTER_MAX_DEPTH 8
#define HL_FILTER_MAX_NODES 64
#define HL_FILTER_MAX_IN 100

struct hl_filter;

/* Compiles spec into *out (freed with hl_filter_free). On failure *out is NULL, where
 * receives the JSON Pointer of the offending part inside spec ("" for spec itself) and
 * errbuf why. The compiled filter keeps its own references to the values it needs; spec
 * may be released afterwards. */
hl_err hl_filter_compile(json_t *spec, struct hl_filter **out, char *where, size_t wherelen,
                         char *errbuf, size_t errlen);
/* True when the envelope root matches f. Allocates nothing. @locality any thread: a
 * compiled filter is read-only. */
bool hl_filter_match(const struct hl_filter *f, json_t *root);
void hl_filter_free(struct hl_filter *f);

#endif
