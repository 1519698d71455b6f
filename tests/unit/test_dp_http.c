/* dispatcher/src/dp_http.c: the request a delivery writes, and the response parser: every
 * framing a receiver may answer with, however the bytes are split between reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_http.h"
#include "dp_signature.h"
#include "hl/buf.h"

static void test_request_has_the_lines_the_length_and_the_body(void **state)
{
    (void)state;
    struct dp_headers hd;
    memset(&hd, 0, sizeof(hd));
    dp_header_line(&hd, "Content-Type: application/json");
    dp_header_line(&hd, "X-Empty:");           /* libcurl's "leave it out" */
    dp_header_line(&hd, "X-Blank;");           /* libcurl's "send it empty" */
    dp_header_line(&hd, "X-Spaced:   a b  "); /* value trimmed */
    struct hl_buf out = HL_BUF_INIT;
    dp_http_request(&out, "PUT", "/in/x?a=1", "hooks.example:8443", &hd, "{\"k\":1}", 7);
    const char *want = "PUT /in/x?a=1 HTTP/1.1\r\n"
                       "Host: hooks.example:8443\r\n"
                       "Content-Type: application/json\r\n"
                       "X-Blank: \r\n"
                       "X-Spaced: a b\r\n"
                       "Accept: */*\r\n"
                       "Content-Length: 7\r\n"
                       "\r\n"
                       "{\"k\":1}";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.ptr, want, out.len);
    hl_buf_release(&out);
    dp_headers_release(&hd);
}

struct got {
    struct hl_buf body;
    size_t stop_after; /* 0: never stop */
};

static bool on_body(void *ud, const char *p, size_t n)
{
    struct got *g = ud;
    hl_buf_add(&g->body, p, n);
    return !g->stop_after || g->body.len <= g->stop_after;
}

/* Feeds resp to a fresh parser in pieces of step bytes (0: all at once); the status of the
 * last feed, *used_total the bytes the response took. */
static dp_http_status parse(const char *resp, size_t len, size_t step, struct dp_http_resp *r,
                            struct got *g, size_t *used_total)
{
    dp_http_resp_init(r, on_body, g);
    size_t at = 0;
    *used_total = 0;
    dp_http_status st = DP_HTTP_MORE;
    while (at < len) {
        size_t n = step && len - at > step ? step : len - at;
        size_t used = 0;
        st = dp_http_resp_feed(r, resp + at, n, &used);
        if (st == DP_HTTP_ERROR)
            return st;
        if (st == DP_HTTP_DONE) {
            *used_total = at + used;
            return st;
        }
        at += n;
    }
    *used_total = at;
    return st;
}

struct case_ {
    const char *resp;
    long status;
    const char *body;
    bool keep_alive;
    const char *retry_after;
};

static void test_framings_split_at_every_byte(void **state)
{
    (void)state;
    const struct case_ cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello", true, ""},
        {"HTTP/1.1 204 No Content\r\n\r\n", 204, "", true, ""},
        {"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 304, "", true, ""},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ext=1\r\nhello\r\n1A\r\n abcdefghijklmnopqrstuvwxy\r\n0\r\nX-Trailer: t\r\n\r\n",
         200, "hello abcdefghijklmnopqrstuvwxy", true, ""},
        {"HTTP/1.1 503 Busy\r\nRetry-After: 120\r\nConnection: close\r\n"
         "Content-Length: 2\r\n\r\nno",
         503, "no", false, "120"},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
         "HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n",
         201, "", true, ""},
        {"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", false, ""},
        {"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", 200, "ok",
         true, ""},
        {"HTTP/1.1 200\nContent-Length: 2\n\nok", 200, "ok", true, ""}, /* bare LF, no reason */
        {"HTTP/1.1 429 Too Many\r\nRETRY-AFTER:  Wed, 21 Oct 2026 07:28:00 GMT \r\n"
         "Content-Length: 0\r\n\r\n",
         429, "", true, "Wed, 21 Oct 2026 07:28:00 GMT"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].resp);
        for (size_t step = 0; step <= len; step += step < 8 ? 1 : 7) {
            struct dp_http_resp r;
            struct got g = {HL_BUF_INIT, 0};
            size_t used = 0;
            dp_http_status st = parse(cases[i].resp, len, step, &r, &g, &used);
            assert_int_equal(st, DP_HTTP_DONE);
            assert_int_equal(used, len);
            assert_int_equal(r.status, cases[i].status);
            assert_int_equal(g.body.len, strlen(cases[i].body));
            if (g.body.len)
                assert_memory_equal(g.body.ptr, cases[i].body, g.body.len);
            assert_int_equal(r.keep_alive, cases[i].keep_alive);
            assert_string_equal(r.retry_after, cases[i].retry_after);
            hl_buf_release(&g.body);
            dp_http_resp_release(&r);
        }
    }
}

/* No length: the body runs to the close, and the connection is not kept. */
static void test_body_until_close(void **state)
{
    (void)state;
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it";
    struct dp_http_resp r;
    struct got g = {HL_BUF_INIT, 0};
    size_t used = 0;
    assert_int_equal(parse(resp, strlen(resp), 3, &r, &g, &used), DP_HTTP_MORE);
    assert_int_equal(dp_http_resp_eof(&r), DP_HTTP_DONE);
    assert_int_equal(r.status, 200);
    assert_false(r.keep_alive);
    assert_int_equal(g.body.len, 9);
    hl_buf_release(&g.body);
    dp_http_resp_release(&r);
}

/* Bytes after a complete response are left to the caller (who closes the connection). */
static void test_bytes_after_the_response_are_not_taken(void **state)
{
    (void)state;
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200";
    struct dp_http_resp r;
    struct got g = {HL_BUF_INIT, 0};
    size_t used = 0;
    assert_int_equal(parse(resp, strlen(resp), 0, &r, &g, &used), DP_HTTP_DONE);
    assert_int_equal(used, strlen(resp) - strlen("HTTP/1.1 200"));
    hl_buf_release(&g.body);
    dp_http_resp_release(&r);
}

static void test_broken_responses_are_errors(void **state)
{
    (void)state;
    const char *bad[] = {
        "SSH-2.0-OpenSSH_9.2\r\n",
        "HTTP/2 200\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dp_http_resp r;
        struct got g = {HL_BUF_INIT, 0};
        size_t used = 0;
        assert_int_equal(parse(bad[i], strlen(bad[i]), 0, &r, &g, &used), DP_HTTP_ERROR);
        assert_true(r.err[0] != '\0');
        hl_buf_release(&g.body);
        dp_http_resp_release(&r);
    }
}

/* Closed early: nothing at all, in the header, in the body. */
static void test_early_close_is_an_error(void **state)
{
    (void)state;
    const char *cut[] = {"", "HTTP/1.1 200 OK\r\nContent-Le",
                         "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"};
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        struct dp_http_resp r;
        struct got g = {HL_BUF_INIT, 0};
        size_t used = 0;
        assert_int_equal(parse(cut[i], strlen(cut[i]), 0, &r, &g, &used), DP_HTTP_MORE);
        assert_int_equal(dp_http_resp_untouched(&r), i == 0);
        assert_int_equal(dp_http_resp_eof(&r), DP_HTTP_ERROR);
        if (i == 0)
            assert_string_equal(r.err, "Empty reply from server");
        hl_buf_release(&g.body);
        dp_http_resp_release(&r);
    }
}

/* A header block past DP_HTTP_HEAD_MAX is refused, however it arrives. */
static void test_header_block_is_capped(void **state)
{
    (void)state;
    struct hl_buf resp = HL_BUF_INIT;
    hl_buf_adds(&resp, "HTTP/1.1 200 OK\r\n");
    while (resp.len <= DP_HTTP_HEAD_MAX)
        hl_buf_adds(&resp, "X-Filler: 0123456789012345678901234567890123456789\r\n");
    hl_buf_adds(&resp, "\r\n");
    struct dp_http_resp r;
    struct got g = {HL_BUF_INIT, 0};
    size_t used = 0;
    assert_int_equal(parse(resp.ptr, resp.len, 1000, &r, &g, &used), DP_HTTP_ERROR);
    hl_buf_release(&g.body);
    dp_http_resp_release(&r);
    hl_buf_release(&resp);
}

/* The body callback stops the parse (the dispatcher's response cap). */
static void test_body_callback_stops_the_parse(void **state)
{
    (void)state;
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    struct dp_http_resp r;
    struct got g = {HL_BUF_INIT, 4};
    size_t used = 0;
    assert_int_equal(parse(resp, strlen(resp), 3, &r, &g, &used), DP_HTTP_ERROR);
    assert_string_equal(r.err, "stopped");
    assert_int_equal(r.status, 200);
    hl_buf_release(&g.body);
    dp_http_resp_release(&r);
}

/* One parser, reset, reads the next response on the same connection. */
static void test_reset_reads_the_next_response(void **state)
{
    (void)state;
    const char *one = "HTTP/1.1 500 Oops\r\nRetry-After: 5\r\nContent-Length: 1\r\n\r\nx";
    const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    struct dp_http_resp r;
    struct got g = {HL_BUF_INIT, 0};
    size_t used = 0;
    dp_http_resp_init(&r, on_body, &g);
    assert_int_equal(dp_http_resp_feed(&r, one, strlen(one), &used), DP_HTTP_DONE);
    assert_int_equal(r.status, 500);
    dp_http_resp_reset(&r);
    assert_true(dp_http_resp_untouched(&r));
    assert_int_equal(dp_http_resp_feed(&r, two, strlen(two), &used), DP_HTTP_DONE);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.retry_after, "");
    hl_buf_release(&g.body);
    dp_http_resp_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_has_the_lines_the_length_and_the_body),
        cmocka_unit_test(test_framings_split_at_every_byte),
        cmocka_unit_test(test_body_until_close),
        cmocka_unit_test(test_bytes_after_the_response_are_not_taken),
        cmocka_unit_test(test_broken_responses_are_errors),
        cmocka_unit_test(test_early_close_is_an_error),
        cmocka_unit_test(test_header_block_is_capped),
        cmocka_unit_test(test_body_callback_stops_the_parse),
        cmocka_unit_test(test_reset_reads_the_next_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
