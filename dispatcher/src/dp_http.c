/* An HTTP/1.1 request writer and response parser (see dp_http.h). */
#include "dp_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dp_signature.h"
#include "hl/banned.h"

enum {
    S_STATUS,     /* reading the status line */
    S_HEADERS,    /* reading header lines */
    S_BODY,       /* left bytes of a Content-Length body */
    S_CHUNK_SIZE, /* reading a chunk's size line */
    S_CHUNK_DATA, /* left bytes of a chunk */
    S_CHUNK_END,  /* the CRLF after a chunk's data */
    S_TRAILERS,   /* trailer lines after the last chunk */
    S_UNTIL_CLOSE,
    S_DONE,
};

/* The value of line "Name: value" (whitespace trimmed), or NULL when it has none. */
static const char *line_value(const char *line, size_t *vlen)
{
    const char *colon = strchr(line, ':');
    const char *semi = strchr(line, ';');
    if (!colon || (semi && semi < colon)) {
        *vlen = 0;
        return semi ? "" : NULL; /* "Name;": the name with an empty value */
    }
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *vlen = n;
    return n ? v : NULL;
}

/* Appends n bytes at *at (room was made for them). */
static char *put(char *at, const char *p, size_t n)
{
    memcpy(at, p, n);
    return at + n;
}

void dp_http_request(struct hl_buf *out, const char *method, const char *target,
                     const char *host_port, struct dp_headers *hd, const char *body,
                     size_t body_len)
{
    static const char accept_len[] = "Accept: */*\r\nContent-Length: ";
    char len_text[HL_INT_STR_MAX];
    size_t len_n = hl_i64_str((long long)body_len, len_text);
    size_t m = strlen(method), t = strlen(target), h = strlen(host_port);
    /* the room for it all at once: each line's text, and ": " and CRLF for each */
    hl_buf_grow(out, m + t + h + hd->text.len + 4 * hd->n + sizeof(accept_len) + len_n +
                         body_len + 32);
    char *at = out->ptr + out->len;
    at = put(at, method, m);
    *at++ = ' ';
    at = put(at, target, t);
    at = put(at, " HTTP/1.1\r\nHost: ", 17);
    at = put(at, host_port, h);
    at = put(at, "\r\n", 2);
    for (size_t i = 0; i < hd->n; i++) {
        const char *line = dp_headers_at(hd, i);
        size_t vlen;
        const char *v = line_value(line, &vlen);
        if (!v)
            continue;
        const char *end = strpbrk(line, ":;");
        at = put(at, line, (size_t)(end - line));
        at = put(at, ": ", 2);
        at = put(at, v, vlen);
        at = put(at, "\r\n", 2);
    }
    at = put(at, accept_len, sizeof(accept_len) - 1);
    at = put(at, len_text, len_n);
    at = put(at, "\r\n\r\n", 4);
    at = put(at, body, body_len);
    out->len = (size_t)(at - out->ptr);
    out->ptr[out->len] = '\0';
}

void dp_http_resp_init(struct dp_http_resp *r, dp_http_body_fn on_body, void *ud)
{
    memset(r, 0, sizeof(*r));
    r->on_body = on_body;
    r->ud = ud;
    dp_http_resp_reset(r);
}

void dp_http_resp_reset(struct dp_http_resp *r)
{
    r->status = 0;
    r->keep_alive = false;
    r->retry_after[0] = '\0';
    r->err[0] = '\0';
    r->state = S_STATUS;
    r->minor = 1;
    r->close = r->keep = r->chunked = false;
    r->content_length = -1;
    r->left = 0;
    r->head_bytes = 0;
    hl_buf_clear(&r->line);
}

void dp_http_resp_release(struct dp_http_resp *r)
{
    hl_buf_release(&r->line);
}

bool dp_http_resp_untouched(const struct dp_http_resp *r)
{
    return r->head_bytes == 0; /* every byte of a response's head is counted as it comes */
}

static dp_http_status fail(struct dp_http_resp *r, const char *why)
{
    snprintf(r->err, sizeof(r->err), "%s", why);
    return DP_HTTP_ERROR;
}

/* "HTTP/1.x NNN reason" */
static dp_http_status status_line(struct dp_http_resp *r, const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
        s[8] != ' ' || s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
        s[11] < '0' || s[11] > '9' || (n > 12 && s[12] != ' '))
        return fail(r, "not an HTTP/1.x status line");
    r->minor = s[7] - '0';
    r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    r->state = S_HEADERS;
    return DP_HTTP_MORE;
}

static bool has_token(const char *v, size_t n, const char *token)
{
    size_t t = strlen(token);
    for (size_t i = 0; i + t <= n; i++)
        if (strncasecmp(v + i, token, t) == 0 && (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
            (i + t == n || v[i + t] == ',' || v[i + t] == ' ' || v[i + t] == ';'))
            return true;
    return false;
}

static dp_http_status header_line(struct dp_http_resp *r, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s)
        return fail(r, "malformed response header line");
    size_t nlen = (size_t)(colon - s);
    const char *v = colon + 1;
    size_t vlen = n - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(s, name, nlen) == 0)
    if (IS("content-length")) {
        int64_t len = 0;
        if (!vlen || vlen > 18)
            return fail(r, "invalid Content-Length");
        for (size_t i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9')
                return fail(r, "invalid Content-Length");
            len = len * 10 + (v[i] - '0');
        }
        if (r->content_length >= 0 && r->content_length != len)
            return fail(r, "conflicting Content-Length headers");
        r->content_length = len;
    } else if (IS("transfer-encoding")) {
        /* chunked must be the last coding; any other leaves the length to the close */
        size_t t = vlen;
        while (t && v[t - 1] == ' ')
            t--;
        r->chunked = t >= 7 && strncasecmp(v + t - 7, "chunked", 7) == 0;
        if (!r->chunked)
            r->close = true;
    } else if (IS("connection")) {
        r->close |= has_token(v, vlen, "close");
        r->keep |= has_token(v, vlen, "keep-alive");
    } else if (IS("retry-after")) {
        size_t k = vlen < sizeof(r->retry_after) - 1 ? vlen : sizeof(r->retry_after) - 1;
        memcpy(r->retry_after, v, k);
        r->retry_after[k] = '\0';
    }
#undef IS
    return DP_HTTP_MORE;
}

/* The header block ended: what frames the body. */
static dp_http_status head_done(struct dp_http_resp *r)
{
    if (r->status < 200) {
        if (r->status == 101)
            return fail(r, "the receiver switched protocols");
        /* an interim response: the real one follows, and the header cap counts both */
        size_t head_bytes = r->head_bytes;
        dp_http_resp_reset(r);
        r->head_bytes = head_bytes;
        return DP_HTTP_MORE;
    }
    r->keep_alive = !r->close && (r->minor >= 1 || r->keep);
    if (r->status == 204 || r->status == 304) {
        r->state = S_DONE;
    } else if (r->chunked) {
        r->state = S_CHUNK_SIZE;
    } else if (r->content_length >= 0) {
        r->left = (uint64_t)r->content_length;
        r->state = r->left ? S_BODY : S_DONE;
    } else {
        r->keep_alive = false;
        r->state = S_UNTIL_CLOSE;
    }
    return DP_HTTP_MORE;
}

static dp_http_status chunk_size(struct dp_http_resp *r, const char *s, size_t n)
{
    uint64_t size = 0;
    size_t i = 0;
    for (; i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'; i++) {
        int d = hl_hex_digit((unsigned char)s[i]);
        if (d < 0 || i >= 15)
            return fail(r, "invalid chunk size");
        size = size * 16 + (uint64_t)d;
    }
    if (i == 0)
        return fail(r, "invalid chunk size");
    r->left = size;
    r->state = size ? S_CHUNK_DATA : S_TRAILERS;
    return DP_HTTP_MORE;
}

/* One whole line (without its line end) in the state that reads lines. */
static dp_http_status on_line(struct dp_http_resp *r, const char *s, size_t n)
{
    switch (r->state) {
    case S_STATUS:
        return status_line(r, s, n);
    case S_HEADERS:
        if (n == 0)
            return head_done(r);
        if (s[0] == ' ' || s[0] == '\t')
            return DP_HTTP_MORE; /* obsolete line folding: a value we do not read */
        return header_line(r, s, n);
    case S_CHUNK_SIZE:
        return chunk_size(r, s, n);
    case S_CHUNK_END:
        if (n)
            return fail(r, "chunk data longer than its size");
        r->state = S_CHUNK_SIZE;
        return DP_HTTP_MORE;
    case S_TRAILERS:
        if (n == 0)
            r->state = S_DONE;
        return DP_HTTP_MORE;
    }
    return fail(r, "internal: a line in a body state");
}

static bool body(struct dp_http_resp *r, const char *p, size_t n)
{
    return !r->on_body || r->on_body(r->ud, p, n);
}

dp_http_status dp_http_resp_feed(struct dp_http_resp *r, const char *p, size_t n, size_t *used)
{
    size_t i = 0;
    while (i < n && r->state != S_DONE) {
        if (r->state == S_BODY || r->state == S_CHUNK_DATA || r->state == S_UNTIL_CLOSE) {
            size_t k = n - i;
            if (r->state != S_UNTIL_CLOSE && k > r->left)
                k = (size_t)r->left;
            if (!body(r, p + i, k))
                return fail(r, "stopped");
            i += k;
            if (r->state != S_UNTIL_CLOSE && (r->left -= k) == 0)
                r->state = r->state == S_BODY ? S_DONE : S_CHUNK_END;
            continue;
        }
        /* a line: taken straight from the input when whole, else gathered */
        const char *nl = memchr(p + i, '\n', n - i);
        size_t k = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
        if (r->state == S_STATUS || r->state == S_HEADERS || r->state == S_TRAILERS) {
            r->head_bytes += k;
            if (r->head_bytes > DP_HTTP_HEAD_MAX)
                return fail(r, "response header block too large");
        } else if (r->line.len + k > 1024) {
            return fail(r, "chunk size line too long");
        }
        if (!nl) {
            hl_buf_add(&r->line, p + i, k);
            i += k;
            break;
        }
        const char *s = p + i;
        size_t len = k - 1;
        if (r->line.len) {
            hl_buf_add(&r->line, s, k - 1);
            s = r->line.ptr;
            len = r->line.len;
        }
        if (len && s[len - 1] == '\r')
            len--;
        i += k;
        dp_http_status st = on_line(r, s, len);
        hl_buf_clear(&r->line);
        if (st != DP_HTTP_MORE)
            return st;
    }
    *used = i;
    return r->state == S_DONE ? DP_HTTP_DONE : DP_HTTP_MORE;
}

dp_http_status dp_http_resp_eof(struct dp_http_resp *r)
{
    if (r->state == S_UNTIL_CLOSE) {
        r->state = S_DONE;
        return DP_HTTP_DONE;
    }
    if (r->state == S_DONE)
        return DP_HTTP_DONE;
    if (dp_http_resp_untouched(r))
        return fail(r, "Empty reply from server");
    return fail(r, r->state <= S_HEADERS ? "the connection closed in the response's header"
                                          : "the connection closed before the body's end");
}
