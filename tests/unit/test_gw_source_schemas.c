/* The sources' payload-schema cache (gateway/src/gw_source_schemas.c): one compilation per
 * (source, version), a new version or a forget replaces the entry without invalidating
 * references still in use, schemas that do not compile are remembered as such, and
 * concurrent workers can hammer it (run under ASan in build-asan). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gw_source_schemas.h"
#include "hl/jsonschema.h"

#define ID_A "01a2050c-0000-7000-8000-00000000000a"
#define ID_B "01a2050c-0000-7000-8000-00000000000b"

static int teardown(void **state)
{
    (void)state;
    gw_source_schemas_clear();
    return 0;
}

static json_t *schema_min(int min)
{
    return json_pack("{s:s, s:i}", "type", "integer", "minimum", min);
}

static bool valid(const struct gw_source_schema *e, json_int_t v)
{
    json_t *n = json_integer(v);
    bool ok = hl_schema_validate(gw_source_schema_compiled(e), n, NULL);
    json_decref(n);
    return ok;
}

static void test_same_version_is_compiled_once(void **state)
{
    (void)state;
    json_t *s = schema_min(5);
    struct gw_source_schema *a = gw_source_schema_get(ID_A, "100", s);
    struct gw_source_schema *b = gw_source_schema_get(ID_A, "100", s);
    assert_non_null(gw_source_schema_compiled(a));
    assert_ptr_equal(a, b);
    assert_true(valid(a, 5));
    assert_false(valid(a, 4));
    gw_source_schema_put(a);
    gw_source_schema_put(b);
    assert_int_equal(gw_source_schemas_cached(), 1);
    json_decref(s);
}

static void test_new_version_replaces_but_old_reference_stays_usable(void **state)
{
    (void)state;
    json_t *v1 = schema_min(5), *v2 = schema_min(50);
    struct gw_source_schema *old = gw_source_schema_get(ID_A, "100", v1);
    struct gw_source_schema *cur = gw_source_schema_get(ID_A, "200", v2);
    assert_ptr_not_equal(old, cur);
    assert_true(valid(old, 10)); /* still the schema it was compiled from */
    assert_false(valid(cur, 10));
    gw_source_schema_put(old);
    gw_source_schema_put(cur);
    struct gw_source_schema *again = gw_source_schema_get(ID_A, "200", v2);
    assert_ptr_equal(again, cur); /* the table kept the newer one */
    gw_source_schema_put(again);
    json_decref(v1);
    json_decref(v2);
}

static void test_forget_drops_the_entry_of_that_source_only(void **state)
{
    (void)state;
    json_t *s = schema_min(1);
    struct gw_source_schema *a = gw_source_schema_get(ID_A, "1", s);
    gw_source_schema_put(gw_source_schema_get(ID_B, "1", s));
    assert_int_equal(gw_source_schemas_cached(), 2);
    gw_source_schema_forget(ID_A);
    assert_int_equal(gw_source_schemas_cached(), 1);
    assert_true(valid(a, 1)); /* in use while forgotten: freed by the last put */
    gw_source_schema_put(a);
    struct gw_source_schema *b = gw_source_schema_get(ID_B, "1", s);
    assert_non_null(gw_source_schema_compiled(b));
    gw_source_schema_put(b);
    json_decref(s);
}

static void test_schema_that_does_not_compile_is_cached_as_not_enforced(void **state)
{
    (void)state;
    json_t *bad = json_pack("{s:b}", "unevaluatedProperties", 0);
    struct gw_source_schema *e = gw_source_schema_get(ID_A, "7", bad);
    assert_null(gw_source_schema_compiled(e));
    struct gw_source_schema *again = gw_source_schema_get(ID_A, "7", bad);
    assert_ptr_equal(e, again);
    gw_source_schema_put(e);
    gw_source_schema_put(again);
    json_decref(bad);
}

static void test_table_is_bounded(void **state)
{
    (void)state;
    json_t *s = schema_min(0);
    char id[40];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "01a2050c-0000-7000-8000-%012d", i);
        gw_source_schema_put(gw_source_schema_get(id, "1", s));
    }
    assert_in_range(gw_source_schemas_cached(), 1, 1024);
    json_decref(s);
}

#define THREADS 8
#define ROUNDS 2000

static void *hammer(void *arg)
{
    json_t *s = arg;
    char id[40], version[16];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(id, sizeof(id), "01a2050c-0000-7000-8000-%012d", i % 3);
        snprintf(version, sizeof(version), "%d", i % 5);
        struct gw_source_schema *e = gw_source_schema_get(id, version, s);
        if (!valid(e, 3) || valid(e, 2))
            return "wrong verdict";
        if (i % 7 == 0)
            gw_source_schema_forget(id);
        gw_source_schema_put(e);
    }
    return NULL;
}

static void test_concurrent_get_put_forget(void **state)
{
    (void)state;
    json_t *s = schema_min(3);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, s), 0);
    for (int i = 0; i < THREADS; i++) {
        void *res;
        assert_int_equal(pthread_join(t[i], &res), 0);
        assert_null(res);
    }
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_same_version_is_compiled_once, teardown),
        cmocka_unit_test_teardown(test_new_version_replaces_but_old_reference_stays_usable,
                                  teardown),
        cmocka_unit_test_teardown(test_forget_drops_the_entry_of_that_source_only, teardown),
        cmocka_unit_test_teardown(test_schema_that_does_not_compile_is_cached_as_not_enforced,
                                  teardown),
        cmocka_unit_test_teardown(test_table_is_bounded, teardown),
        cmocka_unit_test_teardown(test_concurrent_get_put_forget, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
