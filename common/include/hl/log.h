/* Structured logging: one JSON object per line on stderr.
 *
 * hl_log() checks the level before its arguments are evaluated, so debug logging in the
 * delivery loop costs a compare when disabled. Secrets and signatures never reach a log
 * line: callers log ids, never key material. */
#ifndef HL_LOG_H
#define HL_LOG_H

typedef enum { HL_LOG_DEBUG = 0, HL_LOG_INFO, HL_LOG_WARN, HL_LOG_ERROR } hl_log_level;

extern hl_log_level hl_log_threshold;

#define hl_log(level, facility, ...)                                                               \
    do {                                                                                           \
        if ((level) >= hl_log_threshold)                                                           \
            hl_log_emit((level), (facility), __VA_ARGS__);                                         \
    } while (0)

void hl_log_emit(hl_log_level level, const char *facility, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets the service name written on every line ("gateway", "dispatcher"). */
void hl_log_set_service(const char *service);
/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int hl_log_level_parse(const char *s);

#endif
