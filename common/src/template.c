/* Delivery templates (see hl/template.h).
 *
 * Compiling turns the template into a tree whose leaves are either constant JSON text,
 * already serialized, or a placeholder resolved to one field of the envelope (with its
 * JSON pointer split out). Subtrees without placeholders collapse into one constant, so a
 * render is: copy constant bytes, look fields up, write their values. The template's JSON
 * is never parsed or walked again per delivery. */
#include "hl/template.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/json.h"
#include "hl/jsonptr.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

typedef enum {
    F_EVENT,
    F_EVENT_ID,
    F_DELIVERY_ID,
    F_WEBHOOK_ID,
    F_TENANT,
    F_REQUEST_ID,
    F_ACTOR_ID,
    F_TIMESTAMP,
    F_TIMESTAMP_UNIX,
    F_OCCURRED_AT,
    F_OCCURRED_AT_UNIX,
    F_DATA,
    F_METADATA,
} field;

static const struct {
    const char *name;
    field f;
    bool pointer; /* may be followed by "/<json pointer>" */
} fields[] = {
    {"event", F_EVENT, false},
    {"event_id", F_EVENT_ID, false},
    {"delivery_id", F_DELIVERY_ID, false},
    {"webhook_id", F_WEBHOOK_ID, false},
    {"tenant", F_TENANT, false},
    {"request_id", F_REQUEST_ID, false},
    {"actor_id", F_ACTOR_ID, false},
    {"timestamp", F_TIMESTAMP, false},
    {"timestamp:unix", F_TIMESTAMP_UNIX, false},
    {"occurred_at", F_OCCURRED_AT, false},
    {"occurred_at:unix", F_OCCURRED_AT_UNIX, false},
    {"data", F_DATA, true},
    {"metadata", F_METADATA, true},
};

struct var {
    field f;
    char *ptr; /* NULL: the whole value */
};

struct seg {
    char *lit; /* literal text before the placeholder (may be empty) */
    size_t litlen;
    bool has_var; /* false only for the trailing literal */
    struct var v;
};

typedef enum { N_CONST, N_VAR, N_TEXT, N_OBJ, N_ARR } node_kind;

struct node {
    node_kind kind;
    char *text; /* N_CONST: the JSON text; N_OBJ: unused */
    size_t len;
    struct var v;     /* N_VAR */
    struct seg *segs; /* N_TEXT */
    size_t nsegs;
    char **keys; /* N_OBJ: "\"key\":" already escaped */
    size_t *keylens;
    struct node *kids; /* N_OBJ, N_ARR */
    size_t nkids;
};

struct hl_template {
    bool json; /* false: a text template (header value) */
    struct node root;
};

struct compiler {
    struct hl_template_error *e;
    char path[256];
    size_t nodes;
};

static void fail(struct compiler *c, const char *fmt, const char *arg)
{
    snprintf(c->e->pointer, sizeof(c->e->pointer), "%s", c->path);
    snprintf(c->e->detail, sizeof(c->e->detail), fmt, arg);
}

/* Parses the placeholder name in s[0..n) (spaces trimmed) into v. */
static bool parse_var(struct compiler *c, const char *s, size_t n, struct var *v)
{
    char name[96];
    while (n && *s == ' ')
        s++, n--;
    while (n && s[n - 1] == ' ')
        n--;
    if (n == 0 || n >= sizeof(name)) {
        fail(c, "%s", n ? "placeholder too long" : "empty placeholder '{{}}'");
        return false;
    }
    memcpy(name, s, n);
    name[n] = '\0';
    char *slash = strchr(name, '/');
    size_t base = slash ? (size_t)(slash - name) : n;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strlen(fields[i].name) != base || memcmp(fields[i].name, name, base) != 0)
            continue;
        if (slash && !fields[i].pointer) {
            fail(c, "'%s' takes no JSON pointer", fields[i].name);
            return false;
        }
        if (slash && !hl_jsonptr_valid(slash)) {
            fail(c, "'%s' is not a valid JSON pointer", slash);
            return false;
        }
        v->f = fields[i].f;
        v->ptr = slash ? hl_xstrdup(slash) : NULL;
        return true;
    }
    fail(c, "unknown placeholder '{{%s}}' (see docs/receiving.md for the list)", name);
    return false;
}

static void seg_free(struct seg *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].lit);
        free(s[i].v.ptr);
    }
    free(s);
}

/* Splits a string into literal text and placeholders. */
static bool parse_text(struct compiler *c, const char *s, size_t n, struct seg **out,
                       size_t *nout)
{
    struct seg *segs = NULL;
    size_t nsegs = 0, i = 0, start = 0;
    for (;;) {
        const char *open = i < n ? memmem(s + i, n - i, "{{", 2) : NULL;
        segs = hl_xrealloc(segs, (nsegs + 1) * sizeof(*segs));
        struct seg *g = &segs[nsegs];
        memset(g, 0, sizeof(*g));
        size_t litend = open ? (size_t)(open - s) : n;
        g->lit = hl_xstrndup(s + start, litend - start);
        g->litlen = litend - start;
        nsegs++;
        if (!open)
            break;
        const char *close = memmem(open + 2, n - (size_t)(open + 2 - s), "}}", 2);
        if (!close) {
            fail(c, "%s", "unterminated placeholder: '{{' without '}}'");
            goto fail;
        }
        if (!parse_var(c, open + 2, (size_t)(close - open - 2), &g->v))
            goto fail;
        g->has_var = true;
        i = start = (size_t)(close + 2 - s);
    }
    *out = segs;
    *nout = nsegs;
    return true;
fail:
    seg_free(segs, nsegs);
    return false;
}

static void node_release(struct node *nd)
{
    free(nd->text);
    free(nd->v.ptr);
    seg_free(nd->segs, nd->nsegs);
    for (size_t i = 0; i < nd->nkids; i++) {
        if (nd->keys)
            free(nd->keys[i]);
        node_release(&nd->kids[i]);
    }
    free(nd->keys);
    free(nd->keylens);
    free(nd->kids);
    memset(nd, 0, sizeof(*nd));
}

static void set_const(struct node *nd, const json_t *v)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_json_write(&b, v);
    nd->kind = N_CONST;
    nd->len = b.len;
    nd->text = hl_buf_detach(&b, NULL);
}

static bool compile(struct compiler *c, const json_t *v, struct node *nd, int depth)
{
    memset(nd, 0, sizeof(*nd));
    if (++c->nodes > HL_TEMPLATE_MAX_NODES) {
        fail(c, "the template has more than %s values", "2000");
        return false;
    }
    if (depth > HL_TEMPLATE_MAX_DEPTH) {
        fail(c, "the template nests deeper than %s levels", "16");
        return false;
    }
    size_t pathlen = strlen(c->path);
    bool ok = true, constant = true;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (!memmem(s, n, "{{", 2)) {
            set_const(nd, v);
            return true;
        }
        if (!parse_text(c, s, n, &nd->segs, &nd->nsegs))
            return false;
        if (nd->nsegs == 2 && nd->segs[0].litlen == 0 && nd->segs[1].litlen == 0) {
            nd->kind = N_VAR; /* exactly one placeholder: a typed value */
            nd->v = nd->segs[0].v;
            nd->segs[0].v.ptr = NULL;
            seg_free(nd->segs, nd->nsegs);
            nd->segs = NULL;
            nd->nsegs = 0;
        } else {
            nd->kind = N_TEXT;
        }
        return true;
    }
    if (json_is_object(v)) {
        nd->kind = N_OBJ;
        size_t n = json_object_size(v);
        nd->keys = hl_xcalloc(n + 1, sizeof(char *));
        nd->keylens = hl_xcalloc(n + 1, sizeof(size_t));
        nd->kids = hl_xcalloc(n + 1, sizeof(struct node));
        const char *key;
        json_t *kid;
        json_object_foreach((json_t *)v, key, kid) {
            struct hl_buf k = HL_BUF_INIT;
            hl_buf_add_json_str(&k, key, strlen(key));
            hl_buf_addch(&k, ':');
            nd->keylens[nd->nkids] = k.len;
            nd->keys[nd->nkids] = hl_buf_detach(&k, NULL);
            /* the path names the member as a JSON pointer does */
            size_t at = strlen(c->path);
            snprintf(c->path + at, sizeof(c->path) - at, "/");
            for (const char *p = key; *p && strlen(c->path) + 3 < sizeof(c->path); p++) {
                at = strlen(c->path);
                snprintf(c->path + at, sizeof(c->path) - at, "%s",
                         *p == '~' ? "~0" : *p == '/' ? "~1" : (char[2]){*p, 0});
            }
            ok = compile(c, kid, &nd->kids[nd->nkids++], depth + 1);
            c->path[pathlen] = '\0';
            if (!ok)
                goto out;
            constant = constant && nd->kids[nd->nkids - 1].kind == N_CONST;
        }
    } else if (json_is_array(v)) {
        nd->kind = N_ARR;
        size_t n = json_array_size(v), i;
        json_t *kid;
        nd->kids = hl_xcalloc(n + 1, sizeof(struct node));
        json_array_foreach((json_t *)v, i, kid) {
            snprintf(c->path + pathlen, sizeof(c->path) - pathlen, "/%zu", i);
            ok = compile(c, kid, &nd->kids[nd->nkids++], depth + 1);
            c->path[pathlen] = '\0';
            if (!ok)
                goto out;
            constant = constant && nd->kids[nd->nkids - 1].kind == N_CONST;
        }
    } else {
        set_const(nd, v);
        return true;
    }
out:
    if (!ok) {
        node_release(nd);
        return false;
    }
    if (constant) {
        node_release(nd);
        set_const(nd, v);
    }
    return true;
}

hl_err hl_template_compile_json(const json_t *tpl, struct hl_template **out,
                                struct hl_template_error *e)
{
    struct compiler c = {.e = e};
    struct hl_template *t = hl_xcalloc(1, sizeof(*t));
    memset(e, 0, sizeof(*e));
    *out = NULL;
    t->json = true;
    if (!tpl || !compile(&c, tpl, &t->root, 0)) {
        if (!tpl)
            fail(&c, "%s", "no template");
        free(t);
        return HL_EINVAL;
    }
    *out = t;
    return HL_OK;
}

hl_err hl_template_compile_text(const char *tpl, struct hl_template **out,
                                struct hl_template_error *e)
{
    struct compiler c = {.e = e};
    struct hl_template *t = hl_xcalloc(1, sizeof(*t));
    memset(e, 0, sizeof(*e));
    *out = NULL;
    t->root.kind = N_TEXT;
    if (!parse_text(&c, tpl, strlen(tpl), &t->root.segs, &t->root.nsegs)) {
        free(t);
        return HL_EINVAL;
    }
    *out = t;
    return HL_OK;
}

void hl_template_free(struct hl_template *t)
{
    if (!t)
        return;
    node_release(&t->root);
    free(t);
}

/* --- rendering ------------------------------------------------------------------------ */

/* The value of a placeholder, or NULL when the envelope has none. *tmp receives a new
 * reference when the value had to be made (the caller drops it). */
static json_t *resolve(const struct var *v, const struct hl_template_ctx *c, json_t **tmp)
{
    json_t *env = c->envelope, *x = NULL;
    *tmp = NULL;
    switch (v->f) {
    case F_EVENT: x = json_object_get(env, "event"); break;
    case F_EVENT_ID: x = json_object_get(env, "id"); break;
    case F_DELIVERY_ID: x = *tmp = c->delivery_id ? json_string(c->delivery_id) : NULL; break;
    case F_WEBHOOK_ID: x = *tmp = c->webhook_id ? json_string(c->webhook_id) : NULL; break;
    case F_TENANT: x = json_object_get(env, "tenant"); break;
    case F_REQUEST_ID: x = json_object_get(env, "request_id"); break;
    case F_ACTOR_ID: x = json_object_get(env, "actor_id"); break;
    case F_TIMESTAMP:
    case F_TIMESTAMP_UNIX: x = json_object_get(env, "timestamp"); break;
    case F_OCCURRED_AT:
    case F_OCCURRED_AT_UNIX:
        x = json_object_get(env, "occurred_at");
        if (!json_is_string(x))
            x = json_object_get(env, "timestamp");
        break;
    case F_DATA: x = json_object_get(env, "data"); break;
    case F_METADATA:
        x = json_object_get(env, "metadata");
        if (!json_is_object(x))
            x = *tmp = json_object();
        break;
    }
    if (x && v->ptr)
        x = hl_jsonptr_get(x, v->ptr);
    if ((v->f == F_TIMESTAMP_UNIX || v->f == F_OCCURRED_AT_UNIX) && x) {
        long long s;
        x = json_is_string(x) && hl_iso8601_parse(json_string_value(x), &s) == HL_OK
                ? (*tmp = json_integer(s))
                : NULL;
    }
    return x && !json_is_null(x) ? x : NULL;
}

static void add_text(struct hl_buf *b, const json_t *x)
{
    if (!x)
        return;
    if (json_is_string(x))
        hl_buf_add(b, json_string_value(x), json_string_length(x));
    else
        hl_json_write(b, x);
}

static void render_segs(const struct node *nd, const struct hl_template_ctx *c, struct hl_buf *b)
{
    for (size_t i = 0; i < nd->nsegs; i++) {
        hl_buf_add(b, nd->segs[i].lit, nd->segs[i].litlen);
        if (nd->segs[i].has_var) {
            json_t *tmp, *x = resolve(&nd->segs[i].v, c, &tmp);
            add_text(b, x);
            json_decref(tmp);
        }
    }
}

static void render(const struct node *nd, const struct hl_template_ctx *c, struct hl_buf *b)
{
    json_t *tmp, *x;
    switch (nd->kind) {
    case N_CONST:
        hl_buf_add(b, nd->text, nd->len);
        break;
    case N_VAR:
        x = resolve(&nd->v, c, &tmp);
        if (x)
            hl_json_write(b, x);
        else
            hl_buf_adds(b, "null");
        json_decref(tmp);
        break;
    case N_TEXT: {
        struct hl_buf t = HL_BUF_INIT;
        render_segs(nd, c, &t);
        hl_buf_add_json_str(b, t.ptr ? t.ptr : "", t.len);
        hl_buf_release(&t);
        break;
    }
    case N_OBJ:
        hl_buf_addch(b, '{');
        for (size_t i = 0; i < nd->nkids; i++) {
            if (i)
                hl_buf_addch(b, ',');
            hl_buf_add(b, nd->keys[i], nd->keylens[i]);
            render(&nd->kids[i], c, b);
        }
        hl_buf_addch(b, '}');
        break;
    case N_ARR:
        hl_buf_addch(b, '[');
        for (size_t i = 0; i < nd->nkids; i++) {
            if (i)
                hl_buf_addch(b, ',');
            render(&nd->kids[i], c, b);
        }
        hl_buf_addch(b, ']');
        break;
    }
}

void hl_template_render(const struct hl_template *t, const struct hl_template_ctx *c,
                        struct hl_buf *out)
{
    if (t->json)
        render(&t->root, c, out);
    else
        render_segs(&t->root, c, out);
}
