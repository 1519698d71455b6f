/* Answers (gw_reply.c): JSON bodies, RFC 9457 problem+json errors with field-level
 * `errors[]`, 204 and 405. Each reply function returns the status it sent, as civetweb
 * handlers do, so a handler can `return gw_reply_...(...)`. */
#ifndef GW_REPLY_H
#define GW_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct gw_req;

/* Field-level validation errors, rendered as problem+json `errors[]` with JSON pointers. */
struct gw_errors {
    json_t *list; /* array of {"pointer","detail"} */
};
void gw_errors_init(struct gw_errors *e);
void gw_errors_release(struct gw_errors *e);
void gw_errors_add(struct gw_errors *e, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool gw_errors_any(const struct gw_errors *e);

int gw_reply_json(struct gw_req *r, int status, json_t *body); /* steals body */
int gw_reply_json_hdr(struct gw_req *r, int status, json_t *body, const char *extra_headers);
/* The same answer from JSON text the caller already wrote (len bytes at body). */
int gw_reply_json_text(struct gw_req *r, int status, const char *body, size_t len);
int gw_reply_no_content(struct gw_req *r);
/* RFC 9457 problem+json; slug names the problem type. */
int gw_reply_problem(struct gw_req *r, int status, const char *slug, const char *title,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same with the members of `members` (stolen) added to the problem object. */
int gw_reply_problem_with(struct gw_req *r, int status, const char *slug, const char *title,
                          json_t *members, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Every 503 carries `Retry-After: 2`: a dependency is away, and is tried again within a
 * second. 429 with `Retry-After: <retry_after_s>` (problem type "rate-limited"). */
int gw_reply_rate_limited(struct gw_req *r, int retry_after_s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 400 with e's errors[]. */
int gw_reply_invalid(struct gw_req *r, struct gw_errors *e, const char *detail);
/* 400 with one errors[] entry {pointer, detail}. */
int gw_reply_invalid1(struct gw_req *r, const char *pointer, const char *detail,
                      const char *summary);
/* 422: well-formed but refused on meaning (unknown event types, unusable schemas). */
int gw_reply_unprocessable(struct gw_req *r, struct gw_errors *e, const char *detail);
/* 405 with `Allow: <allowed>`. */
int gw_method_not_allowed(struct gw_req *r, const char *allowed);
/* 404 "not-found" with the detail given. */
int gw_reply_not_found(struct gw_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
