/* Webhook URL validation at creation time: form, scheme, credentials, ports, and literal
 * hosts SSRF protection blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/url.h"

static void test_accepts_http_and_https(void **state)
{
    char err[256];
    assert_int_equal(hl_url_validate("https://example.com/hooks", err, sizeof(err)), HL_OK);
    assert_int_equal(hl_url_validate("http://93.184.216.34:9000/x?y=1", err, sizeof(err)),
                     HL_OK);
    assert_int_equal(hl_url_validate("HTTPS://Example.com", err, sizeof(err)), HL_OK);
    assert_int_equal(hl_url_validate("https://[2606:4700::1]:8443/h", err, sizeof(err)), HL_OK);
}

static void test_ports(void **state)
{
    char err[256];
    const char *good[] = {"http://example.com:80/", "https://example.com:443/",
                          "http://example.com:1024/", "https://example.com:65535/",
                          "http://example.com:8080/", "https://example.com:80/"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (hl_url_check(good[i], NULL, err, sizeof(err)) != HL_OK)
            fail_msg("'%s' was refused: %s", good[i], err);
    const char *bad[] = {"http://example.com:22/", "https://example.com:25/",
                         "http://example.com:0/", "http://example.com:1023/",
                         "http://example.com:65536/", "http://example.com:6379x/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (hl_url_check(bad[i], NULL, err, sizeof(err)) != HL_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    assert_int_equal(hl_url_check("http://example.com:22/", NULL, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "port"));
}

/* Literal hosts in blocked ranges are refused, in any spelling; names are not resolved. */
static void test_blocked_hosts(void **state)
{
    char err[256];
    const char *bad[] = {"http://127.0.0.1:9000/", "http://localhost:8080/",
                         "http://api.localhost/", "http://169.254.169.254/latest/meta-data/",
                         "http://10.0.0.1/", "https://192.168.1.1/", "http://[::1]:8080/",
                         "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/",
                         "http://[fd00::1]/", "http://0x7f.1/", "http://2130706433/",
                         "http://0177.0.0.1/", "http://127.1/", "http://0/",
                         "http://[fe80::1%25eth0]/", "http://100.64.0.1/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (hl_url_check(bad[i], NULL, err, sizeof(err)) != HL_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        if (!strstr(err, "is not allowed"))
            fail_msg("'%s': unexpected reason '%s'", bad[i], err);
    }
    /* a name that may resolve anywhere is checked when connecting, not here */
    assert_int_equal(hl_url_check("http://internal.example.com/", NULL, err, sizeof(err)),
                     HL_OK);
}

static void test_allowlist_admits_blocked_hosts(void **state)
{
    char err[256];
    struct hl_ssrf_allowlist a;
    assert_int_equal(hl_ssrf_allowlist_parse("127.0.0.0/8,::1/128", &a, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_url_check("http://127.0.0.1:9000/x", &a, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_url_check("http://localhost:9000/x", &a, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_url_check("http://[::1]:9000/x", &a, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_url_check("http://[::ffff:127.0.0.1]:9000/", &a, err, sizeof(err)),
                     HL_OK);
    assert_int_equal(hl_url_check("http://10.0.0.1:9000/", &a, err, sizeof(err)), HL_EINVAL);
    /* the allow-list does not open privileged ports */
    assert_int_equal(hl_url_check("http://127.0.0.1:22/", &a, err, sizeof(err)), HL_EINVAL);

    /* hl_url_validate uses the process's list */
    assert_int_equal(hl_url_validate("http://127.0.0.1:9000/x", err, sizeof(err)), HL_EINVAL);
    hl_ssrf_allow = a;
    assert_int_equal(hl_url_validate("http://127.0.0.1:9000/x", err, sizeof(err)), HL_OK);
    hl_ssrf_allow.n = 0;
}

static void test_refuses_other_forms(void **state)
{
    char err[256];
    const char *bad[] = {"", "example.com/hooks", "ftp://example.com/", "file:///etc/passwd",
                         "https://user:pw@example.com/", "https://user@example.com/",
                         "https://exa mple.com/", "https:///path", "javascript:alert(1)",
                         /* fuzz_url_validate: "://" later in the URL hid a single slash */
                         "https:/https://$ser:pw@examp/", "https:/169.254.169.254/x?r=://a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hl_url_validate(bad[i], err, sizeof(err)) != HL_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    }
}

static void test_refuses_overlong(void **state)
{
    char err[256];
    char url[HL_URL_MAX + 32] = "https://example.com/";
    memset(url + strlen(url), 'a', HL_URL_MAX);
    url[HL_URL_MAX + 1] = '\0';
    assert_int_equal(hl_url_validate(url, err, sizeof(err)), HL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_http_and_https),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_blocked_hosts),
        cmocka_unit_test(test_allowlist_admits_blocked_hosts),
        cmocka_unit_test(test_refuses_other_forms),
        cmocka_unit_test(test_refuses_overlong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
