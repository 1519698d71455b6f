/* The helpers every command uses: one request with its status checked, printing an answer
 * (table or the API's JSON unchanged), the cursor-paging loop, confirmation prompts, and
 * turning options into request-body members. */
#include "ctl_cmds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl/banned.h"

int ctl_call(struct ctl_ctx *x, const char *method, const char *path, const json_t *body,
             struct ctl_resp *r)
{
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
            abort();
    }
    int rc = ctl_http(&x->conn, method, path, text, r);
    if (text) {
        explicit_bzero(text, strlen(text)); /* may hold credentials */
        free(text);
    }
    if (rc != CTL_EXIT_OK)
        return rc;
    if (r->status < 200 || r->status > 299) {
        rc = ctl_problem(r);
        ctl_resp_release(r);
        return rc;
    }
    return CTL_EXIT_OK;
}

void ctl_show(struct ctl_ctx *x, const struct ctl_resp *r, const char *const *skip)
{
    if (x->json) {
        fwrite(r->body, 1, r->len, stdout);
        if (r->len && r->body[r->len - 1] != '\n')
            fputc('\n', stdout);
    } else if (json_is_object(r->json)) {
        ctl_print_object(stdout, r->json, skip);
    } else if (r->len) {
        fwrite(r->body, 1, r->len, stdout);
        fputc('\n', stdout);
    }
}

int ctl_simple(struct ctl_ctx *x, const char *method, const char *path, const json_t *body,
               const char *done)
{
    struct ctl_resp r;
    int rc = ctl_call(x, method, path, body, &r);
    if (rc)
        return rc;
    if (r.status == 204 || !r.len) {
        if (!x->json && done)
            printf("%s\n", done);
    } else {
        ctl_show(x, &r, NULL);
    }
    ctl_resp_release(&r);
    return CTL_EXIT_OK;
}

#define MAX_PAGE 250

int ctl_list(struct ctl_ctx *x, struct ctl_path *p, const struct ctl_col *cols, ctl_keep_fn keep)
{
    const struct ctl_args *a = x->args;
    bool all = ctl_arg_flag(a, "all");
    long long want = all ? -1 : ctl_arg_int(a, "limit", 50);
    long long page = ctl_arg_int(a, "page-size", want > 0 && want < MAX_PAGE ? want : MAX_PAGE);
    if (want == 0) {
        fprintf(stderr, "hooklinectl: --limit must be at least 1\n");
        return CTL_EXIT_USAGE;
    }
    if (page < 1 || page > MAX_PAGE) {
        fprintf(stderr, "hooklinectl: --page-size must be 1..%d\n", MAX_PAGE);
        return CTL_EXIT_USAGE;
    }
    char *cursor = a && ctl_arg(a, "cursor") ? strdup(ctl_arg(a, "cursor")) : NULL;
    json_t *rows = json_array();
    long long got = 0;
    int rc = CTL_EXIT_OK;
    const char *base = ctl_path_str(p);

    for (;;) {
        long long n = want < 0 || want - got > page ? page : want - got;
        char limit[24];
        snprintf(limit, sizeof(limit), "%lld", n);
        struct ctl_path q;
        ctl_path_init(&q, base);
        q.has_query = strchr(base, '?') != NULL;
        ctl_path_param(&q, "limit", limit);
        ctl_path_param(&q, "cursor", cursor);
        struct ctl_resp r;
        rc = ctl_call(x, "GET", ctl_path_str(&q), NULL, &r);
        ctl_path_release(&q);
        if (rc)
            break;
        json_t *data = json_object_get(r.json, "data");
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        if (!json_is_array(data)) {
            fprintf(stderr, "hooklinectl: unexpected answer (no data array)\n");
            ctl_resp_release(&r);
            rc = CTL_EXIT_API;
            break;
        }
        size_t i, counted = json_array_size(data);
        json_t *item;
        if (keep) {
            /* Filtered client-side: the JSON is the kept items, one page at a time. */
            json_t *kept = json_array();
            json_array_foreach(data, i, item) if (keep(item)) json_array_append(kept, item);
            if (x->json) {
                json_t *doc = json_pack("{s:O, s:o}", "data", kept, "next_cursor",
                                        next ? json_string(next) : json_null());
                json_dumpf(doc, stdout, JSON_COMPACT);
                fputc('\n', stdout);
                json_decref(doc);
            }
            json_array_extend(rows, kept);
            counted = json_array_size(kept); /* --limit counts what is shown */
            json_decref(kept);
        } else if (x->json) {
            fwrite(r.body, 1, r.len, stdout);
            if (r.len && r.body[r.len - 1] != '\n')
                fputc('\n', stdout);
        } else {
            json_array_extend(rows, data);
        }
        size_t count = json_array_size(data);
        got += (long long)counted;
        free(cursor);
        cursor = next ? strdup(next) : NULL;
        ctl_resp_release(&r); /* data and next are gone from here on */
        if (!cursor || count == 0 || (want >= 0 && got >= want))
            break;
    }
    if (rc == CTL_EXIT_OK && !x->json) {
        ctl_print_table(stdout, rows, cols);
        if (cursor)
            fprintf(stderr, "(more: --cursor %s, or --all)\n", cursor);
    }
    json_decref(rows);
    free(cursor);
    return rc;
}

int ctl_list_unpaged(struct ctl_ctx *x, const char *path, const struct ctl_col *cols)
{
    struct ctl_resp r;
    int rc = ctl_call(x, "GET", path, NULL, &r);
    if (rc)
        return rc;
    if (x->json)
        ctl_show(x, &r, NULL);
    else
        ctl_print_table(stdout, json_object_get(r.json, "data"), cols);
    ctl_resp_release(&r);
    return CTL_EXIT_OK;
}

bool ctl_confirm(const char *question)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
        return true;
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    char line[16];
    if (!fgets(line, sizeof(line), stdin))
        return false;
    return line[0] == 'y' || line[0] == 'Y';
}

/* The table entry of option `name` of the current command. */
static const struct ctl_opt *opt_of(const struct ctl_command *c, const char *name)
{
    for (const struct ctl_opt *o = c->opts; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

void ctl_body_opt(struct ctl_ctx *x, json_t *body, const char *field, const char *opt)
{
    const char *v = ctl_arg(x->args, opt);
    if (!v)
        return;
    const struct ctl_opt *o = opt_of(x->args->cmd, opt);
    json_t *j;
    switch (o ? o->type : CTL_OPT_STRING) {
    case CTL_OPT_JSON:
        j = json_loads(v, JSON_DECODE_ANY, NULL); /* checked by the parser */
        break;
    case CTL_OPT_INT:
        j = json_integer(strtoll(v, NULL, 10));
        break;
    case CTL_OPT_FLAG:
        j = json_true();
        break;
    case CTL_OPT_ENUM:
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
            j = json_boolean(strcmp(v, "true") == 0);
            break;
        }
        /* fall through */
    default:
        j = json_string(v);
        break;
    }
    json_object_set_new(body, field, j);
}
