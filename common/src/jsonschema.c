/* JSON Schema draft 2020-12: compilation and validation (see hl/jsonschema.h).
 *
 * Compilation works on a private deep copy of the schema in two passes. The first walks
 * every subschema (only through keywords whose values are schemas, so an "$id" inside an
 * enum value is data, not an identifier) and records each one's base URI and schema
 * pointer, and each "$id" and "$anchor" as a resource. The second turns every subschema
 * into a struct node, memoized by the json_t it came from: a "$ref" is resolved to the
 * target json_t and compiled through the same memo, so recursive schemas become cyclic
 * node graphs without special cases. A last pass refuses cycles made only of keywords that
 * stay on the same instance ($ref, allOf, not, if, ...): those would recurse forever.
 *
 * Validation only reads the compiled graph and the schema copy (never touching reference
 * counts), which is what makes one compiled schema safe to share between threads. The
 * only mutable state, PCRE2's match data, is kept per thread. The instance pointer of an
 * error is a linked list of path segments on the C stack, turned into a string only when
 * an error is recorded, so valid documents cost no allocation at all.
 *
 * Subschemas under anyOf, oneOf, not, if and contains are evaluated quietly (first failure
 * wins, nothing collected): their failures are not the instance's errors, the combinator's
 * verdict is, and it is reported once at the combinator. */
#include "hl/jsonschema.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/jsonptr.h"
#include "hl/mem.h"
#include "hl/banned.h"

#define DRAFT_2020_12 "https://json-schema.org/draft/2020-12/schema"

enum {
    T_NULL = 1,
    T_BOOLEAN = 2,
    T_OBJECT = 4,
    T_ARRAY = 8,
    T_NUMBER = 16,
    T_STRING = 32,
    T_INTEGER = 64,
};

static const char *const type_names[] = {"null",   "boolean", "object", "array",
                                         "number", "string",  "integer"};

/* A numeric bound kept both ways, so that integer instances compare exactly. */
struct num {
    bool set;
    bool is_int;
    json_int_t i;
    double d;
};

struct prop {
    const char *name;
    struct node *schema;
};

struct patprop {
    pcre2_code *re;
    struct node *schema;
};

struct depreq {
    const char *name;
    const char **names;
    size_t n;
};

struct nodelist {
    struct node **v;
    size_t n;
};

struct node {
    size_t id;
    char *ptr;          /* schema pointer, for compile errors */
    signed char truth;  /* boolean schema: 0 false, 1 true; -1 for an object schema */
    bool has_keywords;  /* an object schema with at least one assertion or applicator */
    unsigned types;     /* T_* mask, 0 when no "type" */
    const json_t *enum_;
    const json_t *const_;
    struct node *ref;
    const char **required;
    size_t nrequired;
    struct prop *props; /* sorted by name */
    size_t nprops;
    struct patprop *pats;
    size_t npats;
    struct node *additional;
    struct node *property_names;
    struct depreq *dep_req;
    size_t ndep_req;
    struct prop *dep_schemas;
    size_t ndep_schemas;
    long long min_props, max_props; /* -1 when absent, as for every count below */
    struct node **prefix;
    size_t nprefix;
    struct node *items;
    struct node *contains;
    long long min_contains, max_contains;
    long long min_items, max_items;
    bool unique;
    long long min_len, max_len;
    pcre2_code *pattern;
    const char *pattern_src;
    struct num minimum, maximum, xminimum, xmaximum, multiple;
    hl_schema_format_fn format;
    const char *format_name;
    struct nodelist all_of, any_of, one_of;
    struct node *not_, *if_, *then_, *else_;
};

struct hl_schema {
    json_t *doc; /* the private copy every borrowed pointer points into */
    struct node **nodes;
    size_t nnodes;
    struct node *root;
};

/* ---- pointer map (compile time only) ---------------------------------------------- */

struct pmap {
    const void **keys;
    void **vals;
    size_t cap, n;
};

static size_t phash(const void *p, size_t cap)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 7) & (cap - 1);
}

static void *pmap_get(const struct pmap *m, const void *k)
{
    if (!m->cap)
        return NULL;
    for (size_t i = phash(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return NULL;
        if (m->keys[i] == k)
            return m->vals[i];
    }
}

static void pmap_put(struct pmap *m, const void *k, void *v)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct pmap g = {0};
        g.cap = m->cap ? m->cap * 2 : 64;
        g.keys = hl_xcalloc(g.cap, sizeof(*g.keys));
        g.vals = hl_xcalloc(g.cap, sizeof(*g.vals));
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                pmap_put(&g, m->keys[i], m->vals[i]);
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    size_t i = phash(k, m->cap);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->n++;
    m->keys[i] = k;
    m->vals[i] = v;
}

static void pmap_release(struct pmap *m, void (*free_val)(void *))
{
    for (size_t i = 0; free_val && i < m->cap; i++)
        if (m->keys[i])
            free_val(m->vals[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* ---- URIs (RFC 3986 reference resolution, section 5.2) ------------------------------ */

struct uri {
    const char *scheme, *auth, *path, *query, *frag;
    size_t nscheme, nauth, npath, nquery, nfrag;
    bool has_scheme, has_auth, has_query, has_frag;
};

static bool scheme_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '-' || c == '.';
}

static void uri_split(const char *s, struct uri *u)
{
    size_t n = strlen(s), i = 0;
    memset(u, 0, sizeof(*u));
    if (n && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
        size_t k = 1;
        while (k < n && scheme_char(s[k]))
            k++;
        if (k < n && s[k] == ':') {
            u->has_scheme = true;
            u->scheme = s;
            u->nscheme = k;
            i = k + 1;
        }
    }
    if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        size_t k = i + 2;
        while (k < n && s[k] != '/' && s[k] != '?' && s[k] != '#')
            k++;
        u->has_auth = true;
        u->auth = s + i + 2;
        u->nauth = k - i - 2;
        i = k;
    }
    u->path = s + i;
    while (i < n && s[i] != '?' && s[i] != '#')
        i++;
    u->npath = (size_t)(s + i - u->path);
    if (i < n && s[i] == '?') {
        size_t k = ++i;
        while (i < n && s[i] != '#')
            i++;
        u->has_query = true;
        u->query = s + k;
        u->nquery = i - k;
    }
    if (i < n && s[i] == '#') {
        u->has_frag = true;
        u->frag = s + i + 1;
        u->nfrag = n - i - 1;
    }
}

static bool starts(const char *p, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    return n >= k && memcmp(p, pre, k) == 0;
}

static bool equals(const char *p, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

static void drop_last_segment(struct hl_buf *out)
{
    while (out->len && out->ptr[out->len - 1] != '/')
        out->len--;
    if (out->len)
        out->len--;
    if (out->ptr)
        out->ptr[out->len] = '\0';
}

/* remove_dot_segments, appending the result to out */
static void remove_dots(struct hl_buf *out, const char *p, size_t n)
{
    struct hl_buf o = HL_BUF_INIT;
    while (n) {
        if (starts(p, n, "../")) {
            p += 3, n -= 3;
        } else if (starts(p, n, "./")) {
            p += 2, n -= 2;
        } else if (starts(p, n, "/./")) {
            p += 2, n -= 2;
        } else if (equals(p, n, "/.")) {
            p = "/", n = 1;
        } else if (starts(p, n, "/../")) {
            p += 3, n -= 3;
            drop_last_segment(&o);
        } else if (equals(p, n, "/..")) {
            p = "/", n = 1;
            drop_last_segment(&o);
        } else if (equals(p, n, ".") || equals(p, n, "..")) {
            n = 0;
        } else {
            size_t k = (*p == '/') ? 1 : 0;
            while (k < n && p[k] != '/')
                k++;
            hl_buf_add(&o, p, k);
            p += k, n -= k;
        }
    }
    hl_buf_add(out, o.ptr ? o.ptr : "", o.len);
    hl_buf_release(&o);
}

/* The absolute form of ref against base; the caller frees it. */
static char *uri_resolve(const char *base, const char *ref)
{
    struct uri b, r;
    struct hl_buf t = HL_BUF_INIT;
    uri_split(base, &b);
    uri_split(ref, &r);
    const struct uri *sch = r.has_scheme ? &r : &b;
    if (sch->has_scheme) {
        hl_buf_add(&t, sch->scheme, sch->nscheme);
        hl_buf_addch(&t, ':');
    }
    if (r.has_scheme || r.has_auth) {
        if (r.has_auth) {
            hl_buf_adds(&t, "//");
            hl_buf_add(&t, r.auth, r.nauth);
        }
        remove_dots(&t, r.path, r.npath);
        if (r.has_query) {
            hl_buf_addch(&t, '?');
            hl_buf_add(&t, r.query, r.nquery);
        }
    } else {
        if (b.has_auth) {
            hl_buf_adds(&t, "//");
            hl_buf_add(&t, b.auth, b.nauth);
        }
        const struct uri *q = &r;
        if (r.npath == 0) {
            hl_buf_add(&t, b.path, b.npath);
            if (!r.has_query)
                q = &b;
        } else if (r.path[0] == '/') {
            remove_dots(&t, r.path, r.npath);
        } else {
            struct hl_buf m = HL_BUF_INIT;
            if (b.has_auth && b.npath == 0) {
                hl_buf_addch(&m, '/');
            } else {
                size_t k = b.npath;
                while (k && b.path[k - 1] != '/')
                    k--;
                hl_buf_add(&m, b.path, k);
            }
            hl_buf_add(&m, r.path, r.npath);
            remove_dots(&t, hl_buf_str(&m), m.len);
            hl_buf_release(&m);
        }
        if (q->has_query) {
            hl_buf_addch(&t, '?');
            hl_buf_add(&t, q->query, q->nquery);
        }
    }
    if (r.has_frag) {
        hl_buf_addch(&t, '#');
        hl_buf_add(&t, r.frag, r.nfrag);
    }
    return hl_buf_detach(&t, NULL);
}

static char *percent_decode(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *d = hl_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        int hi = s[i] == '%' && i + 2 < n ? hl_hex_digit((unsigned char)s[i + 1]) : -1;
        int lo = hi >= 0 ? hl_hex_digit((unsigned char)s[i + 2]) : -1;
        if (lo >= 0) {
            d[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    return d;
}

static void pointer_append(struct hl_buf *b, const char *seg)
{
    hl_buf_addch(b, '/');
    for (; *seg; seg++) {
        if (*seg == '~')
            hl_buf_adds(b, "~0");
        else if (*seg == '/')
            hl_buf_adds(b, "~1");
        else
            hl_buf_addch(b, *seg);
    }
}

static char *pointer_child(const char *parent, const char *seg)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_adds(&b, parent);
    pointer_append(&b, seg);
    return hl_buf_detach(&b, NULL);
}

static char *pointer_index(const char *parent, size_t i)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_addf(&b, "%s/%zu", parent, i);
    return hl_buf_detach(&b, NULL);
}

/* ---- compilation ---------------------------------------------------------------------- */

/* What a keyword's value holds, for the walk that indexes subschemas and for dispatch. */
enum kw_shape { K_SCHEMA, K_SCHEMA_MAP, K_SCHEMA_ARRAY, K_VALUE };

enum kw_id {
    KW_ANNOTATION,
    KW_REFUSED,
    KW_SCHEMA,
    KW_ID,
    KW_ANCHOR,
    KW_REF,
    KW_DEFS,
    KW_TYPE,
    KW_ENUM,
    KW_CONST,
    KW_REQUIRED,
    KW_PROPERTIES,
    KW_PATTERN_PROPERTIES,
    KW_ADDITIONAL_PROPERTIES,
    KW_PROPERTY_NAMES,
    KW_MIN_PROPERTIES,
    KW_MAX_PROPERTIES,
    KW_DEPENDENT_REQUIRED,
    KW_DEPENDENT_SCHEMAS,
    KW_PREFIX_ITEMS,
    KW_ITEMS,
    KW_CONTAINS,
    KW_MIN_CONTAINS,
    KW_MAX_CONTAINS,
    KW_MIN_ITEMS,
    KW_MAX_ITEMS,
    KW_UNIQUE_ITEMS,
    KW_MIN_LENGTH,
    KW_MAX_LENGTH,
    KW_PATTERN,
    KW_MINIMUM,
    KW_MAXIMUM,
    KW_EXCLUSIVE_MINIMUM,
    KW_EXCLUSIVE_MAXIMUM,
    KW_MULTIPLE_OF,
    KW_FORMAT,
    KW_ALL_OF,
    KW_ANY_OF,
    KW_ONE_OF,
    KW_NOT,
    KW_IF,
    KW_THEN,
    KW_ELSE,
};

static const struct keyword {
    const char *name;
    enum kw_id id;
    enum kw_shape shape;
} keywords[] = {
    {"$schema", KW_SCHEMA, K_VALUE},
    {"$id", KW_ID, K_VALUE},
    {"$anchor", KW_ANCHOR, K_VALUE},
    {"$ref", KW_REF, K_VALUE},
    {"$defs", KW_DEFS, K_SCHEMA_MAP},
    {"$comment", KW_ANNOTATION, K_VALUE},
    {"title", KW_ANNOTATION, K_VALUE},
    {"description", KW_ANNOTATION, K_VALUE},
    {"default", KW_ANNOTATION, K_VALUE},
    {"examples", KW_ANNOTATION, K_VALUE},
    {"deprecated", KW_ANNOTATION, K_VALUE},
    {"readOnly", KW_ANNOTATION, K_VALUE},
    {"writeOnly", KW_ANNOTATION, K_VALUE},
    {"contentMediaType", KW_ANNOTATION, K_VALUE},
    {"contentEncoding", KW_ANNOTATION, K_VALUE},
    {"contentSchema", KW_ANNOTATION, K_VALUE},
    {"type", KW_TYPE, K_VALUE},
    {"enum", KW_ENUM, K_VALUE},
    {"const", KW_CONST, K_VALUE},
    {"required", KW_REQUIRED, K_VALUE},
    {"properties", KW_PROPERTIES, K_SCHEMA_MAP},
    {"patternProperties", KW_PATTERN_PROPERTIES, K_SCHEMA_MAP},
    {"additionalProperties", KW_ADDITIONAL_PROPERTIES, K_SCHEMA},
    {"propertyNames", KW_PROPERTY_NAMES, K_SCHEMA},
    {"minProperties", KW_MIN_PROPERTIES, K_VALUE},
    {"maxProperties", KW_MAX_PROPERTIES, K_VALUE},
    {"dependentRequired", KW_DEPENDENT_REQUIRED, K_VALUE},
    {"dependentSchemas", KW_DEPENDENT_SCHEMAS, K_SCHEMA_MAP},
    {"prefixItems", KW_PREFIX_ITEMS, K_SCHEMA_ARRAY},
    {"items", KW_ITEMS, K_SCHEMA},
    {"contains", KW_CONTAINS, K_SCHEMA},
    {"minContains", KW_MIN_CONTAINS, K_VALUE},
    {"maxContains", KW_MAX_CONTAINS, K_VALUE},
    {"minItems", KW_MIN_ITEMS, K_VALUE},
    {"maxItems", KW_MAX_ITEMS, K_VALUE},
    {"uniqueItems", KW_UNIQUE_ITEMS, K_VALUE},
    {"minLength", KW_MIN_LENGTH, K_VALUE},
    {"maxLength", KW_MAX_LENGTH, K_VALUE},
    {"pattern", KW_PATTERN, K_VALUE},
    {"minimum", KW_MINIMUM, K_VALUE},
    {"maximum", KW_MAXIMUM, K_VALUE},
    {"exclusiveMinimum", KW_EXCLUSIVE_MINIMUM, K_VALUE},
    {"exclusiveMaximum", KW_EXCLUSIVE_MAXIMUM, K_VALUE},
    {"multipleOf", KW_MULTIPLE_OF, K_VALUE},
    {"format", KW_FORMAT, K_VALUE},
    {"allOf", KW_ALL_OF, K_SCHEMA_ARRAY},
    {"anyOf", KW_ANY_OF, K_SCHEMA_ARRAY},
    {"oneOf", KW_ONE_OF, K_SCHEMA_ARRAY},
    {"not", KW_NOT, K_SCHEMA},
    {"if", KW_IF, K_SCHEMA},
    {"then", KW_THEN, K_SCHEMA},
    {"else", KW_ELSE, K_SCHEMA},
    /* known to the draft, not implemented: refused at compile time */
    {"unevaluatedProperties", KW_REFUSED, K_SCHEMA},
    {"unevaluatedItems", KW_REFUSED, K_SCHEMA},
    {"$dynamicRef", KW_REFUSED, K_VALUE},
    {"$dynamicAnchor", KW_REFUSED, K_VALUE},
    {"$vocabulary", KW_REFUSED, K_VALUE},
    {"$recursiveRef", KW_REFUSED, K_VALUE},
    {"$recursiveAnchor", KW_REFUSED, K_VALUE},
};

static const struct keyword *keyword_find(const char *name)
{
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (strcmp(keywords[i].name, name) == 0)
            return &keywords[i];
    return NULL;
}

struct loc {
    char *base; /* base URI in effect inside this subschema (its own $id applied) */
    char *ptr;
};

struct resource {
    char *uri; /* absolute URI without fragment, or uri#anchor */
    json_t *schema;
};

struct cctx {
    struct hl_schema *s;
    struct resource *res;
    size_t nres, capres;
    struct pmap locs; /* json_t * -> struct loc * */
    struct pmap memo; /* json_t * -> struct node * */
    size_t capnodes;
    char *errbuf;
    size_t errlen;
    hl_err err;
};

static void *fail(struct cctx *c, hl_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void *fail(struct cctx *c, hl_err err, const char *fmt, ...)
{
    if (c->err == HL_OK) {
        va_list ap;
        va_start(ap, fmt);
        if (c->errlen)
            vsnprintf(c->errbuf, c->errlen, fmt, ap);
        va_end(ap);
        c->err = err;
    }
    return NULL;
}

static void add_resource(struct cctx *c, const char *uri, json_t *schema)
{
    for (size_t i = 0; i < c->nres; i++)
        if (strcmp(c->res[i].uri, uri) == 0)
            return; /* first one wins; duplicates are the author's problem */
    if (c->nres == c->capres) {
        c->capres = c->capres ? c->capres * 2 : 8;
        c->res = hl_xrealloc(c->res, c->capres * sizeof(*c->res));
    }
    c->res[c->nres].uri = hl_xstrdup(uri);
    c->res[c->nres].schema = schema;
    c->nres++;
}

static json_t *find_resource(const struct cctx *c, const char *uri)
{
    for (size_t i = 0; i < c->nres; i++)
        if (strcmp(c->res[i].uri, uri) == 0)
            return c->res[i].schema;
    return NULL;
}

/* base with s's own "$id" applied (a trailing empty fragment dropped) */
static char *apply_id(const char *base, const json_t *s)
{
    const char *id = json_string_value(json_object_get(s, "$id"));
    if (!id)
        return hl_xstrdup(base);
    char *abs = uri_resolve(base, id);
    size_t n = strlen(abs);
    if (n && abs[n - 1] == '#')
        abs[n - 1] = '\0';
    return abs;
}

static void loc_free(void *p)
{
    struct loc *l = p;
    free(l->base);
    free(l->ptr);
    free(l);
}

/* Pass 1: records base URI and pointer of every subschema, and the resources. */
static void index_schema(struct cctx *c, json_t *s, const char *base, const char *ptr)
{
    if (!json_is_object(s) || pmap_get(&c->locs, s))
        return;
    struct loc *l = hl_xmalloc(sizeof(*l));
    l->base = apply_id(base, s);
    l->ptr = hl_xstrdup(ptr);
    pmap_put(&c->locs, s, l);
    if (json_is_string(json_object_get(s, "$id")))
        add_resource(c, l->base, s);
    /* a $dynamicAnchor is a plain anchor too; registering it lets a $ref reach the
     * subschema, whose compilation then refuses the keyword by name */
    static const char *const anchor_kws[] = {"$anchor", "$dynamicAnchor"};
    for (size_t i = 0; i < 2; i++) {
        const char *anchor = json_string_value(json_object_get(s, anchor_kws[i]));
        if (anchor) {
            struct hl_buf u = HL_BUF_INIT;
            hl_buf_addf(&u, "%s#%s", l->base, anchor);
            add_resource(c, hl_buf_str(&u), s);
            hl_buf_release(&u);
        }
    }
    const char *key;
    json_t *val;
    json_object_foreach(s, key, val) {
        const struct keyword *kw = keyword_find(key);
        if (!kw || kw->shape == K_VALUE)
            continue;
        char *kptr = pointer_child(ptr, key);
        if (kw->shape == K_SCHEMA) {
            index_schema(c, val, l->base, kptr);
        } else if (kw->shape == K_SCHEMA_MAP && json_is_object(val)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(val, k2, v2) {
                char *p2 = pointer_child(kptr, k2);
                index_schema(c, v2, l->base, p2);
                free(p2);
            }
        } else if (kw->shape == K_SCHEMA_ARRAY && json_is_array(val)) {
            size_t i;
            json_t *v2;
            json_array_foreach(val, i, v2) {
                char *p2 = pointer_index(kptr, i);
                index_schema(c, v2, l->base, p2);
                free(p2);
            }
        }
        free(kptr);
    }
}

static struct node *compile_node(struct cctx *c, json_t *s, const char *base, const char *ptr);

static struct node *new_node(struct cctx *c, const char *ptr)
{
    struct node *n = hl_xcalloc(1, sizeof(*n));
    n->ptr = hl_xstrdup(ptr);
    n->truth = -1;
    n->min_props = n->max_props = n->min_items = n->max_items = -1;
    n->min_len = n->max_len = n->max_contains = -1;
    n->min_contains = -1;
    if (c->s->nnodes == c->capnodes) {
        c->capnodes = c->capnodes ? c->capnodes * 2 : 16;
        c->s->nodes = hl_xrealloc(c->s->nodes, c->capnodes * sizeof(*c->s->nodes));
    }
    n->id = c->s->nnodes;
    c->s->nodes[c->s->nnodes++] = n;
    return n;
}

static void node_free(struct node *n)
{
    free(n->ptr);
    free(n->required);
    free(n->props);
    for (size_t i = 0; i < n->npats; i++)
        pcre2_code_free(n->pats[i].re);
    free(n->pats);
    for (size_t i = 0; i < n->ndep_req; i++)
        free(n->dep_req[i].names);
    free(n->dep_req);
    free(n->dep_schemas);
    free(n->prefix);
    pcre2_code_free(n->pattern);
    free(n->all_of.v);
    free(n->any_of.v);
    free(n->one_of.v);
    free(n);
}

/* A non-negative integer keyword value (2.0 counts as an integer, as the draft says). */
static bool count_value(const json_t *v, long long *out)
{
    double d;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return false;
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_real(v))
        return false;
    d = json_real_value(v);
    if (!(d >= 0 && d <= 9e18) || d != floor(d))
        return false;
    *out = (long long)d;
    return true;
}

static bool num_value(const json_t *v, struct num *out)
{
    if (!json_is_number(v))
        return false;
    out->set = true;
    out->d = json_number_value(v);
    if (json_is_integer(v)) {
        out->is_int = true;
        out->i = json_integer_value(v);
    } else if (out->d == floor(out->d) && fabs(out->d) < 9e18) {
        out->is_int = true;
        out->i = (json_int_t)out->d;
    }
    return true;
}

/* ECMA-262's long General_Category names, which PCRE2 (10.42) knows only by their short
 * aliases; its script names (Greek, Script=Greek, sc=Grek, scx=...) and binary properties
 * (Alphabetic, White_Space, ASCII, Emoji, ...) are ECMA-262's spellings already. */
static const struct {
    const char *ecma, *pcre;
} gc_names[] = {
    {"Other", "C"}, {"Control", "Cc"}, {"cntrl", "Cc"}, {"Format", "Cf"},
    {"Unassigned", "Cn"}, {"Private_Use", "Co"}, {"Surrogate", "Cs"}, {"Letter", "L"},
    {"Cased_Letter", "LC"}, {"Lowercase_Letter", "Ll"}, {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"}, {"Titlecase_Letter", "Lt"}, {"Uppercase_Letter", "Lu"},
    {"Mark", "M"}, {"Combining_Mark", "M"}, {"Spacing_Mark", "Mc"}, {"Enclosing_Mark", "Me"},
    {"Nonspacing_Mark", "Mn"}, {"Number", "N"}, {"Decimal_Number", "Nd"}, {"digit", "Nd"},
    {"Letter_Number", "Nl"}, {"Other_Number", "No"}, {"Punctuation", "P"}, {"punct", "P"},
    {"Connector_Punctuation", "Pc"}, {"Dash_Punctuation", "Pd"}, {"Close_Punctuation", "Pe"},
    {"Final_Punctuation", "Pf"}, {"Initial_Punctuation", "Pi"}, {"Other_Punctuation", "Po"},
    {"Open_Punctuation", "Ps"}, {"Symbol", "S"}, {"Currency_Symbol", "Sc"},
    {"Modifier_Symbol", "Sk"}, {"Math_Symbol", "Sm"}, {"Other_Symbol", "So"},
    {"Separator", "Z"}, {"Line_Separator", "Zl"}, {"Paragraph_Separator", "Zp"},
    {"Space_Separator", "Zs"},
};

static bool name_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(p, name, n) == 0;
}

/* ECMA-262's \s: WhiteSpace and LineTerminator, Unicode's space separators included.
 * PCRE2's \s is ASCII only; PCRE2_UCP would widen it, but \d and \w too, which ECMA-262
 * keeps ASCII. Written with \\u, as PCRE2_ALT_BSUX reads it. */
#define ECMA_SPACE                                                                                 \
    "\\t\\n\\x0b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

/* Appends src to out in PCRE2's spelling of ECMA-262: in each Unicode property escape
 * (\p{...}, \P{...}) General_Category=X and gc=X become X, a long category name its
 * short alias, and Assigned the complement of Cn; \s and \S become ECMA-262's sets (\S
 * inside a character class stays PCRE2's, the one difference left). Escapes are stepped
 * over whole, so "\\p{Letter}" (a backslash, then text) stays as it is. */
static void regex_from_ecma(const char *src, struct hl_buf *out)
{
    bool in_class = false;
    for (const char *p = src; *p; p++) {
        if (*p != '\\' || !p[1]) {
            if (*p == '[')
                in_class = true;
            else if (*p == ']')
                in_class = false;
            hl_buf_addch(out, *p);
            continue;
        }
        if (p[1] == 's' || (p[1] == 'S' && !in_class)) {
            hl_buf_adds(out, in_class ? ECMA_SPACE : p[1] == 's' ? "[" ECMA_SPACE "]"
                                                                 : "[^" ECMA_SPACE "]");
            p++;
            continue;
        }
        const char *end = (p[1] == 'p' || p[1] == 'P') && p[2] == '{' ? strchr(p + 3, '}')
                                                                      : NULL;
        if (!end) {
            hl_buf_add(out, p, 2);
            p++;
            continue;
        }
        const char *name = p + 3;
        size_t n = (size_t)(end - name);
        char kind = p[1];
        if (n > 17 && memcmp(name, "General_Category=", 17) == 0) {
            name += 17;
            n -= 17;
        } else if (n > 3 && memcmp(name, "gc=", 3) == 0) {
            name += 3;
            n -= 3;
        }
        if (name_is(name, n, "Assigned")) {
            kind = kind == 'p' ? 'P' : 'p';
            name = "Cn";
            n = 2;
        }
        for (size_t i = 0; i < sizeof(gc_names) / sizeof(gc_names[0]); i++) {
            if (name_is(name, n, gc_names[i].ecma)) {
                name = gc_names[i].pcre;
                n = strlen(name);
                break;
            }
        }
        hl_buf_addch(out, '\\');
        hl_buf_addch(out, kind);
        hl_buf_addch(out, '{');
        hl_buf_add(out, name, n);
        hl_buf_addch(out, '}');
        p = end;
    }
}

static pcre2_code *regex_compile(struct cctx *c, const char *src, const char *where)
{
    int code;
    PCRE2_SIZE off;
    struct hl_buf pat = HL_BUF_INIT;
    regex_from_ecma(src, &pat);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)hl_buf_str(&pat), pat.len,
                                   PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY, &code,
                                   &off, NULL);
    hl_buf_release(&pat);
    if (!re) {
        /* PCRE2's messages describe the pattern ("missing closing parenthesis"), except
         * the few that speak of the library's own build or of Perl syntax. */
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        const char *why = (const char *)msg;
        if (strstr(why, "PCRE") || strstr(why, "(*") || strstr(why, "application"))
            why = "syntax not supported";
        return fail(c, HL_EINVAL, "invalid regular expression '%s' at '%s': %s", src, where,
                    why);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if not */
    return re;
}

static int prop_cmp(const void *a, const void *b)
{
    return strcmp(((const struct prop *)a)->name, ((const struct prop *)b)->name);
}

static bool compile_list(struct cctx *c, json_t *arr, const char *base, const char *kptr,
                         const char *name, struct nodelist *out)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return fail(c, HL_EINVAL, "'%s' at '%s' must be a non-empty array of schemas", name,
                    kptr);
    out->n = json_array_size(arr);
    out->v = hl_xcalloc(out->n, sizeof(*out->v));
    for (size_t i = 0; i < out->n; i++) {
        char *p = pointer_index(kptr, i);
        out->v[i] = compile_node(c, json_array_get(arr, i), base, p);
        free(p);
        if (!out->v[i])
            return false;
    }
    return true;
}

static struct node *compile_ref(struct cctx *c, const char *ref, const char *base,
                                const char *kptr)
{
    struct node *target = NULL;
    char *abs = uri_resolve(base, ref);
    char *hash = strchr(abs, '#');
    const char *frag = "";
    if (hash) {
        *hash = '\0';
        frag = hash + 1;
    }
    json_t *doc = find_resource(c, abs);
    if (!doc) {
        fail(c, HL_SCHEMA_EUNSUPPORTED,
             "'$ref' '%s' at '%s' points outside this schema (remote references are not "
             "supported)",
             ref, kptr);
        goto out;
    }
    json_t *t;
    char *tptr = NULL;
    if (*frag == '\0' || *frag == '/') {
        char *dec = percent_decode(frag);
        t = hl_jsonptr_get(doc, dec); /* RFC 6901 */
        free(dec);
    } else {
        struct hl_buf u = HL_BUF_INIT;
        hl_buf_addf(&u, "%s#%s", abs, frag);
        t = find_resource(c, hl_buf_str(&u));
        hl_buf_release(&u);
    }
    if (!t) {
        fail(c, HL_EINVAL, "'$ref' '%s' at '%s' does not resolve", ref, kptr);
        goto out;
    }
    struct loc *l = pmap_get(&c->locs, t);
    if (!l) {
        /* a location no keyword makes a subschema, e.g. inside an unknown keyword */
        struct hl_buf p = HL_BUF_INIT;
        hl_buf_addf(&p, "%s#%s", abs, frag);
        tptr = hl_buf_detach(&p, NULL);
    }
    target = compile_node(c, t, abs, l ? l->ptr : tptr);
    free(tptr);
out:
    free(abs);
    return target;
}

/* Compiles one keyword of node n. Returns false (with c->err set) on refusal or error. */
static bool compile_keyword(struct cctx *c, struct node *n, const struct keyword *kw,
                            const char *key, json_t *v, const char *base, const char *kptr)
{
    switch (kw->id) {
    case KW_ANNOTATION:
    case KW_ID:
        return true;
    case KW_REFUSED:
        return fail(c, HL_SCHEMA_EUNSUPPORTED, "unsupported keyword '%s' at '%s'", key, kptr);
    case KW_SCHEMA: {
        const char *u = json_string_value(v);
        if (!u || (strcmp(u, DRAFT_2020_12) != 0 && strcmp(u, DRAFT_2020_12 "#") != 0))
            return fail(c, HL_SCHEMA_EUNSUPPORTED,
                        "unsupported '$schema' at '%s': only " DRAFT_2020_12
                        " is implemented",
                        kptr);
        return true;
    }
    case KW_ANCHOR: {
        const char *a = json_string_value(v);
        bool ok = a && ((*a >= 'A' && *a <= 'Z') || (*a >= 'a' && *a <= 'z') || *a == '_');
        for (const char *p = a; ok && *p; p++)
            ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                 (*p >= '0' && *p <= '9') || strchr("-._", *p);
        return ok || fail(c, HL_EINVAL, "'$anchor' at '%s' is not a valid anchor name", kptr);
    }
    case KW_REF:
        if (!json_is_string(v))
            return fail(c, HL_EINVAL, "'$ref' at '%s' must be a string", kptr);
        n->ref = compile_ref(c, json_string_value(v), base, kptr);
        return n->ref != NULL;
    case KW_DEFS:
    case KW_PROPERTIES:
    case KW_PATTERN_PROPERTIES:
    case KW_DEPENDENT_SCHEMAS: {
        if (!json_is_object(v))
            return fail(c, HL_EINVAL, "'%s' at '%s' must be an object of schemas", key, kptr);
        size_t cnt = json_object_size(v), i = 0;
        if (kw->id == KW_PROPERTIES)
            n->props = hl_xcalloc(cnt, sizeof(*n->props));
        else if (kw->id == KW_PATTERN_PROPERTIES)
            n->pats = hl_xcalloc(cnt, sizeof(*n->pats));
        else if (kw->id == KW_DEPENDENT_SCHEMAS)
            n->dep_schemas = hl_xcalloc(cnt, sizeof(*n->dep_schemas));
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2) {
            char *p = pointer_child(kptr, k2);
            struct node *sub = compile_node(c, v2, base, p);
            pcre2_code *re = NULL;
            if (sub && kw->id == KW_PATTERN_PROPERTIES)
                re = regex_compile(c, k2, p);
            free(p);
            if (!sub || (kw->id == KW_PATTERN_PROPERTIES && !re))
                return false;
            if (kw->id == KW_PROPERTIES) {
                n->props[i] = (struct prop){k2, sub};
                n->nprops = ++i;
            } else if (kw->id == KW_PATTERN_PROPERTIES) {
                n->pats[i] = (struct patprop){re, sub};
                n->npats = ++i;
            } else if (kw->id == KW_DEPENDENT_SCHEMAS) {
                n->dep_schemas[i] = (struct prop){k2, sub};
                n->ndep_schemas = ++i;
            }
        }
        if (kw->id == KW_PROPERTIES)
            qsort(n->props, n->nprops, sizeof(*n->props), prop_cmp);
        return true;
    }
    case KW_ADDITIONAL_PROPERTIES:
    case KW_PROPERTY_NAMES:
    case KW_ITEMS:
    case KW_CONTAINS:
    case KW_NOT:
    case KW_IF:
    case KW_THEN:
    case KW_ELSE: {
        struct node *sub = compile_node(c, v, base, kptr);
        if (!sub)
            return false;
        struct node **slot = kw->id == KW_ADDITIONAL_PROPERTIES ? &n->additional
                             : kw->id == KW_PROPERTY_NAMES      ? &n->property_names
                             : kw->id == KW_ITEMS               ? &n->items
                             : kw->id == KW_CONTAINS            ? &n->contains
                             : kw->id == KW_NOT                 ? &n->not_
                             : kw->id == KW_IF                  ? &n->if_
                             : kw->id == KW_THEN                ? &n->then_
                                                                : &n->else_;
        *slot = sub;
        return true;
    }
    case KW_PREFIX_ITEMS: {
        struct nodelist l = {0};
        bool ok = compile_list(c, v, base, kptr, key, &l);
        n->prefix = l.v;
        n->nprefix = l.n;
        return ok;
    }
    case KW_ALL_OF:
        return compile_list(c, v, base, kptr, key, &n->all_of);
    case KW_ANY_OF:
        return compile_list(c, v, base, kptr, key, &n->any_of);
    case KW_ONE_OF:
        return compile_list(c, v, base, kptr, key, &n->one_of);
    case KW_TYPE: {
        size_t cnt = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < cnt; i++) {
            const char *t = json_string_value(json_is_array(v) ? json_array_get(v, i) : v);
            size_t k = 0;
            while (t && k < sizeof(type_names) / sizeof(type_names[0]) &&
                   strcmp(type_names[k], t) != 0)
                k++;
            if (!t || k == sizeof(type_names) / sizeof(type_names[0]))
                return fail(c, HL_EINVAL, "'type' at '%s' names no JSON Schema type", kptr);
            n->types |= 1u << k;
        }
        return true;
    }
    case KW_ENUM:
        if (!json_is_array(v))
            return fail(c, HL_EINVAL, "'enum' at '%s' must be an array", kptr);
        n->enum_ = v;
        return true;
    case KW_CONST:
        n->const_ = v;
        return true;
    case KW_REQUIRED: {
        if (!json_is_array(v))
            return fail(c, HL_EINVAL, "'required' at '%s' must be an array of strings", kptr);
        n->nrequired = json_array_size(v);
        n->required = hl_xcalloc(n->nrequired, sizeof(*n->required));
        for (size_t i = 0; i < n->nrequired; i++)
            if (!(n->required[i] = json_string_value(json_array_get(v, i))))
                return fail(c, HL_EINVAL, "'required' at '%s' must be an array of strings",
                            kptr);
        return true;
    }
    case KW_DEPENDENT_REQUIRED: {
        if (!json_is_object(v))
            return fail(c, HL_EINVAL, "'dependentRequired' at '%s' must be an object", kptr);
        n->dep_req = hl_xcalloc(json_object_size(v), sizeof(*n->dep_req));
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2) {
            struct depreq *d = &n->dep_req[n->ndep_req++];
            d->name = k2;
            if (!json_is_array(v2))
                return fail(c, HL_EINVAL, "'dependentRequired' at '%s' needs string arrays",
                            kptr);
            d->n = json_array_size(v2);
            d->names = hl_xcalloc(d->n, sizeof(*d->names));
            for (size_t i = 0; i < d->n; i++)
                if (!(d->names[i] = json_string_value(json_array_get(v2, i))))
                    return fail(c, HL_EINVAL,
                                "'dependentRequired' at '%s' needs string arrays", kptr);
        }
        return true;
    }
    case KW_MIN_PROPERTIES:
    case KW_MAX_PROPERTIES:
    case KW_MIN_CONTAINS:
    case KW_MAX_CONTAINS:
    case KW_MIN_ITEMS:
    case KW_MAX_ITEMS:
    case KW_MIN_LENGTH:
    case KW_MAX_LENGTH: {
        long long *slot = kw->id == KW_MIN_PROPERTIES ? &n->min_props
                          : kw->id == KW_MAX_PROPERTIES ? &n->max_props
                          : kw->id == KW_MIN_CONTAINS   ? &n->min_contains
                          : kw->id == KW_MAX_CONTAINS   ? &n->max_contains
                          : kw->id == KW_MIN_ITEMS      ? &n->min_items
                          : kw->id == KW_MAX_ITEMS      ? &n->max_items
                          : kw->id == KW_MIN_LENGTH     ? &n->min_len
                                                        : &n->max_len;
        if (!count_value(v, slot))
            return fail(c, HL_EINVAL, "'%s' at '%s' must be a non-negative integer", key, kptr);
        return true;
    }
    case KW_UNIQUE_ITEMS:
        if (!json_is_boolean(v))
            return fail(c, HL_EINVAL, "'uniqueItems' at '%s' must be a boolean", kptr);
        n->unique = json_is_true(v);
        return true;
    case KW_PATTERN:
        if (!json_is_string(v))
            return fail(c, HL_EINVAL, "'pattern' at '%s' must be a string", kptr);
        n->pattern_src = json_string_value(v);
        n->pattern = regex_compile(c, n->pattern_src, kptr);
        return n->pattern != NULL;
    case KW_MINIMUM:
    case KW_MAXIMUM:
    case KW_EXCLUSIVE_MINIMUM:
    case KW_EXCLUSIVE_MAXIMUM:
    case KW_MULTIPLE_OF: {
        struct num *slot = kw->id == KW_MINIMUM             ? &n->minimum
                           : kw->id == KW_MAXIMUM           ? &n->maximum
                           : kw->id == KW_EXCLUSIVE_MINIMUM ? &n->xminimum
                           : kw->id == KW_EXCLUSIVE_MAXIMUM ? &n->xmaximum
                                                            : &n->multiple;
        if (!num_value(v, slot))
            return fail(c, HL_EINVAL, "'%s' at '%s' must be a number", key, kptr);
        if (kw->id == KW_MULTIPLE_OF && !(slot->d > 0))
            return fail(c, HL_EINVAL, "'multipleOf' at '%s' must be greater than 0", kptr);
        return true;
    }
    case KW_FORMAT:
        if (!json_is_string(v))
            return fail(c, HL_EINVAL, "'format' at '%s' must be a string", kptr);
        n->format_name = json_string_value(v);
        n->format = hl_schema_format_find(n->format_name);
        return n->format || fail(c, HL_SCHEMA_EUNSUPPORTED, "unsupported format '%s' at '%s'",
                                 n->format_name, kptr);
    }
    return fail(c, HL_EINVAL, "internal: keyword '%s' not handled", key);
}

/* Pass 2: the node for subschema s (memoized, so each json_t compiles once). */
static struct node *compile_node(struct cctx *c, json_t *s, const char *base, const char *ptr)
{
    struct node *n = pmap_get(&c->memo, s);
    if (n)
        return n;
    if (json_is_boolean(s)) {
        /* json_true() and json_false() are singletons: one node each serves every site */
        n = new_node(c, ptr);
        n->truth = json_is_true(s);
        pmap_put(&c->memo, s, n);
        return n;
    }
    if (!json_is_object(s))
        return fail(c, HL_EINVAL, "schema at '%s' must be an object or a boolean", ptr);
    struct loc *l = pmap_get(&c->locs, s);
    char *mybase = l ? hl_xstrdup(l->base) : apply_id(base, s);
    const char *myptr = l ? l->ptr : ptr;
    n = new_node(c, myptr);
    pmap_put(&c->memo, s, n);

    json_t *id = json_object_get(s, "$id");
    if (id) {
        const char *u = json_string_value(id);
        const char *hash = u ? strchr(u, '#') : NULL;
        if (!u || (hash && hash[1])) {
            n = fail(c, HL_EINVAL, "'$id' at '%s/$id' must be a URI without a fragment",
                     myptr);
            goto out;
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(s, key, v) {
        char *kptr = pointer_child(myptr, key);
        const struct keyword *kw = keyword_find(key);
        bool ok = kw ? compile_keyword(c, n, kw, key, v, mybase, kptr)
                     : fail(c, HL_SCHEMA_EUNSUPPORTED, "unknown keyword '%s' at '%s'", key,
                            kptr) != NULL;
        free(kptr);
        if (!ok) {
            n = NULL;
            goto out;
        }
        if (kw->id != KW_ANNOTATION && kw->id != KW_SCHEMA && kw->id != KW_ID &&
            kw->id != KW_ANCHOR && kw->id != KW_DEFS)
            n->has_keywords = true;
    }
out:
    free(mybase);
    return n;
}

/* Depth-first search over the edges that keep evaluating the same instance; a back edge
 * is a loop that would never terminate. colour: 0 new, 1 on the stack, 2 done. */
static struct node *inplace_cycle(struct node *n, unsigned char *colour)
{
    if (colour[n->id] == 2)
        return NULL;
    if (colour[n->id] == 1)
        return n;
    colour[n->id] = 1;
    struct node *single[] = {n->ref, n->not_, n->if_, n->then_, n->else_};
    struct node *hit = NULL;
    for (size_t i = 0; !hit && i < sizeof(single) / sizeof(single[0]); i++)
        if (single[i])
            hit = inplace_cycle(single[i], colour);
    const struct nodelist *lists[] = {&n->all_of, &n->any_of, &n->one_of};
    for (size_t k = 0; !hit && k < 3; k++)
        for (size_t i = 0; !hit && i < lists[k]->n; i++)
            hit = inplace_cycle(lists[k]->v[i], colour);
    for (size_t i = 0; !hit && i < n->ndep_schemas; i++)
        hit = inplace_cycle(n->dep_schemas[i].schema, colour);
    colour[n->id] = 2;
    return hit;
}

hl_err hl_schema_compile(const json_t *schema, struct hl_schema **out, char *errbuf,
                         size_t errlen)
{
    struct cctx c = {0};
    c.errbuf = errbuf;
    c.errlen = errlen;
    c.s = hl_xcalloc(1, sizeof(*c.s));
    c.s->doc = json_deep_copy(schema);
    *out = NULL;
    if (!c.s->doc) {
        fail(&c, HL_EINVAL, "schema is not a JSON value");
        goto out;
    }
    if (json_is_object(c.s->doc) && !json_object_get(c.s->doc, "$id"))
        add_resource(&c, "", c.s->doc);
    index_schema(&c, c.s->doc, "", "");
    c.s->root = compile_node(&c, c.s->doc, "", "");
    if (!c.s->root)
        goto out;
    unsigned char *colour = hl_xcalloc(c.s->nnodes, 1);
    for (size_t i = 0; i < c.s->nnodes && c.err == HL_OK; i++) {
        struct node *hit = inplace_cycle(c.s->nodes[i], colour);
        if (hit)
            fail(&c, HL_EINVAL,
                 "'$ref' cycle through '%s' never descends into the instance (it would "
                 "recurse forever)",
                 hit->ptr);
    }
    free(colour);
out:
    for (size_t i = 0; i < c.nres; i++)
        free(c.res[i].uri);
    free(c.res);
    pmap_release(&c.locs, loc_free);
    pmap_release(&c.memo, NULL);
    if (c.err != HL_OK) {
        hl_schema_free(c.s);
        return c.err;
    }
    *out = c.s;
    return HL_OK;
}

hl_err hl_schema_compile_file(const char *path, struct hl_schema **out, char *errbuf,
                              size_t errlen)
{
    json_error_t jerr;
    *out = NULL;
    json_t *j = json_load_file(path, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j) {
        snprintf(errbuf, errlen, "cannot load schema '%s': %s (line %d)", path, jerr.text,
                 jerr.line);
        return HL_EIO;
    }
    hl_err err = hl_schema_compile(j, out, errbuf, errlen);
    json_decref(j);
    return err;
}

void hl_schema_free(struct hl_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nnodes; i++)
        node_free(s->nodes[i]);
    free(s->nodes);
    json_decref(s->doc);
    free(s);
}

/* ---- validation ----------------------------------------------------------------------- */

/* One step of the instance path, linked towards the root, living on the C stack. */
struct seg {
    const struct seg *up;
    const char *key; /* NULL for an array index */
    size_t idx;
};

struct vctx {
    struct hl_schema_result *res; /* NULL: stop at the first failure */
    unsigned depth;
    bool full; /* res holds max_errors and another one came */
};

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_free(void *p)
{
    pcre2_match_data_free(p);
}

static void md_init(void)
{
    if (pthread_key_create(&md_key, md_free) != 0)
        abort();
}

/* Match data of one pair serves every pattern: only match/no-match matters here. */
static bool regex_match(const pcre2_code *re, const char *s, size_t len)
{
    pthread_once(&md_once, md_init);
    pcre2_match_data *md = pthread_getspecific(md_key);
    if (!md) {
        md = pcre2_match_data_create(1, NULL);
        if (!md || pthread_setspecific(md_key, md) != 0)
            abort();
    }
    return pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL) >= 0;
}

static char *path_string(const struct seg *p)
{
    const struct seg *stack[64];
    const struct seg **v = stack;
    size_t n = 0, cap = 64;
    for (const struct seg *q = p; q; q = q->up) {
        if (n == cap) {
            cap *= 2;
            if (v == stack) {
                v = hl_xmalloc(cap * sizeof(*v));
                memcpy(v, stack, sizeof(stack));
            } else {
                v = hl_xrealloc(v, cap * sizeof(*v));
            }
        }
        v[n++] = q;
    }
    struct hl_buf b = HL_BUF_INIT;
    while (n--) {
        if (v[n]->key)
            pointer_append(&b, v[n]->key);
        else
            hl_buf_addf(&b, "/%zu", v[n]->idx);
    }
    if (v != stack)
        free(v);
    return hl_buf_detach(&b, NULL);
}

/* Records an error. Returns true when evaluation should go on collecting. */
static bool report(struct vctx *c, const struct seg *path, const char *keyword,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bool report(struct vctx *c, const struct seg *path, const char *keyword,
                   const char *fmt, ...)
{
    struct hl_schema_result *r = c->res;
    if (!r)
        return false;
    if (r->nerrors >= r->max_errors) {
        r->truncated = true;
        c->full = true;
        return false;
    }
    struct hl_buf d = HL_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    hl_buf_vaddf(&d, fmt, ap);
    va_end(ap);
    r->errors = hl_xrealloc(r->errors, (r->nerrors + 1) * sizeof(*r->errors));
    struct hl_schema_error *e = &r->errors[r->nerrors++];
    e->pointer = path_string(path);
    e->keyword = keyword;
    e->detail = hl_buf_detach(&d, NULL);
    return true;
}

static unsigned instance_type(const json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_OBJECT:
        return T_OBJECT;
    case JSON_ARRAY:
        return T_ARRAY;
    case JSON_STRING:
        return T_STRING;
    case JSON_INTEGER:
        return T_NUMBER | T_INTEGER;
    case JSON_REAL: {
        double d = json_real_value(x);
        return T_NUMBER | (isfinite(d) && d == floor(d) ? T_INTEGER : 0);
    }
    case JSON_TRUE:
    case JSON_FALSE:
        return T_BOOLEAN;
    case JSON_NULL:
        return T_NULL;
    }
    return 0;
}

/* JSON Schema equality: numbers by value (1 equals 1.0), objects regardless of order. */
static bool json_same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_same(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            json_t *w = json_object_get(b, k);
            if (!w || !json_same(v, w))
                return false;
        }
        return true;
    }
    default:
        return true;
    }
}

static int num_cmp(const json_t *x, const struct num *b)
{
    if (json_is_integer(x) && b->is_int) {
        json_int_t v = json_integer_value(x);
        return (v > b->i) - (v < b->i);
    }
    double v = json_number_value(x);
    return (v > b->d) - (v < b->d);
}

static bool multiple_of(const json_t *x, const struct num *m)
{
    if (json_is_integer(x) && m->is_int)
        return json_integer_value(x) % m->i == 0;
    double q = json_number_value(x) / m->d;
    if (!isfinite(q)) /* the quotient overflows: fmod is exact, if rarely useful */
        return isfinite(json_number_value(x)) && fmod(json_number_value(x), m->d) == 0;
    return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q));
}

static const char *num_str(const struct num *b, char *buf, size_t len)
{
    if (b->is_int)
        snprintf(buf, len, "%lld", (long long)b->i);
    else
        snprintf(buf, len, "%.17g", b->d);
    return buf;
}

static size_t utf8_length(const char *s, size_t n)
{
    size_t cps = 0;
    for (size_t i = 0; i < n; i++)
        cps += ((unsigned char)s[i] & 0xC0) != 0x80;
    return cps;
}

static bool v_node(struct vctx *c, const struct node *n, const json_t *x,
                   const struct seg *path, const char *via);

/* Evaluates a subschema whose failures are not the instance's errors. */
static bool quiet(const struct vctx *c, const struct node *n, const json_t *x,
                  const struct seg *path)
{
    struct vctx q = {NULL, c->depth, false};
    return v_node(&q, n, x, path, "");
}

/* On failure of an assertion: record it, and stop unless collecting (and not full). */
#define FAIL(...)                                                                               \
    do {                                                                                       \
        ok = false;                                                                            \
        if (!report(c, path, __VA_ARGS__))                                                     \
            return false;                                                                      \
    } while (0)

/* On failure of a subschema that reported its own errors. */
#define SUB(call)                                                                              \
    do {                                                                                       \
        if (!(call)) {                                                                         \
            ok = false;                                                                        \
            if (!c->res || c->full)                                                            \
                return false;                                                                  \
        }                                                                                      \
    } while (0)

static void type_list(const struct node *n, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < sizeof(type_names) / sizeof(type_names[0]); k++)
        if (n->types & (1u << k)) {
            int w = snprintf(buf + o, len - o, "%s%s", o ? " or " : "", type_names[k]);
            if (w < 0 || (size_t)w >= len - o)
                return;
            o += (size_t)w;
        }
}

static bool v_object(struct vctx *c, const struct node *n, const json_t *x,
                     const struct seg *path)
{
    bool ok = true;
    for (size_t i = 0; i < n->nrequired; i++)
        if (!json_object_get(x, n->required[i]))
            FAIL("required", "missing required property '%s'", n->required[i]);
    size_t size = json_object_size(x);
    if (n->min_props >= 0 && size < (unsigned long long)n->min_props)
        FAIL("minProperties", "must have at least %lld properties", n->min_props);
    if (n->max_props >= 0 && size > (unsigned long long)n->max_props)
        FAIL("maxProperties", "must have at most %lld properties", n->max_props);
    for (size_t i = 0; i < n->ndep_req; i++) {
        const struct depreq *d = &n->dep_req[i];
        if (!json_object_get(x, d->name))
            continue;
        for (size_t k = 0; k < d->n; k++)
            if (!json_object_get(x, d->names[k]))
                FAIL("dependentRequired", "property '%s' is required when '%s' is present",
                     d->names[k], d->name);
    }
    for (size_t i = 0; i < n->ndep_schemas; i++)
        if (json_object_get(x, n->dep_schemas[i].name))
            SUB(v_node(c, n->dep_schemas[i].schema, x, path, "dependentSchemas"));
    if (!n->nprops && !n->npats && !n->additional && !n->property_names)
        return ok;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)x, key, val) {
        struct seg s = {path, key, 0};
        bool matched = false;
        if (n->property_names) {
            json_t *k = json_string(key);
            bool good = quiet(c, n->property_names, k, &s);
            json_decref(k);
            if (!good) {
                ok = false;
                if (!report(c, &s, "propertyNames", "property name '%s' is not allowed", key))
                    return false;
            }
        }
        if (n->nprops) {
            struct prop want = {key, NULL};
            const struct prop *p = bsearch(&want, n->props, n->nprops, sizeof(*p), prop_cmp);
            if (p) {
                matched = true;
                SUB(v_node(c, p->schema, val, &s, "properties"));
            }
        }
        for (size_t i = 0; i < n->npats; i++)
            if (regex_match(n->pats[i].re, key, strlen(key))) {
                matched = true;
                SUB(v_node(c, n->pats[i].schema, val, &s, "patternProperties"));
            }
        if (!matched && n->additional)
            SUB(v_node(c, n->additional, val, &s, "additionalProperties"));
    }
    return ok;
}

static bool v_array(struct vctx *c, const struct node *n, const json_t *x,
                    const struct seg *path)
{
    bool ok = true;
    size_t size = json_array_size(x);
    if (n->min_items >= 0 && size < (unsigned long long)n->min_items)
        FAIL("minItems", "must have at least %lld items", n->min_items);
    if (n->max_items >= 0 && size > (unsigned long long)n->max_items)
        FAIL("maxItems", "must have at most %lld items", n->max_items);
    for (size_t i = 0; i < size && (i < n->nprefix || n->items); i++) {
        struct seg s = {path, NULL, i};
        if (i < n->nprefix)
            SUB(v_node(c, n->prefix[i], json_array_get(x, i), &s, "prefixItems"));
        else
            SUB(v_node(c, n->items, json_array_get(x, i), &s, "items"));
    }
    if (n->contains) {
        long long min = n->min_contains >= 0 ? n->min_contains : 1, hits = 0;
        for (size_t i = 0; i < size; i++) {
            struct seg s = {path, NULL, i};
            hits += quiet(c, n->contains, json_array_get(x, i), &s);
        }
        if (hits < min)
            FAIL(n->min_contains >= 0 ? "minContains" : "contains",
                 "must contain at least %lld matching item(s), has %lld", min, hits);
        if (n->max_contains >= 0 && hits > n->max_contains)
            FAIL("maxContains", "must contain at most %lld matching item(s), has %lld",
                 n->max_contains, hits);
    }
    if (n->unique) {
        for (size_t i = 1; i < size; i++)
            for (size_t j = 0; j < i; j++)
                if (json_same(json_array_get(x, i), json_array_get(x, j))) {
                    FAIL("uniqueItems", "items %zu and %zu are equal", j, i);
                    i = size;
                    break;
                }
    }
    return ok;
}

static bool v_keywords(struct vctx *c, const struct node *n, const json_t *x,
                       const struct seg *path)
{
    bool ok = true;
    char b1[64];
    unsigned t = instance_type(x);
    if (n->types && !(n->types & t)) {
        char names[96];
        type_list(n, names, sizeof(names));
        FAIL("type", "must be %s", names);
    }
    if (n->const_ && !json_same(n->const_, x))
        FAIL("const", "must equal the constant");
    if (n->enum_) {
        size_t i, cnt = json_array_size(n->enum_);
        for (i = 0; i < cnt; i++)
            if (json_same(json_array_get(n->enum_, i), x))
                break;
        if (i == cnt)
            FAIL("enum", "must be one of the enumerated values");
    }
    if (t & T_STRING) {
        const char *s = json_string_value(x);
        size_t len = json_string_length(x);
        if (n->min_len >= 0 || n->max_len >= 0) {
            size_t cps = utf8_length(s, len);
            if (n->min_len >= 0 && cps < (unsigned long long)n->min_len)
                FAIL("minLength", "must be at least %lld characters long", n->min_len);
            if (n->max_len >= 0 && cps > (unsigned long long)n->max_len)
                FAIL("maxLength", "must be at most %lld characters long", n->max_len);
        }
        if (n->pattern && !regex_match(n->pattern, s, len))
            FAIL("pattern", "must match pattern '%s'", n->pattern_src);
        if (n->format && !n->format(s, len))
            FAIL("format", "must be a valid %s", n->format_name);
    } else if (t & T_NUMBER) {
        if (n->minimum.set && num_cmp(x, &n->minimum) < 0)
            FAIL("minimum", "must be >= %s", num_str(&n->minimum, b1, sizeof(b1)));
        if (n->maximum.set && num_cmp(x, &n->maximum) > 0)
            FAIL("maximum", "must be <= %s", num_str(&n->maximum, b1, sizeof(b1)));
        if (n->xminimum.set && num_cmp(x, &n->xminimum) <= 0)
            FAIL("exclusiveMinimum", "must be > %s", num_str(&n->xminimum, b1, sizeof(b1)));
        if (n->xmaximum.set && num_cmp(x, &n->xmaximum) >= 0)
            FAIL("exclusiveMaximum", "must be < %s", num_str(&n->xmaximum, b1, sizeof(b1)));
        if (n->multiple.set && !multiple_of(x, &n->multiple))
            FAIL("multipleOf", "must be a multiple of %s",
                 num_str(&n->multiple, b1, sizeof(b1)));
    } else if (t & T_OBJECT) {
        SUB(v_object(c, n, x, path));
    } else if (t & T_ARRAY) {
        SUB(v_array(c, n, x, path));
    }
    if (n->ref)
        SUB(v_node(c, n->ref, x, path, "$ref"));
    for (size_t i = 0; i < n->all_of.n; i++)
        SUB(v_node(c, n->all_of.v[i], x, path, "allOf"));
    if (n->any_of.n) {
        size_t i = 0;
        while (i < n->any_of.n && !quiet(c, n->any_of.v[i], x, path))
            i++;
        if (i == n->any_of.n)
            FAIL("anyOf", "must match at least one of the schemas");
    }
    if (n->one_of.n) {
        size_t hits = 0;
        for (size_t i = 0; i < n->one_of.n && hits < 2; i++)
            hits += quiet(c, n->one_of.v[i], x, path);
        if (hits == 0)
            FAIL("oneOf", "must match exactly one of the schemas, matches none");
        else if (hits > 1)
            FAIL("oneOf", "must match exactly one of the schemas, matches more than one");
    }
    if (n->not_ && quiet(c, n->not_, x, path))
        FAIL("not", "must not match the schema");
    if (n->if_) {
        if (quiet(c, n->if_, x, path)) {
            if (n->then_)
                SUB(v_node(c, n->then_, x, path, "then"));
        } else if (n->else_) {
            SUB(v_node(c, n->else_, x, path, "else"));
        }
    }
    return ok;
}

/* `via` names the keyword that led here, for the error a false schema produces. */
static bool v_node(struct vctx *c, const struct node *n, const json_t *x,
                   const struct seg *path, const char *via)
{
    if (n->truth >= 0) {
        if (n->truth)
            return true;
        report(c, path, *via ? via : "false", "no value is allowed here");
        return false;
    }
    if (!n->has_keywords)
        return true;
    if (c->depth >= HL_SCHEMA_MAX_DEPTH) {
        report(c, path, "$ref", "schema nesting deeper than %d", HL_SCHEMA_MAX_DEPTH);
        return false;
    }
    c->depth++;
    bool ok = v_keywords(c, n, x, path);
    c->depth--;
    return ok;
}

static void clear_errors(struct hl_schema_result *res)
{
    for (size_t i = 0; i < res->nerrors; i++) {
        free(res->errors[i].pointer);
        free(res->errors[i].detail);
    }
    res->nerrors = 0;
    res->truncated = false;
}

bool hl_schema_validate(const struct hl_schema *schema, const json_t *instance,
                        struct hl_schema_result *res)
{
    if (res)
        clear_errors(res);
    struct vctx c = {res, 0, false};
    return v_node(&c, schema->root, instance, NULL, "");
}

void hl_schema_result_init(struct hl_schema_result *res, size_t max_errors)
{
    memset(res, 0, sizeof(*res));
    res->max_errors = max_errors ? max_errors : HL_SCHEMA_DEFAULT_MAX_ERRORS;
}

void hl_schema_result_release(struct hl_schema_result *res)
{
    clear_errors(res);
    free(res->errors);
    res->errors = NULL;
}

void hl_schema_errors_append(json_t *arr, const struct hl_schema_result *res,
                             const char *prefix)
{
    struct hl_buf ptr = HL_BUF_INIT;
    for (size_t i = 0; i < res->nerrors; i++) {
        const struct hl_schema_error *e = &res->errors[i];
        hl_buf_clear(&ptr);
        hl_buf_adds(&ptr, prefix);
        hl_buf_adds(&ptr, e->pointer);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "pointer", hl_buf_str(&ptr),
                                             "keyword", e->keyword, "detail", e->detail));
    }
    hl_buf_release(&ptr);
}

json_t *hl_schema_errors_to_json(const struct hl_schema_result *res)
{
    json_t *arr = json_array();
    hl_schema_errors_append(arr, res, "");
    return arr;
}
