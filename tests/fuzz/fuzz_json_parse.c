/* Differential fuzzing of the fast JSON paths against jansson: hl_json_parse must either
 * give up (NULL) or build exactly the tree json_loadb builds, and never accept what jansson
 * refuses; hl_json_write must write the bytes json_dumps writes for every tree jansson
 * parses. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_bytes(const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    struct hl_buf b = HL_BUF_INIT;
    hl_json_write(&b, v);
    if (!want || b.len != strlen(want) || memcmp(b.ptr, want, b.len) != 0)
        abort();
    free(want);
    hl_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_t *fast = hl_json_parse(text, size, 64);
    if (!hl_json_depth_ok(text, size, 64)) { /* deeper than the bound: never a tree */
        if (fast)
            abort();
        return 0;
    }
    json_t *ref = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
    if (fast && (!ref || !json_equal(fast, ref)))
        abort();
    if (ref)
        same_bytes(ref);
    json_decref(fast);
    json_decref(ref);
    return 0;
}
