/* Fuzzes JSON Schema compilation: tenants upload payload schemas for their event types, so
 * the compiler sees hostile documents ($ref cycles, odd regexes, huge numbers). A schema
 * that compiles is then used to validate a few instances, itself included. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "hl/jsonschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *schema = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!schema)
        return 0;
    char err[256];
    struct hl_schema *s = NULL;
    if (hl_schema_compile(schema, &s, err, sizeof(err)) == HL_OK) {
        json_t *instances[] = {
            json_pack("{s:i, s:[s, n, f], s:{s:b}}", "a", 1, "b", "x", 2.5, "c", "d", 1),
            json_string("2024-01-01T00:00:00Z"),
            json_integer(-7),
            json_incref(schema),
        };
        struct hl_schema_result res;
        hl_schema_result_init(&res, 4);
        for (size_t i = 0; i < sizeof(instances) / sizeof(instances[0]); i++) {
            (void)hl_schema_validate(s, instances[i], &res);
            json_decref(instances[i]);
        }
        hl_schema_result_release(&res);
        hl_schema_free(s);
    } else if (s) {
        abort(); /* failure must leave *out NULL */
    }
    json_decref(schema);
    return 0;
}
