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

bool hl_json_members(const char *text, size_t len, const char *const *keys, size_t nkeys,
                     struct hl_json_span *spans)
{
    size_t i = skip_ws(text, len, 0);
    for (size_t k = 0; k < nkeys; k++)
        spans[k] = (struct hl_json_span){0, 0};
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
        size_t v = i, nlen = end - 1 - name;
        i = skip_value(text, len, i);
        for (size_t k = 0; k < nkeys; k++)
            if (strlen(keys[k]) == nlen && memcmp(text + name, keys[k], nlen) == 0)
                spans[k] = (struct hl_json_span){v, i - v};
        i = skip_ws(text, len, i);
        if (i < len && text[i] == ',')
            i = skip_ws(text, len, i + 1);
    }
    return true;
}

bool hl_json_member_span(const char *text, size_t len, const char *key, size_t *off,
                         size_t *vlen)
{
    struct hl_json_span sp;
    if (!hl_json_members(text, len, &key, 1, &sp) || !sp.len)
        return false;
    *off = sp.off;
    *vlen = sp.len;
    return true;
}
