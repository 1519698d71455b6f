/* Fuzzes payload-filter compilation: a webhook's filter comes from a tenant, so the compiler
 * sees hostile documents (deep nesting, odd pointers, huge arrays). A filter that compiles
 * is then evaluated against a few envelopes, itself included; one that does not must name
 * where it failed and leave *out NULL. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "hl/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *spec = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!spec)
        return 0;
    char where[512], err[256];
    struct hl_filter *f = NULL;
    if (hl_filter_compile(spec, &f, where, sizeof(where), err, sizeof(err)) == HL_OK) {
        json_t *events[] = {
            json_pack("{s:s, s:s, s:{s:i, s:[s, n, f], s:{s:b}}}", "event", "order.created",
                      "tenant", "t1", "data", "a", 1, "b", "x", 2.5, "c", "d", 1),
            json_string("x"),
            json_incref(spec),
        };
        for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
            (void)hl_filter_match(f, events[i]);
            json_decref(events[i]);
        }
        hl_filter_free(f);
    } else if (f) {
        abort();
    }
    json_decref(spec);
    return 0;
}
