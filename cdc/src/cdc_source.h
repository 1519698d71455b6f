/* A table source as the worker uses it: which tables, which operations, which columns, the
 * event-name pattern, and the names of its publication and slot. Parsed from the row the
 * gateway stored (already validated against schemas/api/table-source.schema.json; parsed
 * again defensively, since the row is input to this process). Pure. */
#ifndef CDC_SOURCE_H
#define CDC_SOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/err.h"

typedef enum { CDC_OP_INSERT = 0, CDC_OP_UPDATE = 1, CDC_OP_DELETE = 2 } cdc_op;

struct cdc_table_rule {
    char *schema, *table;
    bool ops[3];      /* by cdc_op */
    json_t *include;  /* array of column names, or NULL: all */
    json_t *exclude;  /* array of column names, or NULL: none */
};

/* "hookline_" + the id's 32 hex digits: a valid slot and publication name (lower case,
 * digits, '_'; at most 63 bytes). */
#define CDC_SLOT_NAME_LEN 42

struct cdc_source {
    char id[37];
    char tenant[65];
    char *event_name; /* pattern with {schema}, {table}, {action} */
    struct cdc_table_rule *rules;
    size_t nrules;
    char slot[CDC_SLOT_NAME_LEN];
    uint64_t last_confirmed; /* the LSN last reported confirmed (0: never streamed): a slot
                                missing then was lost, e.g. in a fail-over */
};

/* Fills s from the stored columns (tables: the JSON array). HL_EINVAL with a reason. */
hl_err cdc_source_init(struct cdc_source *s, const char *id, const char *tenant,
                       const char *tables_json, const char *event_name, char *errbuf,
                       size_t errlen);
void cdc_source_release(struct cdc_source *s);
void cdc_slot_name(const char *id, char out[CDC_SLOT_NAME_LEN]);

/* The rule for schema.table, NULL when the table is not configured. */
const struct cdc_table_rule *cdc_source_rule(const struct cdc_source *s, const char *schema,
                                             const char *table);
/* Whether column `name` goes into events under rule r. */
bool cdc_rule_keeps(const struct cdc_table_rule *r, const char *name);
/* The event type for an operation on schema.table: the pattern with {schema}, {table} and
 * {action} (created, updated, deleted) replaced. Malloc'd. */
char *cdc_event_name(const char *pattern, const char *schema, const char *table, cdc_op op);
/* "insert", "update", "delete" */
const char *cdc_op_name(cdc_op op);

#endif
