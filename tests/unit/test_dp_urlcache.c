/* dispatcher/src/dp_urlcache.c: each attempt gets the URL it asked for, parsed as libcurl
 * parses CURLOPT_URL, in a copy that outlives the slot it came from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_urlcache.h"

static void assert_part(CURLU *u, CURLUPart part, const char *want)
{
    char *got = NULL;
    assert_int_equal(curl_url_get(u, part, &got, 0), CURLUE_OK);
    assert_string_equal(got, want);
    curl_free(got);
}

static void test_gives_each_attempt_its_own_parsed_url(void **state)
{
    (void)state;
    struct dp_urlcache *c = dp_urlcache_new(16);
    const char *url = "https://hooks.example.com:8443/in/orders?tenant=a%20b";
    CURLU *a = dp_urlcache_get(c, url);
    CURLU *b = dp_urlcache_get(c, url);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_part(a, CURLUPART_URL, url);
    assert_part(b, CURLUPART_HOST, "hooks.example.com");
    assert_part(b, CURLUPART_PORT, "8443");
    assert_part(b, CURLUPART_PATH, "/in/orders");
    assert_part(b, CURLUPART_QUERY, "tenant=a%20b");
    curl_url_cleanup(a);
    curl_url_cleanup(b);
    dp_urlcache_free(c);
}

/* One slot: every other URL replaces the one before. Each answer is still the URL asked
 * for, and a copy handed out earlier stays whole after its slot was replaced (ASan would
 * see a copy that was not one). */
static void test_replaced_slots_answer_right_and_copies_outlive_them(void **state)
{
    (void)state;
    struct dp_urlcache *c = dp_urlcache_new(1);
    const char *urls[] = {"http://127.0.0.1:9000/a", "http://localhost/b", "http://[::1]:81/c"};
    CURLU *kept[9];
    for (int i = 0; i < 9; i++) {
        kept[i] = dp_urlcache_get(c, urls[i % 3]);
        assert_non_null(kept[i]);
    }
    for (int i = 0; i < 9; i++) {
        assert_part(kept[i], CURLUPART_URL, urls[i % 3]);
        curl_url_cleanup(kept[i]);
    }
    dp_urlcache_free(c);
}

/* What libcurl would not take apart gives NULL, each time: the caller passes the text and
 * libcurl fails the attempt as it did before. Guessing the scheme, as CURLOPT_URL does,
 * is libcurl's too. */
static void test_refused_urls_give_null_and_the_flags_are_curls(void **state)
{
    (void)state;
    struct dp_urlcache *c = dp_urlcache_new(8);
    assert_null(dp_urlcache_get(c, "http://[::1/x"));
    assert_null(dp_urlcache_get(c, "http://[::1/x"));
    assert_null(dp_urlcache_get(c, ""));
    CURLU *u = dp_urlcache_get(c, "localhost:8080/in");
    assert_non_null(u);
    assert_part(u, CURLUPART_SCHEME, "http");
    assert_part(u, CURLUPART_PORT, "8080");
    curl_url_cleanup(u);
    dp_urlcache_free(c);
}

/* The parts a request and the connection pool use: Host with the port only when it is
 * not the scheme's default, the target with its query, and a pool key that always names
 * the port, in lower case. */
static void test_parts_for_the_request_and_the_pool(void **state)
{
    (void)state;
    struct dp_urlcache *c = dp_urlcache_new(4);
    const struct {
        const char *url, *key, *host_port, *target;
    } cases[] = {
        {"http://127.0.0.1:35465/hook", "http://127.0.0.1:35465", "127.0.0.1:35465", "/hook"},
        {"HTTPS://Hooks.Example.com/in?a=1&b=%20", "https://hooks.example.com:443",
         "Hooks.Example.com", "/in?a=1&b=%20"},
        {"http://example.com:80", "http://example.com:80", "example.com", "/"},
        {"https://example.com:80/x", "https://example.com:80", "example.com:80", "/x"},
        {"http://[::1]:8080/v6#frag", "http://[::1]:8080", "[::1]:8080", "/v6"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dp_url_parts *p = dp_urlcache_parts(c, cases[i].url);
        assert_non_null(p);
        assert_string_equal(p->key, cases[i].key);
        assert_string_equal(p->host_port, cases[i].host_port);
        assert_string_equal(p->target, cases[i].target);
    }
    assert_null(dp_urlcache_parts(c, "http://exa mple.com/"));
    dp_urlcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gives_each_attempt_its_own_parsed_url),
        cmocka_unit_test(test_replaced_slots_answer_right_and_copies_outlive_them),
        cmocka_unit_test(test_refused_urls_give_null_and_the_flags_are_curls),
        cmocka_unit_test(test_parts_for_the_request_and_the_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
