/* JSON text helpers (see hl/json.h). The depth check exists so that the gateway can refuse
 * a hostile, deeply nested body before jansson builds it and before the schema validator,
 * the matcher or json_dumps recurse through it. */
#include "hl/json.h"

#include <stdlib.h>
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

/* The decimal digits of an integer, as jansson prints JSON_INTEGER_FORMAT. */
static void add_int(struct hl_buf *b, json_int_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    /* Negate in unsigned arithmetic: INT64_MIN has no positive counterpart. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    hl_buf_add(b, tmp + i, sizeof(tmp) - i);
}

void hl_json_write(struct hl_buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        bool first = true;
        hl_buf_addch(b, '{');
        json_object_foreach ((json_t *)v, key, val) {
            if (!first)
                hl_buf_addch(b, ',');
            first = false;
            hl_buf_add_json_str(b, key, strlen(key));
            hl_buf_addch(b, ':');
            hl_json_write(b, val);
        }
        hl_buf_addch(b, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        hl_buf_addch(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                hl_buf_addch(b, ',');
            hl_json_write(b, json_array_get(v, i));
        }
        hl_buf_addch(b, ']');
        break;
    }
    case JSON_STRING:
        hl_buf_add_json_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        add_int(b, json_integer_value(v));
        break;
    case JSON_REAL: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s)
            abort();
        hl_buf_adds(b, s);
        free(s);
        break;
    }
    case JSON_TRUE:
        hl_buf_add(b, "true", 4);
        break;
    case JSON_FALSE:
        hl_buf_add(b, "false", 5);
        break;
    case JSON_NULL:
        hl_buf_add(b, "null", 4);
        break;
    }
}
