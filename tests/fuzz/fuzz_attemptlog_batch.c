/* Fuzzes the attempt-log writer's reading of <prefix>.attempts, which anyone who can
 * produce to the topic writes into: a record dp_attemptlog_batch_add accepts must give
 * well-formed arrays whose every element PostgreSQL's text can hold (no NUL byte). */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dp_attemptlog_batch b = {HL_BUF_INIT, NULL, 0, 0};
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
    hl_buf_release(&out);
    dp_attemptlog_batch_release(&b);
    return 0;
}
