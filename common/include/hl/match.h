/* Event type names and subscription patterns.
 *
 * An event type is dot-separated segments of [A-Za-z0-9_-], e.g. "order.created".
 * A pattern is an exact type, "*" (everything), or "prefix.*" (every type that starts with
 * "prefix." at any depth). */
#ifndef HL_MATCH_H
#define HL_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#define HL_EVENT_TYPE_MAX 128

bool hl_event_type_valid(const char *type);
bool hl_event_pattern_valid(const char *pattern);
bool hl_event_pattern_matches(const char *pattern, const char *type);
/* True when any of the n patterns matches. */
bool hl_event_patterns_match(char *const *patterns, size_t n, const char *type);

#endif
