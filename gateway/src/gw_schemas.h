/* Request-body schemas from schemas/api (gw_schemas.c), loaded once before serving;
 * read-only afterwards, so any thread may check against them. */
#ifndef GW_SCHEMAS_H
#define GW_SCHEMAS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl/err.h"

struct gw_errors;
struct gw_req;

hl_err gw_schemas_load(const char *dir, char *errbuf, size_t errlen);
void gw_schemas_free(void);
/* Validates instance against schemas/api/<name>.schema.json, appending errors (pointers
 * prefixed with pointer_prefix) to e. */
bool gw_schema_check(const char *name, const json_t *instance, const char *pointer_prefix,
                     struct gw_errors *e);
/* 0 when body is valid; else replies 400 with one errors[] entry per violation. A valid
 * management body (not an event's) has its integral reals (5.0) made integers: JSON Schema
 * counts them as integers, and so must the C and SQL after it. */
int gw_validate(struct gw_req *r, const char *name, json_t *body, const char *what);
/* The "schema" member of body (event types, sources), when present and not null, must
 * compile with hl_schema_compile: returns 0, or the status of the 422 sent. */
int gw_check_payload_schema(struct gw_req *r, const json_t *body);

#endif
