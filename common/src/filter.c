/* Payload filters (see hl/filter.h).
 *
 * Compiling does everything that does not depend on the event: the pointer is split into
 * unescaped tokens (each with its array index, if it can be one), the operator becomes an
 * enum, a numeric operand a double. Evaluating is then a walk of json_object_getn lookups
 * per condition against the tree the dispatcher parsed once per event: with 10,000
 * webhooks on one event, the per-webhook cost stays a few hash lookups. Nodes live in one
 * array in pre-order; a group's children are the nodes that follow it (child, then the
 * child's own subtree), so a group records where its subtree ends. */
#include "hl/filter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/jsonptr.h"
#include "hl/mem.h"
#include "hl/banned.h"

typedef enum {
    OP_ALL,
    OP_ANY,
    OP_EQ,
    OP_NE,
    OP_IN,
    OP_EXISTS,
    OP_LT,
    OP_LTE,
    OP_GT,
    OP_GTE,
    OP_PREFIX,
} filter_op;

static const struct {
    const char *name;
    filter_op op;
} op_names[] = {
    {"eq", OP_EQ}, {"ne", OP_NE},   {"in", OP_IN},   {"exists", OP_EXISTS}, {"lt", OP_LT},
    {"lte", OP_LTE}, {"gt", OP_GT}, {"gte", OP_GTE}, {"prefix", OP_PREFIX},
};

struct token {
    char *name;
    size_t len;
    long index; /* as an array index; -1 when it cannot be one */
};

struct node {
    filter_op op;
    size_t end; /* groups: index one past the last node of the subtree */
    struct token *toks;
    size_t ntoks;
    json_t *value; /* eq, ne, in: the operand (own reference) */
    double num;    /* lt..gte */
    bool want;     /* exists */
    char *prefix;  /* prefix */
    size_t prefix_len;
};

struct hl_filter {
    struct node *nodes;
    size_t n;
};

struct compiler {
    struct hl_filter *f;
    char *where;
    size_t wherelen;
    char *errbuf;
    size_t errlen;
};

/* The path of a part inside the filter; a longer one (deeper than the limits allow) is cut,
 * which only shortens an error message. */
static void subpath(char *sub, size_t cap, const char *where, const char *seg)
{
    size_t a = strnlen(where, cap - 1);
    memcpy(sub, where, a);
    size_t b = a < cap - 1 ? 1 : 0;
    sub[a] = '/';
    size_t c = strnlen(seg, cap - 1 - a - b);
    memcpy(sub + a + b, seg, c);
    sub[a + b + c] = '\0';
}

static hl_err fail(struct compiler *c, const char *where, const char *why)
{
    snprintf(c->where, c->wherelen, "%s", where);
    snprintf(c->errbuf, c->errlen, "%s", why);
    return HL_EINVAL;
}

static struct node *push(struct compiler *c)
{
    struct node *n = &c->f->nodes[c->f->n++];
    memset(n, 0, sizeof(*n));
    return n;
}

static void split_pointer(struct node *n, const char *ptr)
{
    size_t cap = 1;
    for (const char *p = ptr; *p; p++)
        cap += *p == '/';
    n->toks = hl_xcalloc(cap, sizeof(*n->toks));
    const char *p = ptr;
    while (*p == '/') {
        p++;
        size_t len = strcspn(p, "/");
        struct token *t = &n->toks[n->ntoks++];
        t->name = hl_xmalloc(len + 1);
        size_t k = 0;
        for (size_t i = 0; i < len; i++) {
            if (p[i] == '~') {
                t->name[k++] = p[i + 1] == '1' ? '/' : '~';
                i++;
            } else {
                t->name[k++] = p[i];
            }
        }
        t->name[k] = '\0';
        t->len = k;
        t->index = -1;
        if (k > 0 && k <= 9 && (k == 1 || t->name[0] != '0')) {
            long v = 0;
            size_t i = 0;
            for (; i < k && t->name[i] >= '0' && t->name[i] <= '9'; i++)
                v = v * 10 + (t->name[i] - '0');
            if (i == k)
                t->index = v;
        }
        p += len;
    }
}

static hl_err compile_node(struct compiler *c, json_t *spec, const char *where, int depth);

static hl_err compile_group(struct compiler *c, json_t *list, filter_op op, const char *where,
                            int depth)
{
    char sub[512];
    if (!json_is_array(list) || json_array_size(list) == 0)
        return fail(c, where, "must be a non-empty array of conditions");
    size_t self = c->f->n;
    push(c)->op = op;
    size_t i;
    json_t *child;
    json_array_foreach(list, i, child) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%zu", i);
        subpath(sub, sizeof(sub), where, idx);
        hl_err err = compile_node(c, child, sub, depth + 1);
        if (err)
            return err;
    }
    c->f->nodes[self].end = c->f->n;
    return HL_OK;
}

static hl_err compile_cond(struct compiler *c, json_t *spec, const char *where)
{
    char sub[512];
    const char *key;
    json_t *v;
    json_object_foreach(spec, key, v) {
        if (strcmp(key, "path") && strcmp(key, "op") && strcmp(key, "value")) {
            subpath(sub, sizeof(sub), where, key);
            return fail(c, sub, "unknown member: a condition has path, op and value");
        }
    }
    json_t *path = json_object_get(spec, "path");
    json_t *op = json_object_get(spec, "op");
    json_t *value = json_object_get(spec, "value");
    subpath(sub, sizeof(sub), where, "path");
    if (!json_is_string(path) || !hl_jsonptr_valid(json_string_value(path)) ||
        json_string_length(path) == 0)
        return fail(c, sub, "must be a JSON Pointer into the event, such as /data/amount");
    subpath(sub, sizeof(sub), where, "op");
    const char *name = json_string_value(op);
    size_t k = 0;
    while (name && k < sizeof(op_names) / sizeof(op_names[0]) && strcmp(name, op_names[k].name))
        k++;
    if (!name || k == sizeof(op_names) / sizeof(op_names[0]))
        return fail(c, sub, "must be one of eq, ne, in, exists, lt, lte, gt, gte, prefix");
    filter_op o = op_names[k].op;

    subpath(sub, sizeof(sub), where, "value");
    switch (o) {
    case OP_EQ:
    case OP_NE:
        if (!value)
            return fail(c, sub, "is required");
        break;
    case OP_IN:
        if (!json_is_array(value) || json_array_size(value) == 0 ||
            json_array_size(value) > HL_FILTER_MAX_IN)
            return fail(c, sub, "must be an array of 1 to 100 values");
        break;
    case OP_EXISTS:
        if (value && !json_is_boolean(value))
            return fail(c, sub, "must be true or false");
        break;
    case OP_LT:
    case OP_LTE:
    case OP_GT:
    case OP_GTE:
        if (!json_is_number(value) || !isfinite(json_number_value(value)))
            return fail(c, sub, "must be a number");
        break;
    case OP_PREFIX:
        if (!json_is_string(value))
            return fail(c, sub, "must be a string");
        break;
    default:
        break;
    }

    struct node *n = push(c);
    n->op = o;
    n->end = c->f->n;
    split_pointer(n, json_string_value(path));
    if (o == OP_EQ || o == OP_NE || o == OP_IN)
        n->value = json_incref(value);
    else if (o == OP_EXISTS)
        n->want = !value || json_is_true(value);
    else if (o == OP_PREFIX)
        n->prefix = hl_xstrndup(json_string_value(value), n->prefix_len = json_string_length(value));
    else
        n->num = json_number_value(value);
    return HL_OK;
}

static hl_err compile_node(struct compiler *c, json_t *spec, const char *where, int depth)
{
    char sub[512];
    if (depth > HL_FILTER_MAX_DEPTH)
        return fail(c, where, "nested deeper than 8 levels");
    if (c->f->n == HL_FILTER_MAX_NODES)
        return fail(c, where, "more than 64 conditions and groups");
    if (!json_is_object(spec))
        return fail(c, where, "must be an object: a condition {path, op, value} or a group "
                              "{all: [...]} / {any: [...]}");
    json_t *all = json_object_get(spec, "all"), *any = json_object_get(spec, "any");
    if (all || any) {
        if (json_object_size(spec) != 1)
            return fail(c, where, "a group has exactly one member, all or any");
        subpath(sub, sizeof(sub), where, all ? "all" : "any");
        return compile_group(c, all ? all : any, all ? OP_ALL : OP_ANY, sub, depth);
    }
    return compile_cond(c, spec, where);
}

hl_err hl_filter_compile(json_t *spec, struct hl_filter **out, char *where, size_t wherelen,
                         char *errbuf, size_t errlen)
{
    struct hl_filter *f = hl_xcalloc(1, sizeof(*f));
    f->nodes = hl_xcalloc(HL_FILTER_MAX_NODES, sizeof(*f->nodes));
    struct compiler c = {f, where, wherelen, errbuf, errlen};
    hl_err err = compile_node(&c, spec, "", 0);
    if (err) {
        hl_filter_free(f);
        f = NULL;
    }
    *out = f;
    return err;
}

static json_t *resolve(const struct node *n, json_t *root)
{
    json_t *cur = root;
    for (size_t i = 0; cur && i < n->ntoks; i++) {
        const struct token *t = &n->toks[i];
        if (json_is_object(cur))
            cur = json_object_getn(cur, t->name, t->len);
        else if (json_is_array(cur) && t->index >= 0)
            cur = json_array_get(cur, (size_t)t->index);
        else
            cur = NULL;
    }
    return cur;
}

/* json_equal, except that numbers compare by value whatever their representation. */
static bool same(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal(a, b);
}

/* Evaluates node i (a group short-circuits over its children). */
static bool eval(const struct hl_filter *f, size_t i, json_t *root)
{
    const struct node *n = &f->nodes[i];
    if (n->op == OP_ALL || n->op == OP_ANY) {
        bool all = n->op == OP_ALL;
        for (size_t k = i + 1; k < n->end; k = f->nodes[k].end)
            if (eval(f, k, root) != all)
                return !all;
        return all;
    }
    json_t *v = resolve(n, root);
    switch (n->op) {
    case OP_EQ:
        return v && same(v, n->value);
    case OP_NE:
        return !v || !same(v, n->value);
    case OP_IN: {
        size_t k;
        json_t *x;
        if (!v)
            return false;
        json_array_foreach(n->value, k, x) {
            if (same(v, x))
                return true;
        }
        return false;
    }
    case OP_EXISTS:
        return (v != NULL) == n->want;
    case OP_LT:
        return json_is_number(v) && json_number_value(v) < n->num;
    case OP_LTE:
        return json_is_number(v) && json_number_value(v) <= n->num;
    case OP_GT:
        return json_is_number(v) && json_number_value(v) > n->num;
    case OP_GTE:
        return json_is_number(v) && json_number_value(v) >= n->num;
    case OP_PREFIX:
        return json_is_string(v) && json_string_length(v) >= n->prefix_len &&
               memcmp(json_string_value(v), n->prefix, n->prefix_len) == 0;
    default:
        return false;
    }
}

bool hl_filter_match(const struct hl_filter *f, json_t *root)
{
    return eval(f, 0, root);
}

void hl_filter_free(struct hl_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        struct node *n = &f->nodes[i];
        for (size_t k = 0; k < n->ntoks; k++)
            free(n->toks[k].name);
        free(n->toks);
        json_decref(n->value);
        free(n->prefix);
    }
    free(f->nodes);
    free(f);
}
