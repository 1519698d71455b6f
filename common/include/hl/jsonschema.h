/* JSON Schema (draft 2020-12) validation: the gateway checks event payloads against a
 * tenant's schema and answers problem+json with one entry per violation.
 *
 * A schema is compiled once into an immutable struct hl_schema, which any number of threads
 * may then validate against at the same time. Compilation REFUSES every keyword this module
 * does not implement (HL_SCHEMA_EUNSUPPORTED, naming the keyword and its schema pointer)
 * instead of ignoring it: a schema that silently validated less than its author wrote would
 * let bad events through. Only annotation keywords ($schema, $id, $comment, title,
 * description, default, examples, deprecated, readOnly, writeOnly, contentMediaType,
 * contentEncoding, contentSchema) are accepted without effect.
 *
 * Implemented: type enum const required properties patternProperties additionalProperties
 * propertyNames minProperties maxProperties dependentRequired dependentSchemas items
 * prefixItems contains minContains maxContains minItems maxItems uniqueItems minLength
 * maxLength pattern minimum maximum exclusiveMinimum exclusiveMaximum multipleOf format
 * allOf anyOf oneOf not if/then/else $ref $defs $id $anchor.
 * Formats, asserted: date-time date time email uri uuid ipv4 ipv6 hostname; any other
 * format name is refused.
 * Refused: unevaluatedProperties unevaluatedItems $dynamicRef $dynamicAnchor $vocabulary
 * and anything unknown; $ref to a document other than the one compiled (no remote
 * fetching); a $schema other than draft 2020-12; $ref cycles that never descend into the
 * instance (they would recurse forever). Regexes are ECMA-262-like through PCRE2 (UTF,
 * \uXXXX escapes, $ only at the very end). */
#ifndef HL_JSONSCHEMA_H
#define HL_JSONSCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl/err.h"

/* Returned by compilation for a schema that is well formed but uses something this module
 * does not implement. Callers that only distinguish success from failure may treat it as
 * HL_EINVAL: either way the client's schema is not accepted. */
#define HL_SCHEMA_EUNSUPPORTED (-32)

/* Validation gives up (invalid, keyword "$ref") past this many nested subschema
 * evaluations, so that a hostile, deeply nested instance cannot exhaust the stack. */
#define HL_SCHEMA_MAX_DEPTH 1000

#define HL_SCHEMA_DEFAULT_MAX_ERRORS 16

struct hl_schema;

struct hl_schema_error {
    char *pointer;       /* RFC 6901 pointer into the instance ("" is the whole document) */
    const char *keyword; /* the failing keyword, static storage */
    char *detail;        /* human message, lower case, no trailing period */
};

/* Filled by hl_schema_validate. Set it up with hl_schema_result_init, reuse it across
 * validations (each clears the previous errors), free it with hl_schema_result_release. */
struct hl_schema_result {
    size_t max_errors; /* collection stops after this many */
    size_t nerrors;
    struct hl_schema_error *errors;
    bool truncated; /* there were more errors than max_errors */
};

/* Compiles `schema` (not retained: the compiled form holds its own copy). On success *out
 * owns a schema to release with hl_schema_free. On failure *out is NULL, errbuf names the
 * offending keyword and its schema pointer, and the result is HL_SCHEMA_EUNSUPPORTED for
 * refused features or HL_EINVAL for malformed schemas. */
hl_err hl_schema_compile(const json_t *schema, struct hl_schema **out, char *errbuf,
                         size_t errlen);
/* Same, reading the schema from a JSON file (HL_EIO when it cannot be read or parsed). */
hl_err hl_schema_compile_file(const char *path, struct hl_schema **out, char *errbuf,
                              size_t errlen);
void hl_schema_free(struct hl_schema *schema);

/* True when `instance` is valid. With res NULL it stops at the first violation (the fast
 * yes/no path); otherwise res receives up to res->max_errors errors in instance order.
 * @locality any thread, concurrently on one schema; res must not be shared. */
bool hl_schema_validate(const struct hl_schema *schema, const json_t *instance,
                        struct hl_schema_result *res);

void hl_schema_result_init(struct hl_schema_result *res, size_t max_errors);
void hl_schema_result_release(struct hl_schema_result *res);

/* The errors as the problem+json `errors` member: a new array (caller owns the reference)
 * of {"pointer": "/a/0", "keyword": "type", "detail": "must be string"}. */
json_t *hl_schema_errors_to_json(const struct hl_schema_result *res);
/* The same entries appended to arr, each pointer prefixed with prefix ("" for none; a
 * request body's "/data" or a batch item's "/events/3/data"). */
void hl_schema_errors_append(json_t *arr, const struct hl_schema_result *res,
                             const char *prefix);

/* A format checker: true when the len bytes at s are valid in that format. */
typedef bool (*hl_schema_format_fn)(const char *s, size_t len);
/* The checker for a format name, or NULL when the format is not supported. Usable on its
 * own, e.g. hl_schema_format_find("uuid")(s, strlen(s)). */
hl_schema_format_fn hl_schema_format_find(const char *name);

#endif
