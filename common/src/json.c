/* JSON text helpers (see hl/json.h). The depth check exists so that the gateway can refuse
 * a hostile, deeply nested body before jansson builds it and before the schema validator,
 * the matcher or json_dumps recurse through it. */
#include "hl/json.h"
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
