/* SSRF classifier and allow-list: every blocked range, IPv6 and its IPv4 embeddings, the
 * numeric IPv4 spellings resolvers accept, localhost, and public addresses that must pass.
 * Nothing here connects anywhere: addresses are only classified. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "hl/ssrf.h"

struct host_case {
    const char *host;  /* as written in a URL's host part */
    const char *block; /* substring of the reason when blocked; NULL when allowed */
};

/* With the empty allow-list. */
static const struct host_case hosts[] = {
    /* every IPv4 range, with its edges */
    {"0.0.0.0", "\"this network\" address (0.0.0.0/8)"},
    {"0.1.2.3", "0.0.0.0/8"},
    {"10.0.0.1", "private address (10.0.0.0/8)"},
    {"10.255.255.255", "10.0.0.0/8"},
    {"100.64.0.1", "CGNAT"},
    {"100.127.255.254", "100.64.0.0/10"},
    {"100.63.255.255", NULL},
    {"100.128.0.1", NULL},
    {"127.0.0.1", "loopback address (127.0.0.0/8)"},
    {"127.255.255.254", "127.0.0.0/8"},
    {"169.254.169.254", "link-local address (169.254.0.0/16)"},
    {"169.254.0.1", "169.254.0.0/16"},
    {"172.16.0.1", "172.16.0.0/12"},
    {"172.31.255.255", "172.16.0.0/12"},
    {"172.15.255.255", NULL},
    {"172.32.0.1", NULL},
    {"192.0.0.8", "192.0.0.0/24"},
    {"192.168.1.1", "192.168.0.0/16"},
    {"198.18.0.1", "benchmarking address (198.18.0.0/15)"},
    {"198.19.255.255", "198.18.0.0/15"},
    {"198.20.0.1", NULL},
    {"224.0.0.1", "multicast address (224.0.0.0/4)"},
    {"239.255.255.250", "224.0.0.0/4"},
    {"240.0.0.1", "reserved address (240.0.0.0/4)"},
    {"255.255.255.255", "broadcast address"},
    {"93.184.216.34", NULL},
    {"8.8.8.8", NULL},
    {"1.1.1.1", NULL},
    /* numeric spellings of blocked addresses */
    {"2130706433", "127.0.0.1 is a loopback"},
    {"0177.0.0.1", "127.0.0.1 is a loopback"},
    {"0x7f.1", "127.0.0.1 is a loopback"},
    {"0X7F.0.0.1", "127.0.0.1 is a loopback"},
    {"0x7f000001", "127.0.0.1 is a loopback"},
    {"017700000001", "127.0.0.1 is a loopback"},
    {"127.1", "127.0.0.1 is a loopback"},
    {"127.0.1", "127.0.0.1 is a loopback"},
    {"127.0.0.1.", "127.0.0.1 is a loopback"},
    {"0", "0.0.0.0 is"},
    {"012.0.0.1", "10.0.0.1 is a private"},
    {"0xA9.0xFE.0xA9.0xFE", "169.254.169.254 is a link-local"},
    {"2852039166", "169.254.169.254 is a link-local"},
    {"169.254.43518", "169.254.169.254 is a link-local"},
    {"0xc0.0250.1", "192.168.0.1 is a private"},
    {"1572395042", NULL}, /* 93.184.216.34 */
    /* not addresses: left to DNS and the connect-time check */
    {"1.2.3.256", NULL},
    {"4294967296", NULL},
    {"08.0.0.1", NULL},
    {"1.2.3.foo", NULL},
    {"example.com", NULL},
    /* IPv6 */
    {"[::]", "unspecified address"},
    {"[::1]", "::1 is a loopback address (::1/128)"},
    {"::1", "loopback"},
    {"[0:0:0:0:0:0:0:1]", "loopback"},
    {"[fe80::1]", "link-local address (fe80::/10)"},
    {"[fe80::1%eth0]", "fe80::/10"},
    {"[febf::1]", "fe80::/10"},
    {"[fec0::1]", "site-local"},
    {"[fc00::1]", "unique-local address (fc00::/7)"},
    {"[fd12:3456::1]", "fc00::/7"},
    {"[ff02::1]", "multicast address (ff00::/8)"},
    {"[2606:4700::1]", NULL},
    {"[2001:4860:4860::8888]", NULL},
    {"[fe7f::1]", NULL},
    /* IPv6 forms that embed IPv4 */
    {"[::ffff:127.0.0.1]", "IPv4-mapped 127.0.0.1, a loopback address"},
    {"[::ffff:7f00:1]", "IPv4-mapped 127.0.0.1"},
    {"[::ffff:169.254.169.254]", "IPv4-mapped 169.254.169.254, a link-local"},
    {"[::ffff:10.0.0.1]", "IPv4-mapped 10.0.0.1, a private"},
    {"[::ffff:0:10.0.0.1]", "IPv4-translated 10.0.0.1"},
    {"[::127.0.0.1]", "IPv4-compatible 127.0.0.1"},
    {"[::a00:1]", "IPv4-compatible 10.0.0.1"},
    {"[64:ff9b::10.0.0.1]", "NAT64 10.0.0.1, a private"},
    {"[64:ff9b::a9fe:a9fe]", "NAT64 169.254.169.254"},
    {"[2002:7f00:1::]", "6to4 127.0.0.1"},
    {"[2002:a00:1::1]", "6to4 10.0.0.1"},
    {"[::ffff:93.184.216.34]", NULL},
    {"[64:ff9b::5db8:d822]", NULL},
    {"[2002:5db8:d822::1]", NULL},
    /* localhost is loopback whatever DNS says (RFC 6761) */
    {"localhost", "127.0.0.1 is a loopback"},
    {"LocalHost", "loopback"},
    {"localhost.", "loopback"},
    {"api.localhost", "loopback"},
    {"a.b.LOCALHOST", "loopback"},
    {"notlocalhost", NULL},
    {"localhost.example.com", NULL},
};

static void test_host_table(void **state)
{
    (void)state;
    size_t n = sizeof(hosts) / sizeof(hosts[0]);
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        char err[512] = "";
        bool blocked = hl_ssrf_host_blocked(hosts[i].host, NULL, err, sizeof(err));
        if (blocked != (hosts[i].block != NULL))
            fail_msg("'%s': expected %s, got %s (%s)", hosts[i].host,
                     hosts[i].block ? "blocked" : "allowed", blocked ? "blocked" : "allowed", err);
        if (blocked && !strstr(err, hosts[i].block))
            fail_msg("'%s': reason '%s' lacks '%s'", hosts[i].host, err, hosts[i].block);
    }
}

static struct sockaddr_storage sa_of(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(text, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
    }
    return ss;
}

static bool blocked(const char *addr, const struct hl_ssrf_allowlist *allow)
{
    char err[512];
    struct sockaddr_storage ss = sa_of(addr);
    return hl_ssrf_blocked((const struct sockaddr *)&ss, allow, err, sizeof(err));
}

/* What the dispatcher's open_socket sees: a sockaddr, not a URL host. */
static void test_sockaddr_classifier(void **state)
{
    (void)state;
    char err[512];
    assert_true(blocked("169.254.169.254", NULL));
    assert_true(blocked("::ffff:192.168.0.1", NULL));
    assert_false(blocked("93.184.216.34", NULL));
    assert_false(blocked("2606:4700::1", NULL));

    struct sockaddr_storage ss = sa_of("10.1.2.3");
    assert_true(hl_ssrf_blocked((const struct sockaddr *)&ss, NULL, err, sizeof(err)));
    assert_string_equal(err, "10.1.2.3 is a private address (10.0.0.0/8)");

    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_true(hl_ssrf_blocked((const struct sockaddr *)&un, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "family"));
}

static void test_host_addrs(void **state)
{
    (void)state;
    struct sockaddr_storage out[2];
    assert_int_equal(hl_ssrf_host_addrs("localhost", out), 2);
    assert_int_equal(out[0].ss_family, AF_INET);
    assert_int_equal(out[1].ss_family, AF_INET6);
    assert_int_equal(hl_ssrf_host_addrs("0x7f.1", out), 1);
    assert_int_equal(((struct sockaddr_in *)&out[0])->sin_addr.s_addr, htonl(0x7f000001));
    assert_int_equal(hl_ssrf_host_addrs("[2606:4700::1]", out), 1);
    assert_int_equal(out[0].ss_family, AF_INET6);
    assert_int_equal(hl_ssrf_host_addrs("hooks.example.com", out), 0);
    assert_int_equal(hl_ssrf_host_addrs("[::1", out), 0);
    assert_int_equal(hl_ssrf_host_addrs("[not-v6]", out), 0);
    assert_int_equal(hl_ssrf_host_addrs("", out), 0);
    assert_int_equal(hl_ssrf_host_addrs(".", out), 0);
    assert_int_equal(hl_ssrf_host_addrs("1..2", out), 0);
}

static void test_allowlist_covers(void **state)
{
    (void)state;
    char err[256];
    struct hl_ssrf_allowlist a;

    assert_int_equal(hl_ssrf_allowlist_parse("127.0.0.0/8,::1/128", &a, err, sizeof(err)), HL_OK);
    assert_int_equal(a.n, 2);
    assert_false(blocked("127.0.0.1", &a));
    assert_false(blocked("127.255.0.1", &a));
    assert_false(blocked("::1", &a));
    assert_false(blocked("::ffff:127.0.0.1", &a)); /* mapped: the same destination */
    assert_true(blocked("10.0.0.1", &a));
    assert_true(blocked("169.254.169.254", &a));
    assert_true(blocked("::2", &a));
    assert_true(blocked("64:ff9b::7f00:1", &a)); /* NAT64 is not covered by the IPv4 entry */
    assert_true(blocked("2002:7f00:1::", &a));
    assert_false(hl_ssrf_host_blocked("localhost", &a, err, sizeof(err)));
    assert_false(hl_ssrf_host_blocked("0x7f.1", &a, err, sizeof(err)));
    assert_true(hl_ssrf_host_blocked("[::ffff:10.0.0.1]", &a, err, sizeof(err)));

    /* only the loopback address, not the rest of 127/8 */
    assert_int_equal(hl_ssrf_allowlist_parse(" 10.1.0.0/16 , 127.0.0.1 ", &a, err, sizeof(err)),
                     HL_OK);
    assert_int_equal(a.n, 2);
    assert_false(blocked("10.1.255.1", &a));
    assert_true(blocked("10.2.0.1", &a));
    assert_false(blocked("127.0.0.1", &a));
    assert_true(blocked("127.0.0.2", &a));
    assert_true(hl_ssrf_host_blocked("localhost", &a, err, sizeof(err))); /* ::1 is not */
    assert_non_null(strstr(err, "::1"));

    /* odd prefix lengths */
    assert_int_equal(hl_ssrf_allowlist_parse("100.64.0.0/11,fd00::/9", &a, err, sizeof(err)),
                     HL_OK);
    assert_false(blocked("100.95.255.255", &a));
    assert_true(blocked("100.96.0.1", &a));
    assert_false(blocked("fd7f::1", &a));
    assert_true(blocked("fd80::1", &a));

    /* /0 switches the family's protection off, and only that family's */
    assert_int_equal(hl_ssrf_allowlist_parse("0.0.0.0/0", &a, err, sizeof(err)), HL_OK);
    assert_false(blocked("169.254.169.254", &a));
    assert_true(blocked("::1", &a));

    struct sockaddr_storage ss = sa_of("10.0.0.1");
    assert_true(hl_ssrf_allowlist_covers(&a, (const struct sockaddr *)&ss));

    assert_int_equal(hl_ssrf_allowlist_parse(NULL, &a, err, sizeof(err)), HL_OK);
    assert_int_equal(a.n, 0);
    assert_int_equal(hl_ssrf_allowlist_parse("  ", &a, err, sizeof(err)), HL_OK);
    assert_int_equal(a.n, 0);
    assert_false(hl_ssrf_allowlist_covers(&a, (const struct sockaddr *)&ss));
}

static void test_allowlist_refuses_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *list, *named; /* the error must quote `named` */
    } bad[] = {
        {"127.0.0.0/33", "127.0.0.0/33"},
        {"::1/129", "::1/129"},
        {"10.0.0.1/8", "10.0.0.1/8"},
        {"localhost", "localhost"},
        {"127.0.0.0/", "127.0.0.0/"},
        {"/8", "/8"},
        {"127.0.0.0/8,", "empty"},
        {",", "empty"},
        {"10.0.0.0/8,,::1", "empty"},
        {"1.2.3", "1.2.3"},
        {"0x7f.1", "0x7f.1"},
        {"127.0.0.0/-1", "127.0.0.0/-1"},
        {"127.0.0.0/8x", "127.0.0.0/8x"},
        {"127.0.0.0/8 ::1/128", "127.0.0.0/8 ::1/128"},
        {"fe80::/8", "fe80::/8"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        struct hl_ssrf_allowlist a = {.n = 7};
        if (hl_ssrf_allowlist_parse(bad[i].list, &a, err, sizeof(err)) != HL_EINVAL)
            fail_msg("'%s' was accepted", bad[i].list);
        if (!strstr(err, bad[i].named) || !strstr(err, "ssrf_allowlist"))
            fail_msg("'%s': error '%s' does not name '%s'", bad[i].list, err, bad[i].named);
        assert_int_equal(a.n, 0);
    }

    char many[HL_SSRF_ALLOW_MAX * 16 + 32] = "";
    size_t len = 0;
    for (int i = 0; i <= HL_SSRF_ALLOW_MAX; i++)
        len += (size_t)snprintf(many + len, sizeof(many) - len, "%s10.0.%d.0/24", i ? "," : "",
                                i);
    char err[256];
    struct hl_ssrf_allowlist a;
    assert_int_equal(hl_ssrf_allowlist_parse(many, &a, err, sizeof(err)), HL_EINVAL);
    assert_non_null(strstr(err, "more than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_table),
        cmocka_unit_test(test_sockaddr_classifier),
        cmocka_unit_test(test_host_addrs),
        cmocka_unit_test(test_allowlist_covers),
        cmocka_unit_test(test_allowlist_refuses_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
