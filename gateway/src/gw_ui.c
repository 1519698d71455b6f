/* The dashboard (ui/, issue 18): static files under /ui/, read from ui_dir.
 *
 * The dashboard is a single page that talks to the public API with the user's key, so the
 * gateway only hands out files: no session, no templating. What it adds is the browser's
 * protection: a Content-Security-Policy that allows scripts, styles and requests from this
 * origin only (no inline script, no CDN) and forbids framing, and the caching contract of
 * Vite's output: files under assets/ carry a content hash in their name, so they are
 * cached for a year, while index.html (which names the current hashes) is revalidated on
 * every load. The route table admits three shapes of path only (/ui/, /ui/<file>,
 * /ui/assets/<file>), and a file name must be [A-Za-z0-9._-] not starting with a dot, so
 * nothing outside ui_dir is reachable; symbolic links are not followed either. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <civetweb.h>

#include "gw_config.h"
#include "gw_reply.h"
#include "gw_req.h"
#include "gw_role.h"
#include "gw_route.h"
#include "gw_ui.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/banned.h"

#define UI_MAX_FILE (16 * 1024 * 1024)
#define UI_MAX_NAME 128

#define UI_CSP                                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "         \
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "              \
    "form-action 'self'; frame-ancestors 'none'"

#define UI_CACHE_HASHED "public, max-age=31536000, immutable"
#define UI_CACHE_OTHER "no-cache"

static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".map", "application/json"},
};

static const char *mime_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(mime_types) / sizeof(mime_types[0]); i++)
        if (strcmp(dot, mime_types[i].ext) == 0)
            return mime_types[i].type;
    return "application/octet-stream";
}

/* A file name the dashboard's build can have: [A-Za-z0-9._-], not starting with a dot (so
 * neither ".." nor hidden files). */
static bool ui_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= UI_MAX_NAME || name[0] == '.')
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int not_found(struct gw_req *r)
{
    return gw_reply_not_found(r, "no route for '%s'", r->info->local_uri);
}

/* Sends file (relative to ui_dir: "index.html", "<name>" or "assets/<name>"). */
static int send_file(struct gw_req *r, const char *file)
{
    bool head = strcmp(r->info->request_method, "HEAD") == 0;
    const char *dir = r->ctx->cfg->ui_dir ? r->ctx->cfg->ui_dir : HL_DEFAULT_UI_DIR;
    if (!dir[0])
        return not_found(r);

    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
        return not_found(r);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            hl_log(HL_LOG_WARN, "ui", "cannot open '%s': %s", path, strerror(errno));
        return not_found(r);
    }
    int status = 500;
    char *data = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > UI_MAX_FILE) {
        status = not_found(r);
        goto out;
    }
    size_t len = (size_t)st.st_size, got = 0;
    data = hl_xmalloc(len ? len : 1);
    while (got < len) {
        ssize_t n = read(fd, data + got, len - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != len) {
        hl_log(HL_LOG_WARN, "ui", "cannot read '%s'", path);
        status = gw_reply_problem(r, 500, "internal", "Internal error",
                                  "the file could not be read");
        goto out;
    }
    char clen[32];
    snprintf(clen, sizeof(clen), "%zu", len);
    bool hashed = strncmp(file, "assets/", 7) == 0;
    mg_response_header_start(r->conn, 200);
    mg_response_header_add(r->conn, "Content-Type", mime_type(file), -1);
    mg_response_header_add(r->conn, "Content-Length", clen, -1);
    mg_response_header_add(r->conn, "Cache-Control", hashed ? UI_CACHE_HASHED : UI_CACHE_OTHER,
                           -1);
    mg_response_header_add(r->conn, "Content-Security-Policy", UI_CSP, -1);
    mg_response_header_add(r->conn, "X-Frame-Options", "DENY", -1);
    mg_response_header_add(r->conn, "X-Content-Type-Options", "nosniff", -1);
    mg_response_header_add(r->conn, "Referrer-Policy", "no-referrer", -1);
    mg_response_header_add(r->conn, "Cross-Origin-Opener-Policy", "same-origin", -1);
    mg_response_header_send(r->conn);
    if (!head && len)
        mg_write(r->conn, data, len);
    status = 200;
out:
    free(data);
    close(fd);
    return status;
}

/* /ui/ is index.html; /ui is sent there, so that the page's base is the directory. */
static int get_index(struct gw_req *r, const char *unused)
{
    const char *uri = r->info->local_uri;
    if (uri[strlen(uri) - 1] != '/') {
        mg_response_header_start(r->conn, 301);
        mg_response_header_add(r->conn, "Location", "/ui/", -1);
        mg_response_header_add(r->conn, "Content-Length", "0", -1);
        mg_response_header_send(r->conn);
        return 301;
    }
    return send_file(r, "index.html");
}

static int get_file(struct gw_req *r, const char *name)
{
    return send_file(r, name);
}

static int get_asset(struct gw_req *r, const char *name)
{
    char file[UI_MAX_NAME + 8];
    snprintf(file, sizeof(file), "assets/%s", name);
    return send_file(r, file);
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, GW_ROUTE_HEAD, get_index},
    {"GET", "/assets/{name}", GW_PERM_NONE, GW_ROUTE_HEAD, get_asset},
    {"GET", "/{name}", GW_PERM_NONE, GW_ROUTE_HEAD, get_file},
};

static const struct gw_resource ui = {
    .prefix = "/ui", .flags = GW_RES_PUBLIC, .read_perm = GW_PERM_NONE,
    .write_perm = GW_PERM_NONE, .param_ok = ui_name_ok, .not_found = "no file '%s'",
    .routes = routes, .nroutes = GW_NROUTES(routes),
};

bool gw_ui_claims(const char *uri)
{
    return strncmp(uri, "/ui", 3) == 0 && (uri[3] == '\0' || uri[3] == '/');
}

int gw_ui_serve(struct gw_req *r)
{
    static const struct gw_resource *const table[] = {&ui};
    return gw_route_request(r, table, 1);
}
