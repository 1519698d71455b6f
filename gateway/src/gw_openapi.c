/* GET /api/v1/openapi.json: the API's OpenAPI 3.1 document.
 *
 * The document is schemas/openapi.json (generated from schemas/ by scripts/gen-openapi),
 * compiled into the binary at build time (gateway/embed_file.cmake) rather than read from
 * the schemas directory at start: the document served then always describes the routes
 * of this very binary, and a deployment cannot forget to ship it. No key is needed: the
 * document holds nothing secret and clients read it before they have a key. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <civetweb.h>

#include "gw_openapi.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "hl/banned.h"

extern const unsigned char gw_openapi_doc[];
extern const size_t gw_openapi_doc_len;

static int get_document(struct gw_req *r, const char *unused)
{
    bool head = strcmp(r->info->request_method, "HEAD") == 0;
    char clen[32];
    snprintf(clen, sizeof(clen), "%zu", gw_openapi_doc_len);
    mg_response_header_start(r->conn, 200);
    mg_response_header_add(r->conn, "Content-Type", "application/json", -1);
    mg_response_header_add(r->conn, "Content-Length", clen, -1);
    mg_response_header_add(r->conn, "Cache-Control", "no-cache", -1);
    mg_response_header_send(r->conn);
    if (!head)
        mg_write(r->conn, gw_openapi_doc, gw_openapi_doc_len);
    return 200;
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_HEAD, get_document},
};

const struct gw_resource gw_res_openapi = {
    .prefix = "/api/v1/openapi.json", .flags = GW_RES_PUBLIC,
    .routes = routes, .nroutes = GW_NROUTES(routes),
};
