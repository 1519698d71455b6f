/* hooklinectl's only way out: one HTTP request to the gateway's public REST API with
 * libcurl, and the RFC 9457 problem+json answers turned into messages and exit codes.
 * Single-threaded; curl_global_init() is main's job. */
#ifndef CTL_HTTP_H
#define CTL_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "ctl_conn.h"

/* A request path under construction: literal parts, escaped segments, query parameters. */
struct ctl_path {
    char *ptr;
    size_t len;
    FILE *f;
    bool has_query;
};

void ctl_path_init(struct ctl_path *p, const char *literal);
/* Appends literal text ("/stats"). */
void ctl_path_lit(struct ctl_path *p, const char *literal);
/* Appends "/" and the percent-encoded segment (an id the user typed). */
void ctl_path_seg(struct ctl_path *p, const char *segment);
/* Appends "?name=value" or "&name=value", value percent-encoded; nothing when value is
 * NULL. */
void ctl_path_param(struct ctl_path *p, const char *name, const char *value);
/* The path so far (owned by p). */
const char *ctl_path_str(struct ctl_path *p);
void ctl_path_release(struct ctl_path *p);

struct ctl_resp {
    long status;  /* HTTP status */
    char *body;   /* the raw answer, NUL-terminated (may be empty) */
    size_t len;
    json_t *json; /* the body parsed, or NULL when it is not JSON */
};

/* Sends `method path` to c->url with the key and, when body is not NULL, the JSON body.
 * Returns CTL_EXIT_OK when the gateway answered (whatever the status; r filled, release
 * it), else CTL_EXIT_CONNECT after printing "cannot connect to '<url>': <why>". */
int ctl_http(const struct ctl_conn *c, const char *method, const char *path, const char *body,
             struct ctl_resp *r);
void ctl_resp_release(struct ctl_resp *r);

/* Prints a non-2xx answer on stderr: the problem's title and detail, then one line per
 * errors[] entry (pointer: detail); a body that is not problem+json is shown by status.
 * Returns CTL_EXIT_API. */
int ctl_problem(const struct ctl_resp *r);

#endif
