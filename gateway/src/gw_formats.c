/* Delivery formats at the gateway (see gw_formats.h). A format is compiled here only to
 * refuse a bad one before anything is stored; the dispatchers compile the stored form
 * again when they load the webhook. */
#include "gw_formats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_req.h"
#include "gw_route.h"
#include "gw_secrets.h"
#include "hl/format.h"
#include "hl/banned.h"

void gw_format_prepare(json_t *body, struct gw_errors *e)
{
    json_t *given = json_object_get(body, "format"), *stored = NULL;
    struct hl_template_error te;
    if (!given)
        return;
    if (hl_format_check(given, &stored, &te) != HL_OK) {
        char ptr[300];
        snprintf(ptr, sizeof(ptr), "/format%s", te.pointer);
        gw_errors_add(e, ptr, "%s", te.detail);
        return;
    }
    /* The webhook's own headers (and auth's) may not repeat one the format sets. */
    struct hl_format *f = NULL;
    if (stored && hl_format_compile(stored, &f, &te) == HL_OK && f) {
        const char *auth_header =
            json_string_value(json_object_get(json_object_get(body, "auth"), "header"));
        for (size_t i = 0; i <= f->nheaders; i++) {
            const char *name = i < f->nheaders ? f->header_names[i] : f->sig_header;
            const char *key;
            json_t *v;
            if (!name)
                continue;
            json_object_foreach(json_object_get(body, "headers"), key, v) {
                if (strcasecmp(key, name) == 0)
                    gw_errors_add(e, "/format", "sets '%s', which 'headers' sets too", name);
            }
            if (auth_header && strcasecmp(auth_header, name) == 0)
                gw_errors_add(e, "/format", "sets '%s', which 'auth' sends its credential in",
                              name);
        }
    }
    hl_format_free(f);
    json_object_set_new(body, "format", stored ? stored : json_null());
}

void gw_format_seal(const struct hl_keyring *kr, json_t *body, const char *webhook_id)
{
    json_t *f = json_object_get(body, "format");
    json_t *secret = json_object_get(f, "secret");
    if (!json_is_string(secret))
        return;
    char *sealed = gw_seal(kr, "format.secret", webhook_id, json_string_value(secret));
    json_object_set_new(f, "secret", json_string(sealed));
    free(sealed);
}

static int list(struct gw_req *r, const char *unused)
{
    json_t *items = json_array();
    for (size_t i = 0; i < hl_format_builtin_count(); i++)
        json_array_append_new(items, hl_format_builtin(hl_format_builtin_name(i)));
    return gw_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

static int get_one(struct gw_req *r, const char *name)
{
    json_t *f = hl_format_builtin(name);
    if (!f)
        return gw_reply_not_found(r, "no built-in format '%s'", name);
    return gw_reply_json(r, 200, f);
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64;
}

static const struct gw_route routes[] = {
    {"GET", "", GW_PERM_NONE, 0, list},
    {"GET", "/{name}", GW_PERM_NONE, 0, get_one},
};

const struct gw_resource gw_res_formats = {
    .prefix = "/api/v1/formats",
    .read_perm = GW_PERM_READ,
    .write_perm = GW_PERM_WRITE,
    .param_ok = name_ok,
    .not_found = "no built-in format '%s'",
    .routes = routes,
    .nroutes = GW_NROUTES(routes),
};
