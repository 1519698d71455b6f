/* Fuzzes the delivery task decoder: every message of <prefix>.deliveries, the retry topics
 * and the dead-letter topic goes through hl_task_decode. A task that decodes must encode
 * to JSON that decodes to the same task (the dispatcher re-encodes tasks for each retry). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hl/task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hl_task t;
    char err[256];
    if (hl_task_decode(data, size, &t, err, sizeof(err)) != HL_OK)
        return 0;
    struct hl_buf a = HL_BUF_INIT, b = HL_BUF_INIT;
    hl_task_encode(&t, &a);
    struct hl_task again;
    if (hl_task_decode(a.ptr, a.len, &again, err, sizeof(err)) != HL_OK)
        abort(); /* we could not read back what we wrote */
    hl_task_encode(&again, &b);
    if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
        abort(); /* encode(decode(x)) is not stable */
    hl_task_release(&again);
    hl_task_release(&t);
    hl_buf_release(&a);
    hl_buf_release(&b);
    return 0;
}
