/* Compiled payload schemas of incoming-webhook sources (gw_source_schemas.c), cached per
 * (id, version) in a bounded table; version is the row's updated_at, so an update anywhere
 * takes effect at the next request. @locks its own mutex, held briefly; any thread.
 * _get returns a reference (compiling `schema` on a miss) that the caller gives back with
 * _put; _compiled is NULL when the schema does not compile (logged once per version; not
 * enforced). _forget drops a source's entry (after its update or delete); entries in use
 * stay valid until put. */
#ifndef GW_SOURCE_SCHEMAS_H
#define GW_SOURCE_SCHEMAS_H

#include <jansson.h>
#include <stddef.h>

struct gw_source_schema;
struct hl_schema;
struct gw_source_schema *gw_source_schema_get(const char *id, const char *version,
                                              const json_t *schema);
const struct hl_schema *gw_source_schema_compiled(const struct gw_source_schema *e);
void gw_source_schema_put(struct gw_source_schema *e);
void gw_source_schema_forget(const char *id);
void gw_source_schemas_clear(void);
size_t gw_source_schemas_cached(void); /* entries in the table, for tests */

#endif
