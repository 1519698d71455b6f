/* Fuzzes JSON Schema validation of untrusted instances (event payloads posted to the
 * gateway) against fixed schemas: schemas/event.schema.json and one that exercises most
 * keywords (combinators, $ref, patterns, formats, uniqueItems, dependent*, if/then/else). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hl/jsonschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rich_schema[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
    "\"$defs\":{\"pos\":{\"type\":\"integer\",\"minimum\":0,\"multipleOf\":3},"
    "\"node\":{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#/$defs/node\"},"
    "\"v\":{\"$ref\":\"#/$defs/pos\"}}}},"
    "\"anyOf\":[{\"type\":\"object\",\"required\":[\"a\"],"
    "\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"^[a-z]+\\\\d{2,}$\","
    "\"maxLength\":20},\"d\":{\"format\":\"date-time\"},\"e\":{\"format\":\"email\"},"
    "\"u\":{\"format\":\"uri\"},\"ip\":{\"format\":\"ipv6\"},\"h\":{\"format\":\"hostname\"},"
    "\"n\":{\"$ref\":\"#/$defs/node\"}},"
    "\"patternProperties\":{\"^x-\":{\"type\":\"number\",\"exclusiveMaximum\":1e9}},"
    "\"additionalProperties\":{\"not\":{\"type\":\"null\"}},"
    "\"propertyNames\":{\"minLength\":1},\"dependentRequired\":{\"a\":[\"b\"]},"
    "\"dependentSchemas\":{\"c\":{\"required\":[\"d\"]}},\"maxProperties\":12},"
    "{\"type\":\"array\",\"prefixItems\":[{\"const\":1},{\"enum\":[\"x\",2,null]}],"
    "\"items\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]},"
    "\"contains\":{\"type\":\"number\"},\"minContains\":1,\"maxContains\":5,"
    "\"uniqueItems\":true,\"maxItems\":50},"
    "{\"if\":{\"type\":\"string\"},\"then\":{\"format\":\"uuid\"},"
    "\"else\":{\"allOf\":[{\"type\":\"number\"},{\"not\":{\"const\":0}}]}}]}";

static struct hl_schema *event_schema, *rich;

static struct hl_schema *compile_text(const char *text)
{
    char err[256];
    struct hl_schema *s = NULL;
    json_t *j = json_loads(text, 0, NULL);
    if (!j || hl_schema_compile(j, &s, err, sizeof(err)) != HL_OK) {
        fprintf(stderr, "fuzz_schema_validate: cannot compile the fixed schema: %s\n", err);
        abort();
    }
    json_decref(j);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!event_schema) {
        char err[256];
        if (hl_schema_compile_file(HL_SCHEMAS_DIR "/event.schema.json", &event_schema, err,
                                   sizeof(err)) != HL_OK) {
            fprintf(stderr, "fuzz_schema_validate: %s\n", err);
            abort();
        }
        rich = compile_text(rich_schema);
    }
    json_t *inst = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!inst)
        return 0;
    struct hl_schema_result res;
    hl_schema_result_init(&res, HL_SCHEMA_DEFAULT_MAX_ERRORS);
    const struct hl_schema *schemas[] = {event_schema, rich};
    for (size_t i = 0; i < 2; i++) {
        bool quick = hl_schema_validate(schemas[i], inst, NULL);
        bool full = hl_schema_validate(schemas[i], inst, &res);
        /* the fast path and the error-collecting path must agree */
        if (quick != full || (full && res.nerrors) || (!full && !res.nerrors))
            abort();
        json_decref(hl_schema_errors_to_json(&res));
    }
    hl_schema_result_release(&res);
    json_decref(inst);
    return 0;
}
