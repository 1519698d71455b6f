/* Differential fuzzing of hl_json_valid against jansson: the dispatcher passes task and
 * event texts on (into delivery bodies, attempt records, PostgreSQL) after hl_json_valid
 * alone, so it must accept nothing jansson refuses, but numbers beyond int64 or double
 * (which jansson refuses and PostgreSQL's jsonb keeps), and refuse nothing jansson
 * accepts. hl_json_valid_members must agree with hl_json_valid then hl_json_members, the
 * spans included. Then hl_event_read on what passed must give a body that parses back. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl/envelope.h"
#include "hl/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    const char *text = (const char *)data;
    json_t *j = json_loadb(text, size, JSON_DECODE_ANY, &jerr);
    bool valid = hl_json_valid(text, size);
    if (j && !valid && !memchr(data, '\0', size))
        abort(); /* refused what jansson accepts (it takes a NUL byte for the end) */
    if (!j && valid && !strstr(jerr.text, "too big") && !strstr(jerr.text, "overflow"))
        abort(); /* accepted what jansson refuses */
    json_decref(j);
    static const char *const keys[] = {"id", "type", "data", "a", "", "idx"};
    enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };
    struct hl_json_span both[NKEYS], apart[NKEYS];
    bool one = hl_json_valid_members(text, size, keys, NKEYS, both);
    if (one != (valid && hl_json_members(text, size, keys, NKEYS, apart)))
        abort();
    if (one && memcmp(both, apart, sizeof(both)) != 0)
        abort(); /* a member found elsewhere than where hl_json_members finds it */
    struct hl_event ev;
    char err[256];
    if (valid && hl_event_read(text, size, &ev, err, sizeof(err)) == HL_OK) {
        struct hl_buf body = HL_BUF_INIT;
        hl_envelope_body(&ev, "0190a5b2-0000-7000-8000-000000000000", &body);
        json_t *back = json_loadb(body.ptr, body.len, 0, &jerr);
        if (!back && !strstr(jerr.text, "too big") && !strstr(jerr.text, "overflow"))
            abort(); /* the body we would sign and send is not JSON */
        if (back && strcmp(json_string_value(json_object_get(back, "id")), ev.id) != 0)
            abort();
        json_decref(back);
        hl_buf_release(&body);
        hl_event_release(&ev);
    }
    return 0;
}
