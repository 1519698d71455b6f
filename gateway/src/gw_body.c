/* Request bodies: read within max_body_bytes and request_timeout_ms (gw_deadline.c cuts
 * off a client that is too slow), refused when JSON nests deeper than max_json_depth before
 * anything parses them, and parsed as JSON objects for the handlers. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "gw_body.h"
#include "gw_config.h"
#include "gw_deadline.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "hl/buf.h"
#include "hl/json.h"
#include "hl/banned.h"

int gw_read_body(struct gw_req *r)
{
    const struct gw_config *cfg = r->ctx->cfg;
    int64_t limit = cfg->max_body_bytes;
    long long declared = r->info->content_length;
    if (declared > limit)
        return gw_reply_problem(r, 413, "payload-too-large", "Payload too large",
                                "the body is %lld bytes; the limit is %lld", declared,
                                (long long)limit);
    if (declared == 0)
        return 0;
    struct hl_buf b = HL_BUF_INIT;
    char chunk[16384];
    int n, status = 0;
    int slot = gw_deadline_arm(r->ctx->deadlines, r->info, cfg->request_timeout_ms);
    while ((n = mg_read(r->conn, chunk, sizeof(chunk))) > 0) {
        if ((int64_t)(b.len + (size_t)n) > limit) {
            status = 413;
            break;
        }
        hl_buf_add(&b, chunk, (size_t)n);
    }
    bool late = gw_deadline_disarm(r->ctx->deadlines, slot);
    if (status == 0 && (late || (declared > 0 && (long long)b.len < declared)))
        status = 408;
    if (status == 0 && !hl_json_depth_ok(b.ptr, b.len, (int)cfg->max_json_depth))
        status = 400;
    if (status == 0) {
        r->body = b.len ? hl_buf_detach(&b, &r->body_len) : NULL;
    } else if (status == 413) {
        gw_reply_problem(r, 413, "payload-too-large", "Payload too large",
                         "the body exceeds the limit of %lld bytes", (long long)limit);
    } else if (status == 408) {
        /* What is left of the body is unread: the connection cannot carry another request. */
        mg_disable_connection_keep_alive(r->conn);
        r->closing = true;
        gw_reply_problem(r, 408, "request-timeout", "Request timeout",
                         "the body did not arrive within %lld ms",
                         (long long)cfg->request_timeout_ms);
    } else {
        gw_reply_problem(r, 400, "json-too-deep", "JSON nested too deeply",
                         "arrays and objects may nest at most %lld levels deep",
                         (long long)cfg->max_json_depth);
    }
    hl_buf_release(&b);
    return status;
}

static json_t *body_object(struct gw_req *r, bool allow_nul)
{
    json_error_t jerr;
    if (!r->body || r->body_len == 0) {
        gw_reply_problem(r, 400, "invalid-json", "Invalid JSON", "the request body is empty");
        return NULL;
    }
    /* The fast parser answers for the usual body; jansson for anything else, and for
     * every error message. gw_read_body has bounded the nesting. */
    json_t *root = hl_json_parse(r->body, r->body_len, (int)r->ctx->cfg->max_json_depth);
    if (!root) /* \u0000 is valid JSON: strings keep their length in the tree */
        root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        char why[JSON_ERROR_TEXT_LENGTH];
        gw_reply_problem(r, 400, "invalid-json", "Invalid JSON",
                         "the body is not valid JSON: %s (line %d, column %d)",
                         hl_json_error_text(&jerr, why, sizeof(why)), jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        gw_reply_problem(r, 400, "invalid-json", "Invalid JSON",
                         "the body must be a JSON object");
        return NULL;
    }
    size_t nul = allow_nul ? r->body_len : hl_json_find_nul_escape(r->body, r->body_len);
    if (nul < r->body_len) {
        json_decref(root);
        gw_reply_problem(r, 400, "invalid-request", "Invalid request",
                         "\\u0000 at byte %zu: U+0000 cannot be stored (only event data may "
                         "hold it)", nul);
        return NULL;
    }
    return root;
}

json_t *gw_body_object(struct gw_req *r)
{
    return body_object(r, false);
}

json_t *gw_body_event(struct gw_req *r)
{
    return body_object(r, true);
}
