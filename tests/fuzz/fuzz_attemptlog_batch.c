/* Fuzzes the attempt-log writer's reading of <prefix>.attempts, which anyone who can
 * produce to the topic writes into: a record dp_attemptlog_batch_add accepts must give
 * well-formed arrays whose every element PostgreSQL's text can hold (no NUL byte), and,
 * when it is of a first attempt, well-formed binary COPY data. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_attemptlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int32_t i32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return (int32_t)ntohl(v);
}

/* Walks binary COPY data of one row of `fields` fields; aborts unless it is well formed:
 * signature, header, the row, each field NULL or within the data (a text field without a
 * NUL byte), then the trailer, ending the data. */
static void check_copy(const struct hl_buf *b, int fields)
{
    const char *p = b->ptr, *end = b->ptr + b->len;
    if (b->len < 19 + 2 + 2 || memcmp(p, "PGCOPY\n\377\r\n\0", 11) != 0)
        abort();
    p += 19;
    if (((unsigned char)p[0] << 8 | (unsigned char)p[1]) != fields)
        abort();
    p += 2;
    for (int f = 0; f < fields; f++) {
        if (end - p < 4)
            abort();
        int32_t n = i32(p);
        p += 4;
        if (n < -1 || (n > 0 && end - p < n))
            abort();
        if (n > 0 && memchr(p, '\0', (size_t)n) && n != 4 && n != 8 && n != 16)
            abort(); /* only the integers, timestamps and the UUID are binary */
        p += n > 0 ? n : 0;
    }
    if (end - p != 2 || (unsigned char)p[0] != 0xff || (unsigned char)p[1] != 0xff)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dp_attemptlog_batch b = {.text = HL_BUF_INIT};
    if (!dp_attemptlog_batch_add(&b, (const char *)data, size)) {
        if (b.n || b.text.len)
            abort(); /* a refused record left something behind */
        dp_attemptlog_batch_release(&b);
        return 0;
    }
    struct hl_buf out = HL_BUF_INIT;
    size_t off[DP_ATTEMPTLOG_COLUMNS];
    int len[DP_ATTEMPTLOG_COLUMNS];
    dp_attemptlog_batch_arrays(&b, 0, 1, &out, off, len);
    for (int c = 0; c < DP_ATTEMPTLOG_COLUMNS; c++) {
        const char *p = out.ptr + off[c], *end = p + len[c];
        if (len[c] < 24 || i32(p) != 1 || i32(p + 12) != 1)
            abort();
        int32_t n = i32(p + 20);
        p += 24;
        if (n < -1 || (n > 0 && (p + n != end || memchr(p, '\0', (size_t)n))) ||
            (n <= 0 && p != end))
            abort(); /* an element PostgreSQL would refuse, or a malformed array */
        if (c == DP_AL_DELIVERY_ID && n <= 0)
            abort(); /* the delivery id is never NULL */
    }
    if (dp_attemptlog_batch_split(&b, 0, 1) == 1) {
        struct hl_buf attempts = HL_BUF_INIT;
        dp_attemptlog_batch_copy(&b, 0, 1, &out, &attempts);
        check_copy(&out, 14);
        check_copy(&attempts, 9);
        hl_buf_release(&attempts);
    }
    hl_buf_release(&out);
    dp_attemptlog_batch_release(&b);
    return 0;
}
