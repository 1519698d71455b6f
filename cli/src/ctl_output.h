/* Human-readable output: aligned tables for lists, "field  value" lines for one object.
 * (`--format json` bypasses this module: the API's JSON is written unchanged.) */
#ifndef CTL_OUTPUT_H
#define CTL_OUTPUT_H

#include <jansson.h>
#include <stdio.h>

/* A table column: its title and the member it shows ("status", or "verification.type"
 * for a nested one). */
struct ctl_col {
    const char *title;
    const char *field;
};

/* The text of one value (malloc'd): strings as they are, null and "" as "-", arrays of strings
 * joined by ",", other arrays and objects as compact JSON. */
char *ctl_cell(const json_t *v);
/* The member at a dotted path, or NULL. */
json_t *ctl_field(const json_t *obj, const char *path);

/* Prints items (an array of objects) as a table with a header line; cols ends with a NULL
 * title. No rows prints the header only. */
void ctl_print_table(FILE *f, const json_t *items, const struct ctl_col *cols);
/* Prints every member of obj on its own line, names aligned, except those in `skip`
 * (NULL-terminated, may be NULL). */
void ctl_print_object(FILE *f, const json_t *obj, const char *const *skip);

#endif
