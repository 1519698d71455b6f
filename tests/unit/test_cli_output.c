/* hooklinectl's table output: one word per cell, aligned columns, nested members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_output.h"

static char *table(const char *items_json, const struct ctl_col *cols)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    json_t *items = json_loads(items_json, 0, NULL);
    assert_non_null(items);
    ctl_print_table(f, items, cols);
    fclose(f);
    json_decref(items);
    return out;
}

static void test_cells(void **state)
{
    json_t *v = json_loads("[null, \"\", \"a b\", [\"x\",\"y\"], [], [1,2], {\"k\":1}, 3, true]",
                           0, NULL);
    const char *want[] = {"-", "-", "a b", "x,y", "-", "[1,2]", "{\"k\":1}", "3", "true"};
    for (size_t i = 0; i < json_array_size(v); i++) {
        char *c = ctl_cell(json_array_get(v, i));
        assert_string_equal(c, want[i]);
        free(c);
    }
    json_decref(v);
}

static void test_table_aligns_and_reads_nested_members(void **state)
{
    static const struct ctl_col cols[] = {
        {"ID", "id"}, {"TYPE", "verification.type"}, {"NAME", "name"}, {NULL, NULL}};
    char *out = table("[{\"id\":\"1\",\"verification\":{\"type\":\"github\"},\"name\":\"gh\"},"
                      "{\"id\":\"22222\",\"name\":\"two\\nlines\"}]",
                      cols);
    assert_string_equal(out, "ID     TYPE    NAME\n"
                             "1      github  gh\n"
                             "22222  -       two lines\n");
    free(out);
    out = table("[]", cols);
    assert_string_equal(out, "ID  TYPE  NAME\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_table_aligns_and_reads_nested_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
