/* Query-string parameters and pagination (gw_page.c): ?limit= and ?cursor= and the
 * {"data", "next_cursor"} page every list answers with. */
#ifndef GW_PAGE_H
#define GW_PAGE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct gw_req;

/* Copies query parameter `name` into out; false when absent. A value that does not fit
 * comes back as "\x7f", which no parameter accepts, so that it is refused, not ignored. */
bool gw_query(struct gw_req *r, const char *name, char *out, size_t outlen);
/* Parses ?limit= (1..250, default 50) and ?cursor= (a UUID; cursor NULL: not read);
 * replies 400 itself on bad values and returns its status, else 0. */
int gw_page_params(struct gw_req *r, long *limit, char *cursor, size_t cursor_len, bool *has_cursor);
/* Builds {"data": rows[0..limit), "next_cursor": id of row limit-1 when more} from a result
 * of up to limit+1 JSON rows. */
json_t *gw_page_json(PGresult *res, long limit);
/* Replies with one page of a list keyed by UUID ids. sql receives $1 = scope, $2 = limit+1,
 * $3 = the cursor id (or NULL), then $4.. = extra[0..nextra) (at most 5). */
int gw_reply_page(struct gw_req *r, const char *sql, const char *scope,
                  const char *const *extra, int nextra);
/* The same for a query the caller parameterized itself: runs sql (at most limit+1 JSON rows)
 * and replies with the page. */
int gw_reply_page_query(struct gw_req *r, const char *sql, int nparams,
                        const char *const *params, long limit);

#endif
