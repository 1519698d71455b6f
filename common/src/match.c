/* Event type validation and subscription pattern matching (see hl/match.h). */
#include "hl/match.h"

#include <string.h>

#include "hl/banned.h"

static bool segment_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* Non-empty dot-separated segments of segment_char over exactly len bytes. */
static bool segments_valid(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (!segment_char(s[i])) {
            return false;
        }
    }
    return true;
}

bool hl_event_type_valid(const char *type)
{
    size_t len = strlen(type);
    return len <= HL_EVENT_TYPE_MAX && segments_valid(type, len);
}

bool hl_event_pattern_valid(const char *pattern)
{
    size_t len = strlen(pattern);
    if (strcmp(pattern, "*") == 0)
        return true;
    if (len > HL_EVENT_TYPE_MAX)
        return false;
    if (len > 2 && strcmp(pattern + len - 2, ".*") == 0)
        return segments_valid(pattern, len - 2);
    return segments_valid(pattern, len);
}

bool hl_event_pattern_matches(const char *pattern, const char *type)
{
    size_t plen = strlen(pattern);
    if (plen == 1 && pattern[0] == '*')
        return true;
    if (plen > 2 && pattern[plen - 1] == '*' && pattern[plen - 2] == '.')
        /* "order.*" matches "order.created" and "order.line.added", not "order" */
        return strncmp(pattern, type, plen - 1) == 0 && type[plen - 1] != '\0';
    return strcmp(pattern, type) == 0;
}

bool hl_event_patterns_match(char *const *patterns, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (hl_event_pattern_matches(patterns[i], type))
            return true;
    return false;
}
