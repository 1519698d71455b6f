/* dispatcher/src/dp_classify.c: every answer and every libcurl failure maps to the error
 * class the attempt log and dp_retry_decide use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dp_classify.h"

static void answers(void **state)
{
    (void)state;
    for (long s = 200; s < 300; s++)
        assert_null(dp_classify(CURLE_OK, s, false, false));
    for (long s = 300; s < 400; s++)
        assert_string_equal(dp_classify(CURLE_OK, s, false, false), "redirect");
    assert_string_equal(dp_classify(CURLE_OK, 410, false, false), "gone");
    const long others[] = {0, 100, 199, 400, 404, 409, 429, 500, 502, 503, 504, 599};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        assert_string_equal(dp_classify(CURLE_OK, others[i], false, false), "http_status");
}

/* A body cut at the response cap is a write error to libcurl, but the answer stands. */
static void capped_body(void **state)
{
    (void)state;
    assert_null(dp_classify(CURLE_WRITE_ERROR, 200, true, false));
    assert_string_equal(dp_classify(CURLE_WRITE_ERROR, 410, true, false), "gone");
    assert_string_equal(dp_classify(CURLE_WRITE_ERROR, 503, true, false), "http_status");
    assert_string_equal(dp_classify(CURLE_WRITE_ERROR, 200, false, false), "network");
}

static void failures(void **state)
{
    (void)state;
    struct {
        CURLcode rc;
        const char *cls;
    } t[] = {
        {CURLE_OPERATION_TIMEDOUT, "timeout"},
        {CURLE_COULDNT_RESOLVE_HOST, "dns"},
        {CURLE_COULDNT_RESOLVE_PROXY, "dns"},
        {CURLE_COULDNT_CONNECT, "connect_failed"},
        {CURLE_SSL_CONNECT_ERROR, "tls"},
        {CURLE_PEER_FAILED_VERIFICATION, "tls"},
        {CURLE_SSL_CERTPROBLEM, "tls"},
        {CURLE_SSL_CIPHER, "tls"},
        {CURLE_SSL_CACERT_BADFILE, "tls"},
        {CURLE_SSL_ISSUER_ERROR, "tls"},
        {CURLE_SSL_INVALIDCERTSTATUS, "tls"},
        {CURLE_SSL_PINNEDPUBKEYNOTMATCH, "tls"},
        {CURLE_SSL_CRL_BADFILE, "tls"},
        {CURLE_SSL_SHUTDOWN_FAILED, "tls"},
        {CURLE_TOO_MANY_REDIRECTS, "too_many_redirects"},
        {CURLE_RECV_ERROR, "network"},
        {CURLE_SEND_ERROR, "network"},
        {CURLE_GOT_NOTHING, "network"},
        {CURLE_PARTIAL_FILE, "network"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        /* the status of a failed transfer does not matter */
        assert_string_equal(dp_classify(t[i].rc, 0, false, false), t[i].cls);
        assert_string_equal(dp_classify(t[i].rc, 200, false, false), t[i].cls);
    }
}

/* Refused on every address: ssrf_blocked, whatever libcurl reported. */
static void ssrf(void **state)
{
    (void)state;
    assert_string_equal(dp_classify(CURLE_COULDNT_CONNECT, 0, false, true), "ssrf_blocked");
    assert_string_equal(dp_classify(CURLE_OK, 200, false, true), "ssrf_blocked");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers),
        cmocka_unit_test(capped_body),
        cmocka_unit_test(failures),
        cmocka_unit_test(ssrf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
