/* Fuzzes the gateway's JSON depth pre-check against jansson: for text jansson parses, the
 * check must pass exactly when the parsed value nests no deeper than the limit (so it
 * neither lets deep documents through nor refuses legal ones). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "hl/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int depth(const json_t *v)
{
    int d = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            int dx = depth(x);
            d = dx > d ? dx : d;
        }
        return d + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            int dx = depth(x);
            d = dx > d ? dx : d;
        }
        return d + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        return 0;
    int d = depth(v);
    for (int max = 0; max <= 8; max++)
        if (hl_json_depth_ok((const char *)data, size, max) != (d <= max))
            abort();
    json_decref(v);
    return 0;
}
