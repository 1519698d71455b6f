/* Seed 002's --auth-type/--auth-credentials shapes mapped onto the API's auth object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_creds.h"

static json_t *auth, *sig;
static char err[256];

static int map(const char *type, const char *creds)
{
    json_decref(auth);
    json_decref(sig);
    auth = sig = NULL;
    err[0] = '\0';
    return ctl_creds_map(type, creds, &auth, &sig, err, sizeof(err));
}

/* auth serialised with sorted keys, for exact comparisons. */
static void assert_auth(const char *expected)
{
    char *s = json_dumps(auth, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, expected);
    free(s);
}

static void test_basic(void **state)
{
    assert_int_equal(map("basic", "{\"username\":\"user\",\"password\":\"pass\"}"), 0);
    assert_auth("{\"password\":\"pass\",\"type\":\"basic\",\"username\":\"user\"}");
    assert_null(sig);
}

static void test_bearer(void **state)
{
    assert_int_equal(map("bearer", "{\"token\":\"secret123\"}"), 0);
    assert_auth("{\"token\":\"secret123\",\"type\":\"bearer\"}");
}

static void test_api_key_renames_fields(void **state)
{
    assert_int_equal(map("api-key", "{\"api_key\":\"key\",\"header_name\":\"X-API-Key\"}"), 0);
    assert_auth("{\"header\":\"X-API-Key\",\"type\":\"api_key\",\"value\":\"key\"}");
    /* header_name is optional in the seed; its default is X-API-Key. */
    assert_int_equal(map("api-key", "{\"api_key\":\"k2\"}"), 0);
    assert_auth("{\"header\":\"X-API-Key\",\"type\":\"api_key\",\"value\":\"k2\"}");
    assert_int_equal(map("api_key", "{\"api_key\":\"k3\",\"header_name\":\"X-Partner\"}"), 0);
    assert_auth("{\"header\":\"X-Partner\",\"type\":\"api_key\",\"value\":\"k3\"}");
}

static void test_hmac_takes_the_seed_header_and_moves_the_legacy_signature(void **state)
{
    assert_int_equal(map("hmac", "{\"secret\":\"shared-secret-0123456789\"}"), 0);
    assert_auth("{\"header\":\"X-Webhook-Signature\",\"secret\":\"shared-secret-0123456789\","
                "\"type\":\"hmac\"}");
    assert_non_null(sig);
    assert_string_equal(json_string_value(json_object_get(sig, "legacy_header")),
                        "X-Hookline-Signature");
}

static void test_none(void **state)
{
    assert_int_equal(map("none", NULL), 0);
    assert_auth("{\"type\":\"none\"}");
    assert_int_equal(map("none", "{}"), -1);
}

static void test_refusals_name_the_field_not_the_value(void **state)
{
    assert_int_equal(map("bearer", "{\"tok\":\"hunter2-secret\"}"), -1);
    assert_non_null(strstr(err, "'tok' is not a field of bearer credentials"));
    assert_null(strstr(err, "hunter2-secret"));
    assert_int_equal(map("basic", "{\"username\":\"u\"}"), -1);
    assert_non_null(strstr(err, "need 'password'"));
    assert_int_equal(map("api-key", "{\"header_name\":\"X\"}"), -1);
    assert_non_null(strstr(err, "need 'api_key'"));
    assert_int_equal(map("bearer", "{\"token\":42}"), -1);
    assert_non_null(strstr(err, "must be a string"));
    assert_int_equal(map("bearer", "[\"token\"]"), -1);
    assert_non_null(strstr(err, "JSON object"));
    assert_int_equal(map("bearer", NULL), -1);
    assert_non_null(strstr(err, "needs --auth-credentials"));
    assert_int_equal(map("digest", "{}"), -1);
    assert_non_null(strstr(err, "none, basic, bearer, api-key or hmac"));
    assert_null(auth);
    assert_null(sig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_api_key_renames_fields),
        cmocka_unit_test(test_hmac_takes_the_seed_header_and_moves_the_legacy_signature),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_refusals_name_the_field_not_the_value),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    json_decref(auth);
    json_decref(sig);
    return rc;
}
