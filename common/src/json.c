/* JSON text helpers (see hl/json.h). The depth check exists so that the gateway can refuse
 * a hostile, deeply nested body before jansson builds it and before the schema validator,
 * the matcher or json_dumps recurse through it. The member scan lets the dispatcher carry
 * an event's text from one Kafka record into the next (task, attempt record) instead of
 * serializing the parsed event again. */
#include "hl/json.h"

#include <string.h>

#include "hl/banned.h"

bool hl_json_depth_ok(const char *text, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return false;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

static size_t skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* i is at a string's opening quote: returns the index after its closing one, and sets
 * *escaped when the string holds a backslash. */
static size_t skip_string(const char *t, size_t len, size_t i, bool *escaped)
{
    for (i++; i < len; i++) {
        if (t[i] == '\\') {
            *escaped = true;
            i++;
        } else if (t[i] == '"') {
            return i + 1;
        }
    }
    return len;
}

/* i is at a value's first byte: returns the index after its last. */
static size_t skip_value(const char *t, size_t len, size_t i)
{
    bool esc = false;
    if (i >= len)
        return len;
    if (t[i] == '"')
        return skip_string(t, len, i, &esc);
    if (t[i] == '{' || t[i] == '[') {
        int depth = 0;
        while (i < len) {
            char c = t[i];
            if (c == '"') {
                i = skip_string(t, len, i, &esc);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return len;
    }
    while (i < len && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\t' &&
           t[i] != '\n' && t[i] != '\r')
        i++;
    return i;
}

bool hl_json_member_span(const char *text, size_t len, const char *key, size_t *off,
                         size_t *vlen)
{
    size_t klen = strlen(key), i = skip_ws(text, len, 0);
    bool found = false;
    if (i >= len || text[i] != '{')
        return false;
    i = skip_ws(text, len, i + 1);
    while (i < len && text[i] == '"') {
        bool escaped = false;
        size_t name = i + 1, end = skip_string(text, len, i, &escaped);
        if (escaped)
            return false;
        i = skip_ws(text, len, end);
        if (i >= len || text[i] != ':')
            return false;
        i = skip_ws(text, len, i + 1);
        size_t v = i;
        i = skip_value(text, len, i);
        if (end - 1 - name == klen && memcmp(text + name, key, klen) == 0) {
            *off = v;
            *vlen = i - v;
            found = true;
        }
        i = skip_ws(text, len, i);
        if (i < len && text[i] == ',')
            i = skip_ws(text, len, i + 1);
    }
    return found;
}
