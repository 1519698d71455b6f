/* JSON-lines logger. Each line is formatted into a local buffer and written with a single
 * write(2), so lines from different threads never interleave. */
#include "hl/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hl/buf.h"
#include "hl/time.h"
#include "hl/banned.h"

hl_log_level hl_log_threshold = HL_LOG_INFO;
static const char *log_service = "hookline";

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void hl_log_set_service(const char *service)
{
    log_service = service;
}

int hl_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void hl_log_emit(hl_log_level level, const char *facility, const char *fmt, ...)
{
    char stackbuf[1024];
    char ts[HL_ISO8601_LEN];
    struct hl_buf line = HL_BUF_INIT;
    struct hl_buf msg = HL_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    hl_buf_vaddf(&msg, fmt, ap);
    va_end(ap);

    hl_iso8601_ms(hl_now_ms(), ts);
    hl_buf_grow(&line, sizeof(stackbuf));
    hl_buf_addf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"facility\":", ts,
                level_names[level], log_service);
    hl_buf_add_json_str(&line, facility, strlen(facility));
    hl_buf_adds(&line, ",\"msg\":");
    hl_buf_add_json_str(&line, hl_buf_str(&msg), msg.len);
    hl_buf_adds(&line, "}\n");

    ssize_t off = 0;
    while ((size_t)off < line.len) {
        ssize_t n = write(STDERR_FILENO, line.ptr + off, line.len - (size_t)off);
        if (n <= 0)
            break;
        off += n;
    }
    hl_buf_release(&line);
    hl_buf_release(&msg);
}
