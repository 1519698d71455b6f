/* hooklinectl's connection settings: the profiles file and the precedence of flags,
 * --profile, environment and the default profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_conn.h"

static const char config[] = "# hookline profiles\n"
                             "[default]\n"
                             "url = http://127.0.0.1:8080/\n"
                             "api_key = hl_default_key\n"
                             "\n"
                             "[ admin ]\n"
                             "url=http://127.0.0.1:9090\n"
                             "api_key = \"hl_admin_key\"   \n"
                             "tenant = demo # the tenant it acts on\n";

static void test_profile_parse(void **state)
{
    struct ctl_conn c = {0};
    char err[128];
    assert_int_equal(ctl_profile_parse(config, "admin", &c, err, sizeof(err)), 1);
    assert_string_equal(c.url, "http://127.0.0.1:9090");
    assert_string_equal(c.api_key, "hl_admin_key");
    assert_string_equal(c.tenant, "demo");
    ctl_conn_release(&c);
    assert_int_equal(ctl_profile_parse(config, "staging", &c, err, sizeof(err)), 0);
    assert_null(c.url);
    assert_int_equal(ctl_profile_parse("[x]\nurl http://a\n", "x", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(ctl_profile_parse("[x]\npassword = a\n", "x", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown setting 'password'"));
    assert_int_equal(ctl_profile_parse("[x\n", "x", &c, err, sizeof(err)), -1);
    ctl_conn_release(&c);
}

static char dir[] = "/tmp/hl-cli-conn-XXXXXX";
static char path[300];

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/config", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(config, f);
    fclose(f);
    chmod(path, 0600); /* else every resolve warns that others may read the key */
    setenv("HOOKLINE_CONFIG", path, 1);
    return 0;
}

static int teardown(void **state)
{
    unlink(path);
    rmdir(dir);
    return 0;
}

static void clear_env(void)
{
    unsetenv("HOOKLINE_URL");
    unsetenv("HOOKLINE_API_KEY");
    unsetenv("HOOKLINE_TENANT");
    unsetenv("HOOKLINE_PROFILE");
}

static void test_precedence(void **state)
{
    struct ctl_conn c;
    char err[256];
    clear_env();
    /* Nothing else: the default profile, the trailing slash dropped. */
    assert_int_equal(ctl_conn_resolve(&c, NULL, NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_string_equal(c.url, "http://127.0.0.1:8080");
    assert_string_equal(c.api_key, "hl_default_key");
    assert_null(c.tenant);
    ctl_conn_release(&c);

    /* The environment beats the default profile. */
    setenv("HOOKLINE_API_KEY", "hl_env_key", 1);
    assert_int_equal(ctl_conn_resolve(&c, NULL, NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_string_equal(c.url, "http://127.0.0.1:8080");
    assert_string_equal(c.api_key, "hl_env_key");
    ctl_conn_release(&c);

    /* An explicit --profile beats the environment; flags beat everything. */
    assert_int_equal(ctl_conn_resolve(&c, NULL, NULL, "admin", NULL, err, sizeof(err)), 0);
    assert_string_equal(c.api_key, "hl_admin_key");
    assert_string_equal(c.tenant, "demo");
    ctl_conn_release(&c);
    assert_int_equal(ctl_conn_resolve(&c, "http://flag:1", "hl_flag", "admin", "t2", err,
                                      sizeof(err)),
                     0);
    assert_string_equal(c.url, "http://flag:1");
    assert_string_equal(c.api_key, "hl_flag");
    assert_string_equal(c.tenant, "t2");
    ctl_conn_release(&c);

    /* HOOKLINE_PROFILE picks the lowest layer. */
    unsetenv("HOOKLINE_API_KEY");
    setenv("HOOKLINE_PROFILE", "admin", 1);
    assert_int_equal(ctl_conn_resolve(&c, NULL, NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_string_equal(c.api_key, "hl_admin_key");
    ctl_conn_release(&c);
    clear_env();
}

static void test_errors_never_show_the_key(void **state)
{
    struct ctl_conn c;
    char err[256];
    clear_env();
    assert_int_equal(ctl_conn_resolve(&c, NULL, NULL, "nope", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "profile 'nope' is not in"));
    ctl_conn_release(&c);
    assert_int_equal(ctl_conn_resolve(&c, "ftp://x", "hl_k", NULL, NULL, err, sizeof(err)), -1);
    ctl_conn_release(&c);
    assert_int_equal(ctl_conn_resolve(&c, NULL, "hl bad key", NULL, NULL, err, sizeof(err)), -1);
    assert_null(strstr(err, "hl bad key"));
    ctl_conn_release(&c);
    /* No file, no environment: a clear message about what to set. */
    setenv("HOOKLINE_CONFIG", "/nonexistent/hookline/config", 1);
    assert_int_equal(ctl_conn_resolve(&c, NULL, NULL, NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no gateway URL"));
    ctl_conn_release(&c);
    assert_int_equal(ctl_conn_resolve(&c, "http://x", NULL, NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no API key"));
    ctl_conn_release(&c);
    setenv("HOOKLINE_CONFIG", path, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_parse),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_errors_never_show_the_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
