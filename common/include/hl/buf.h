/* Growable byte buffer, always NUL-terminated so it can be handed to C string APIs. */
#ifndef HL_BUF_H
#define HL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct hl_buf {
    char *ptr; /* NULL until the first append */
    size_t len;
    size_t cap;
};

#define HL_BUF_INIT {NULL, 0, 0}

void hl_buf_init(struct hl_buf *b);
void hl_buf_release(struct hl_buf *b); /* frees the storage; the buffer is empty again */
void hl_buf_clear(struct hl_buf *b);   /* keeps the storage, length 0 */
/* Overwrites the whole storage (OPENSSL_cleanse, which the compiler cannot drop), then
 * releases it: for buffers that held a secret. */
void hl_buf_wipe(struct hl_buf *b);
void hl_buf_grow(struct hl_buf *b, size_t extra);
void hl_buf_add(struct hl_buf *b, const void *data, size_t len);
void hl_buf_adds(struct hl_buf *b, const char *s);
void hl_buf_addch(struct hl_buf *b, char c);
void hl_buf_addf(struct hl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hl_buf_vaddf(struct hl_buf *b, const char *fmt, va_list ap);
/* v's decimal digits (a '-' first when negative), NUL-terminated, into out; returns their
 * length. printf's %lld without printf's cost, on paths that write numbers per message. */
#define HL_INT_STR_MAX 21 /* "-9223372036854775808" and the NUL */
size_t hl_i64_str(long long v, char out[HL_INT_STR_MAX]);
/* Appends v's decimal digits, as above. */
void hl_buf_add_u64(struct hl_buf *b, unsigned long long v);
void hl_buf_add_i64(struct hl_buf *b, long long v);
/* Appends ,"key": (key as it is: for keys that need no escaping). */
void hl_buf_add_json_key(struct hl_buf *b, const char *key);
/* Appends s as a JSON string literal, quotes included. */
void hl_buf_add_json_str(struct hl_buf *b, const char *s, size_t len);
/* Gives up ownership of the storage (never NULL); the buffer is empty again. */
char *hl_buf_detach(struct hl_buf *b, size_t *len);
/* The contents as a C string; "" when empty. */
const char *hl_buf_str(const struct hl_buf *b);

/* The value of one hex digit (either case), -1 when c is not one. */
int hl_hex_digit(unsigned char c);

#endif
