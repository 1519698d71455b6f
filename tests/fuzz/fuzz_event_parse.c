/* Fuzzes what a dispatcher does with every message of <prefix>.events: hl_event_parse,
 * then the delivery body each webhook gets (hl_envelope_body), whose bytes must be JSON
 * that parses back to an object carrying the same id. Anyone who can produce to the topic
 * controls these bytes. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hl_event ev;
    char err[256];
    if (hl_event_parse(data, size, &ev, err, sizeof(err)) == HL_OK) {
        struct hl_buf body = HL_BUF_INIT;
        hl_envelope_body(&ev, "0190a5b2-0000-7000-8000-000000000000", &body);
        json_error_t jerr;
        /* JSON_ALLOW_NUL: an event may carry \u0000, and the body escapes it again */
        json_t *back = json_loadb(body.ptr, body.len, JSON_ALLOW_NUL, &jerr);
        if (!back || !json_is_object(back) ||
            strcmp(json_string_value(json_object_get(back, "id")), ev.id) != 0)
            abort(); /* the body we would sign and send is not what we parsed */
        json_decref(back);
        hl_buf_release(&body);
        hl_event_release(&ev);
    }
    /* client-supplied ids go through this check at the gateway */
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    (void)hl_event_id_valid(s);
    free(s);
    return 0;
}
