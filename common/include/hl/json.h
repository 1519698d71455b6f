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
 * this one scans runs of bytes. Nesting deeper than max_depth (a top-level object is depth 1,
 * as for hl_json_depth_ok) also gives NULL, so recursion is bounded by it: deep input is
 * left to jansson, which does not recurse, without a pass of hl_json_depth_ok first. */
json_t *hl_json_parse(const char *text, size_t len, int max_depth);
/* Where the first \u0000 escape (its backslash) is in the len bytes of JSON text at text,
 * or len when there is none. Escapes are stepped over whole, so "\\u0000" (an escaped
 * backslash, then letters) is none. The text need not be valid JSON. */
size_t hl_json_find_nul_escape(const char *text, size_t len);

/* Why jansson refused a text, in Hookline's words (for an API answer or a log line):
 * no library flags or limits, and never the token jansson stopped at (it may be a
 * secret). Writes at most len bytes to buf and returns buf. */
const char *hl_json_error_text(const json_error_t *e, char *buf, size_t len);

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
/* hl_json_valid(text, len) && hl_json_members(...) in one pass, for text from a peer:
 * true when text is valid JSON whose top level is an object without escaped names, the
 * spans then set as hl_json_members sets them. */
bool hl_json_valid_members(const char *text, size_t len, const char *const *keys, size_t nkeys,
                           struct hl_json_span *spans);
/* True when the value at sp in text is a string without backslash escapes: *s and *n are
 * then its bytes between the quotes. */
bool hl_json_plain_string(const char *text, struct hl_json_span sp, const char **s, size_t *n);
/* True when the value at sp in text is null. */
bool hl_json_span_is_null(const char *text, struct hl_json_span sp);

#endif
