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

/* jansson's own nesting limit (JSON_PARSER_MAX_DEPTH) */
#define HL_JSON_MAX_DEPTH 2048

/* True when the len bytes at text are one JSON value (RFC 8259) with only whitespace
 * around it, as jansson's json_loadb(text, len, JSON_DECODE_ANY) would accept it: valid
 * UTF-8, no control characters in strings, no \u0000, surrogate escapes in pairs, at most
 * HL_JSON_MAX_DEPTH levels of nesting. Unlike jansson it does not refuse numbers too
 * large for an int64 or a double (PostgreSQL's jsonb keeps them exactly), and it refuses
 * a NUL byte anywhere (jansson stops reading at one, as at the end). One pass, no
 * allocation: it checks text that is passed on without being parsed. */
bool hl_json_valid(const char *text, size_t len);

/* In the len bytes at text, JSON a parser (or hl_json_valid) has already accepted, whose top level is an
 * object: finds the member named key and sets *off and *vlen to where its value's text
 * starts and how long it is. The last of duplicate names wins (as in jansson). False when
 * there is no such member, when the top level is not an object, or when some name at the
 * top level has a backslash escape ("ev\u0065nt" is the same name to a parser): the
 * caller then serializes the parsed value instead. No allocation; the text is not
 * validated, so it must not come straight from a peer. */
bool hl_json_member_span(const char *text, size_t len, const char *key, size_t *off,
                         size_t *vlen);

/* Where a value's text is: len 0 when there is no such member. */
struct hl_json_span {
    size_t off, len;
};
/* hl_json_member_span for nkeys names in one pass: spans[i] for keys[i]. False (and every
 * span empty or partial) on the same conditions, except that an absent name is no
 * failure: its span is empty. */
bool hl_json_members(const char *text, size_t len, const char *const *keys, size_t nkeys,
                     struct hl_json_span *spans);

#endif
