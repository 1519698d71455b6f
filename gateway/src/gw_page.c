/* Query-string parameters and pagination: ?limit= and ?cursor= (the id of the last item of
 * the previous page), and the {"data", "next_cursor"} page every list answers with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "gw_db.h"
#include "gw_page.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_route.h"
#include "gw_sql.h"
#include "hl/banned.h"

bool gw_query(struct gw_req *r, const char *name, char *out, size_t outlen)
{
    const char *qs = r->info->query_string;
    if (!qs)
        return false;
    int n = mg_get_var(qs, strlen(qs), name, out, outlen);
    if (n == -2 && outlen >= 2) /* longer than any valid value: refused, never ignored */
        memcpy(out, "\x7f", 2);
    return n >= 0 || n == -2;
}

int gw_page_params(struct gw_req *r, long *limit, char *cursor, size_t cursor_len,
                   bool *has_cursor)
{
    char limit_s[16];
    *limit = 50;
    if (gw_query(r, "limit", limit_s, sizeof(limit_s))) {
        char *end;
        *limit = strtol(limit_s, &end, 10);
        if (*end || *limit < 1 || *limit > 250) {
            struct gw_errors e;
            gw_errors_init(&e);
            gw_errors_add(&e, "", "query parameter 'limit' must be 1..250");
            int st = gw_reply_invalid(r, &e, "invalid query parameter");
            gw_errors_release(&e);
            return st;
        }
    }
    /* Cursors are the id of the last item of the previous page. */
    *has_cursor = false;
    if (!cursor)
        return 0; /* the caller pages by something other than a UUID */
    *has_cursor = gw_query(r, "cursor", cursor, cursor_len) && cursor[0];
    if (*has_cursor && !gw_uuid_like(cursor)) {
        struct gw_errors e;
        gw_errors_init(&e);
        gw_errors_add(&e, "", "query parameter 'cursor' is not a cursor this API returned");
        int st = gw_reply_invalid(r, &e, "invalid query parameter");
        gw_errors_release(&e);
        return st;
    }
    return 0;
}

json_t *gw_page_json(PGresult *res, long limit)
{
    int n = PQntuples(res);
    json_t *data = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(data, gw_row_json(res, i));
    json_t *next = json_null();
    if (n > limit)
        next = json_incref(json_object_get(json_array_get(data, (size_t)limit - 1), "id"));
    return json_pack("{s:o, s:o}", "data", data, "next_cursor", next);
}

int gw_reply_page(struct gw_req *r, const char *sql, const char *scope,
                  const char *const *extra, int nextra)
{
    char cursor[64] = "", fetch[24];
    long limit;
    bool has_cursor;
    int st = gw_page_params(r, &limit, cursor, sizeof(cursor), &has_cursor);
    if (st)
        return st;
    snprintf(fetch, sizeof(fetch), "%ld", limit + 1);
    const char *params[8] = {scope, fetch, has_cursor ? cursor : NULL};
    for (int i = 0; i < nextra && i < 5; i++)
        params[3 + i] = extra[i];
    return gw_reply_page_query(r, sql, 3 + nextra, params, limit);
}

int gw_reply_page_query(struct gw_req *r, const char *sql, int nparams,
                        const char *const *params, long limit)
{
    PGconn *conn = NULL;
    PGresult *res = gw_query_json(r, &conn, sql, nparams, params);
    if (!res)
        return 503;
    json_t *page = gw_page_json(res, limit);
    PQclear(res);
    gw_db_release(r->ctx->db, conn);
    return gw_reply_json(r, 200, page);
}
