/* Runs the official JSON-Schema-Test-Suite (draft 2020-12) against hl/jsonschema.h.
 *
 * Usage: jsonschema_suite <draft2020-12 tests dir>. Every top-level keyword file runs, plus
 * optional/format/ for the formats Hookline asserts and the optional files on ECMA-262
 * regular expressions (event-type schemas promise ECMA-262 patterns). A test group whose
 * schema is refused as unsupported (HL_SCHEMA_EUNSUPPORTED: a refused keyword, a remote
 * $ref, another draft's $schema) counts as skipped; anything else that does not give the
 * suite's expected verdict is a failure, and one failure fails the run. Each instance is
 * validated twice, on the fast yes/no path and collecting errors, and both must agree. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hl/jsonschema.h"
#include "hl/mem.h"
#include "hl/banned.h"

static const char *const formats[] = {"date-time", "date",  "time", "email",   "uri",
                                      "uuid",      "ipv4",  "ipv6", "hostname"};
static const char *const optional[] = {"ecmascript-regex", "non-bmp-regex"};

struct totals {
    int passed, failed, skipped;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_file(const char *path, const char *label, struct totals *all)
{
    struct totals t = {0, 0, 0};
    char reason[600] = "";
    json_error_t jerr;
    json_t *groups = json_load_file(path, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!json_is_array(groups)) {
        printf("%-44s FAILED: cannot load: %s\n", label, jerr.text);
        all->failed++;
        json_decref(groups);
        return;
    }
    size_t gi;
    json_t *g;
    json_array_foreach(groups, gi, g) {
        const char *gdesc = json_string_value(json_object_get(g, "description"));
        json_t *tests = json_object_get(g, "tests");
        int ntests = (int)json_array_size(tests);
        char err[512];
        struct hl_schema *schema;
        hl_err rc = hl_schema_compile(json_object_get(g, "schema"), &schema, err, sizeof(err));
        if (rc == HL_SCHEMA_EUNSUPPORTED) {
            t.skipped += ntests;
            if (!reason[0])
                snprintf(reason, sizeof(reason), "%s", err);
            continue;
        }
        if (rc != HL_OK) {
            printf("  FAIL %s / %s: schema does not compile: %s\n", label, gdesc, err);
            t.failed += ntests;
            continue;
        }
        size_t ti;
        json_t *test;
        json_array_foreach(tests, ti, test) {
            bool want = json_is_true(json_object_get(test, "valid"));
            json_t *data = json_object_get(test, "data");
            struct hl_schema_result res;
            hl_schema_result_init(&res, 8);
            bool fast = hl_schema_validate(schema, data, NULL);
            bool full = hl_schema_validate(schema, data, &res);
            bool consistent = fast == full && (full == (res.nerrors == 0));
            if (fast == want && consistent) {
                t.passed++;
            } else {
                t.failed++;
                char *d = json_dumps(data, JSON_ENCODE_ANY | JSON_COMPACT);
                printf("  FAIL %s / %s / %s: expected %s, got %s (collecting: %s, %zu "
                       "errors) data=%s\n",
                       label, gdesc, json_string_value(json_object_get(test, "description")),
                       want ? "valid" : "invalid", fast ? "valid" : "invalid",
                       full ? "valid" : "invalid", res.nerrors, d ? d : "?");
                free(d);
            }
            hl_schema_result_release(&res);
        }
        hl_schema_free(schema);
    }
    json_decref(groups);
    if (t.passed == 0 && t.failed == 0)
        printf("%-44s SKIPPED %3d (%s)\n", label, t.skipped, reason);
    else
        printf("%-44s passed %3d  failed %d  skipped %d%s%s%s\n", label, t.passed, t.failed,
               t.skipped, t.skipped ? " (" : "", t.skipped ? reason : "",
               t.skipped ? ")" : "");
    all->passed += t.passed;
    all->failed += t.failed;
    all->skipped += t.skipped;
}

int main(int argc, char **argv)
{
    struct stat st;
    if (argc < 2 || !argv[1][0] || stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                "jsonschema_suite: JSON-Schema-Test-Suite draft2020-12 folder not found "
                "('%s'); install it with scripts/install-deps (Debian package "
                "libtest-json-schema-acceptance-perl) and re-run cmake\n",
                argc > 1 ? argv[1] : "");
        return 1;
    }
    const char *dir = argv[1];
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "jsonschema_suite: cannot open '%s'\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            names = hl_xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = hl_xstrdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    struct totals all = {0, 0, 0};
    char path[4096], label[256];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        run_file(path, names[i], &all);
        free(names[i]);
    }
    free(names);
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        snprintf(path, sizeof(path), "%s/optional/format/%s.json", dir, formats[i]);
        snprintf(label, sizeof(label), "optional/format/%s.json", formats[i]);
        run_file(path, label, &all);
    }
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        snprintf(path, sizeof(path), "%s/optional/%s.json", dir, optional[i]);
        snprintf(label, sizeof(label), "optional/%s.json", optional[i]);
        run_file(path, label, &all);
    }
    if (all.passed == 0) {
        printf("no test ran: is '%s' the draft2020-12 folder?\n", dir);
        return 1;
    }
    printf("%d passed, %d failed, %d skipped\n", all.passed, all.failed, all.skipped);
    return all.failed ? 1 : 0;
}
