/* Tables and key/value listings for a terminal (see ctl_output.h). */
#include "ctl_output.h"

#include <stdlib.h>
#include <string.h>

#include "hl/banned.h"

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

char *ctl_cell(const json_t *v)
{
    char *s = NULL;
    /* "-" for nothing, so that every cell of a table is a word (awk-friendly). */
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
        return xstrdup("-");
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_array(v)) {
        size_t i, len = 0;
        json_t *x;
        int all_strings = 1;
        json_array_foreach(v, i, x) all_strings &= json_is_string(x);
        if (all_strings) {
            FILE *m = open_memstream(&s, &len);
            if (!m)
                abort();
            json_array_foreach(v, i, x) fprintf(m, "%s%s", i ? "," : "", json_string_value(x));
            fclose(m);
            return json_array_size(v) ? s : (free(s), xstrdup("-"));
        }
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
    if (!s)
        abort();
    return s;
}

json_t *ctl_field(const json_t *obj, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!dot)
        return json_object_get(obj, path);
    char head[64];
    snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
    return ctl_field(json_object_get(obj, head), dot + 1);
}

/* Display width of a UTF-8 string: code points, which is close enough for ids, names and
 * timestamps. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

void ctl_print_table(FILE *f, const json_t *items, const struct ctl_col *cols)
{
    size_t ncols = 0, nrows = json_array_size(items);
    while (cols[ncols].title)
        ncols++;
    char **cells = calloc((nrows + 1) * ncols, sizeof(char *));
    size_t *w = calloc(ncols, sizeof(size_t));
    if (!cells || !w)
        abort();
    for (size_t c = 0; c < ncols; c++) {
        cells[c] = xstrdup(cols[c].title);
        w[c] = width(cells[c]);
    }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            char *cell = ctl_cell(ctl_field(json_array_get(items, r), cols[c].field));
            /* One row per item: line breaks in a value would break the table. */
            for (char *p = cell; *p; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t')
                    *p = ' ';
            cells[(r + 1) * ncols + c] = cell;
            if (width(cell) > w[c])
                w[c] = width(cell);
        }
    }
    for (size_t r = 0; r <= nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *cell = cells[r * ncols + c];
            if (c + 1 < ncols)
                fprintf(f, "%s%*s  ", cell, (int)(w[c] - width(cell)), "");
            else
                fprintf(f, "%s\n", cell);
        }
    }
    for (size_t i = 0; i < (nrows + 1) * ncols; i++)
        free(cells[i]);
    free(cells);
    free(w);
}

static int skipped(const char *name, const char *const *skip)
{
    for (; skip && *skip; skip++)
        if (strcmp(*skip, name) == 0)
            return 1;
    return 0;
}

void ctl_print_object(FILE *f, const json_t *obj, const char *const *skip)
{
    size_t w = 0;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)obj, name, v) {
        if (!skipped(name, skip) && strlen(name) > w)
            w = strlen(name);
    }
    json_object_foreach((json_t *)obj, name, v) {
        if (skipped(name, skip))
            continue;
        char *cell = ctl_cell(v);
        fprintf(f, "%-*s  %s\n", (int)w, name, cell);
        free(cell);
    }
}
