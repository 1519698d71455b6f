/* The gateway's route table against schemas/openapi.json: every documented operation has a
 * route, every route is documented, and the table is well formed (one placeholder at
 * most, no operation twice). Placeholder names may differ ({id}, {source_id}): only their
 * places count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "gw_route.h"
#include "gw_routes.h"

/* "/a/{x}/b" -> "/a/{}/b"; a trailing "/" of a collection's pattern is never written. */
static void normalize(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    while (*in && n + 3 < outlen) {
        if (*in == '{') {
            memcpy(out + n, "{}", 2);
            n += 2;
            in = strchr(in, '}');
            assert_non_null(in);
            in++;
        } else {
            out[n++] = *in++;
        }
    }
    out[n] = '\0';
}

static void lower(const char *in, char *out, size_t outlen)
{
    size_t i = 0;
    for (; in[i] && i + 1 < outlen; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
    out[i] = '\0';
}

static json_t *documented(void)
{
    json_error_t err;
    json_t *doc = json_load_file(HL_OPENAPI_JSON, 0, &err);
    if (!doc)
        fail_msg("cannot read %s: %s", HL_OPENAPI_JSON, err.text);
    /* {normalized path: {method: true}} */
    json_t *ops = json_object();
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        char norm[256];
        normalize(path, norm, sizeof(norm));
        json_t *methods = json_object();
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op) {
            if (strcmp(m, "parameters") && strcmp(m, "summary") && strcmp(m, "description"))
                json_object_set_new(methods, m, json_true());
        }
        json_object_set_new(ops, norm, methods);
    }
    json_decref(doc);
    return ops;
}

static void test_every_route_is_documented(void **state)
{
    (void)state;
    json_t *ops = documented();
    for (size_t i = 0; i < gw_nresources; i++) {
        const struct gw_resource *res = gw_resources[i];
        for (size_t k = 0; k < res->nroutes; k++) {
            const struct gw_route *rt = &res->routes[k];
            char full[256], norm[256], m[16];
            snprintf(full, sizeof(full), "%s%s", res->prefix, rt->path);
            normalize(full, norm, sizeof(norm));
            lower(rt->method, m, sizeof(m));
            if (!json_object_get(json_object_get(ops, norm), m))
                fail_msg("route %s %s is not in schemas/openapi.json", rt->method, full);
        }
    }
    json_decref(ops);
}

static void test_every_documented_operation_has_a_route(void **state)
{
    (void)state;
    json_t *ops = documented();
    const char *path;
    json_t *methods;
    json_object_foreach(ops, path, methods) {
        const char *m;
        json_t *unused;
        json_object_foreach(methods, m, unused) {
            bool found = false;
            for (size_t i = 0; i < gw_nresources && !found; i++) {
                const struct gw_resource *res = gw_resources[i];
                for (size_t k = 0; k < res->nroutes && !found; k++) {
                    char full[256], norm[256];
                    snprintf(full, sizeof(full), "%s%s", res->prefix, res->routes[k].path);
                    normalize(full, norm, sizeof(norm));
                    found = strcmp(norm, path) == 0 && strcasecmp(res->routes[k].method, m) == 0;
                }
            }
            if (!found)
                fail_msg("schemas/openapi.json has %s %s, which no route serves", m, path);
        }
    }
    json_decref(ops);
}

static void test_table_is_well_formed(void **state)
{
    (void)state;
    for (size_t i = 0; i < gw_nresources; i++) {
        const struct gw_resource *res = gw_resources[i];
        assert_non_null(res->prefix);
        assert_true(res->nroutes > 0);
        /* A later prefix must not be a longer form of an earlier one: it would never match. */
        for (size_t j = 0; j < i; j++) {
            size_t n = strlen(gw_resources[j]->prefix);
            if (strncmp(res->prefix, gw_resources[j]->prefix, n) == 0 && res->prefix[n] == '/')
                fail_msg("'%s' comes after '%s' and is never reached", res->prefix,
                         gw_resources[j]->prefix);
        }
        for (size_t k = 0; k < res->nroutes; k++) {
            const struct gw_route *rt = &res->routes[k];
            const char *open = strchr(rt->path, '{');
            assert_non_null(rt->handler);
            if (open && strchr(open + 1, '{'))
                fail_msg("%s%s has two placeholders", res->prefix, rt->path);
            if (open && !res->param_ok && !(res->flags & GW_RES_PUBLIC) && !res->gate)
                fail_msg("%s%s: a placeholder with no check", res->prefix, rt->path);
            for (size_t l = 0; l < k; l++)
                if (strcmp(rt->path, res->routes[l].path) == 0 &&
                    strcmp(rt->method, res->routes[l].method) == 0)
                    fail_msg("%s %s%s twice", rt->method, res->prefix, rt->path);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_is_documented),
        cmocka_unit_test(test_every_documented_operation_has_a_route),
        cmocka_unit_test(test_table_is_well_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
