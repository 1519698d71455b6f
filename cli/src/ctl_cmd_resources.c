/* The commands beyond seed 002's webhooks: deliveries:list, event types, sources, tenants
 * and API keys. Each is a thin mapping of options onto one REST call
 * (docs/api.md). */
#include "ctl_cmds.h"

#include <stdio.h>
#include <string.h>

#include "hl/banned.h"

static const struct ctl_col event_type_cols[] = {
    {"NAME", "name"},           {"BUILTIN", "builtin"},         {"DEPRECATED", "deprecated"},
    {"SCHEMA", "schema"},       {"DESCRIPTION", "description"}, {NULL, NULL},
};

static const struct ctl_col catalog_cols[] = {
    {"NAME", "name"}, {"TITLE", "title"}, {NULL, NULL},
};

static const struct ctl_col source_cols[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"STATUS", "status"},
    {"VERIFICATION", "verification.type"},
    {"INCOMING PATH", "incoming_path"},
    {NULL, NULL},
};

static const struct ctl_col tenant_cols[] = {
    {"ID", "id"}, {"NAME", "name"}, {"CREATED", "created_at"}, {NULL, NULL}};

static const struct ctl_col api_key_cols[] = {
    {"ID", "id"},         {"ROLE", "role"},        {"TENANT", "tenant_id"},
    {"NAME", "name"},     {"PREFIX", "key_prefix"}, {"REVOKED", "revoked_at"},
    {NULL, NULL},
};

/* A list at `base` with no filters of its own. */
static int plain_list(struct ctl_ctx *x, const char *base, const struct ctl_col *cols)
{
    struct ctl_path p;
    ctl_path_init(&p, base);
    int rc = ctl_list(x, &p, cols, NULL);
    ctl_path_release(&p);
    return rc;
}

/* One request on <base>/<positional argument>, its answer shown. */
static int on_item(struct ctl_ctx *x, const char *method, const char *base, const json_t *body,
                   const char *done)
{
    struct ctl_path p;
    ctl_path_init(&p, base);
    ctl_path_seg(&p, x->args->arg);
    int rc = ctl_simple(x, method, ctl_path_str(&p), body, done);
    ctl_path_release(&p);
    return rc;
}

/* A PATCH of <base>/<arg> with body; an empty body is a usage error. */
static int patch_item(struct ctl_ctx *x, const char *base, json_t *body)
{
    int rc;
    if (json_object_size(body) == 0) {
        fprintf(stderr, "hooklinectl: %s: nothing to change (see %s --help)\n",
                x->args->cmd->name, x->args->cmd->name);
        rc = CTL_EXIT_USAGE;
    } else {
        rc = on_item(x, "PATCH", base, body, NULL);
    }
    json_decref(body);
    return rc;
}

/* A DELETE of <base>/<arg>, confirmed on a terminal when the command has --force. */
static int delete_item(struct ctl_ctx *x, const char *base, const char *what, bool confirm)
{
    char q[256], done[256];
    snprintf(q, sizeof(q), "delete %s %s?", what, x->args->arg);
    if (confirm && !ctl_arg_flag(x->args, "force") && !ctl_confirm(q)) {
        fprintf(stderr, "hooklinectl: not deleted\n");
        return CTL_EXIT_USAGE;
    }
    snprintf(done, sizeof(done), "deleted %s %s", what, x->args->arg);
    return on_item(x, "DELETE", base, NULL, done);
}

static int post_body(struct ctl_ctx *x, const char *path, json_t *body)
{
    int rc = ctl_simple(x, "POST", path, body, NULL);
    json_decref(body);
    return rc;
}

/* --- deliveries -------------------------------------------------------------------------- */

int ctl_deliveries_list(struct ctl_ctx *x)
{
    struct ctl_path p;
    ctl_path_init(&p, "/api/v1/deliveries");
    ctl_path_param(&p, "webhook_id", ctl_arg(x->args, "webhook"));
    return ctl_list_deliveries(x, &p);
}

/* --- event types --------------------------------------------------------------------------- */

int ctl_event_types_list(struct ctl_ctx *x)
{
    /* Not paginated by the API (next_cursor is always null): one request. */
    return ctl_list_unpaged(x, "/api/v1/event-types", event_type_cols);
}

int ctl_event_types_info(struct ctl_ctx *x)
{
    return on_item(x, "GET", "/api/v1/event-types", NULL, NULL);
}

static void event_type_fields(struct ctl_ctx *x, json_t *body)
{
    ctl_body_opt(x, body, "description", "description");
    ctl_body_opt(x, body, "schema", "schema");
    ctl_body_opt(x, body, "deprecated", "deprecated");
}

int ctl_event_types_create(struct ctl_ctx *x)
{
    json_t *body = json_object();
    ctl_body_opt(x, body, "name", "name");
    event_type_fields(x, body);
    return post_body(x, "/api/v1/event-types", body);
}

int ctl_event_types_update(struct ctl_ctx *x)
{
    json_t *body = json_object();
    event_type_fields(x, body);
    return patch_item(x, "/api/v1/event-types", body);
}

int ctl_event_types_delete(struct ctl_ctx *x)
{
    return delete_item(x, "/api/v1/event-types", "event type", false);
}

int ctl_event_types_catalogs(struct ctl_ctx *x)
{
    return ctl_list_unpaged(x, "/api/v1/event-type-catalogs", catalog_cols);
}

int ctl_event_types_import(struct ctl_ctx *x)
{
    json_t *body = json_object();
    ctl_body_opt(x, body, "catalog", "catalog");
    return post_body(x, "/api/v1/event-types/import", body);
}

/* --- sources ------------------------------------------------------------------------------- */

int ctl_sources_list(struct ctl_ctx *x)
{
    struct ctl_path p;
    ctl_path_init(&p, "/api/v1/sources");
    ctl_path_param(&p, "status", ctl_arg(x->args, "status"));
    int rc = ctl_list(x, &p, source_cols, NULL);
    ctl_path_release(&p);
    return rc;
}

int ctl_sources_info(struct ctl_ctx *x)
{
    return on_item(x, "GET", "/api/v1/sources", NULL, NULL);
}

static void source_fields(struct ctl_ctx *x, json_t *body)
{
    ctl_body_opt(x, body, "name", "name");
    ctl_body_opt(x, body, "description", "description");
    ctl_body_opt(x, body, "verification", "verification");
    ctl_body_opt(x, body, "event_type", "event-type");
    ctl_body_opt(x, body, "schema", "schema");
    ctl_body_opt(x, body, "rate_limit_per_s", "rate-limit");
    ctl_body_opt(x, body, "status", "status");
}

int ctl_sources_create(struct ctl_ctx *x)
{
    json_t *body = json_object();
    source_fields(x, body);
    return post_body(x, "/api/v1/sources", body);
}

int ctl_sources_update(struct ctl_ctx *x)
{
    json_t *body = json_object();
    source_fields(x, body);
    return patch_item(x, "/api/v1/sources", body);
}

int ctl_sources_delete(struct ctl_ctx *x)
{
    return delete_item(x, "/api/v1/sources", "source", true);
}

/* --- tenants ------------------------------------------------------------------------------- */

int ctl_tenants_list(struct ctl_ctx *x)
{
    return plain_list(x, "/api/v1/tenants", tenant_cols);
}

int ctl_tenants_info(struct ctl_ctx *x)
{
    return on_item(x, "GET", "/api/v1/tenants", NULL, NULL);
}

int ctl_tenants_create(struct ctl_ctx *x)
{
    json_t *body = json_object();
    ctl_body_opt(x, body, "id", "id");
    ctl_body_opt(x, body, "name", "name");
    ctl_body_opt(x, body, "metadata", "metadata");
    return post_body(x, "/api/v1/tenants", body);
}

int ctl_tenants_update(struct ctl_ctx *x)
{
    json_t *body = json_object();
    ctl_body_opt(x, body, "name", "name");
    ctl_body_opt(x, body, "metadata", "metadata");
    return patch_item(x, "/api/v1/tenants", body);
}

int ctl_tenants_delete(struct ctl_ctx *x)
{
    return delete_item(x, "/api/v1/tenants", "tenant", true);
}

/* --- API keys ------------------------------------------------------------------------------ */

int ctl_api_keys_list(struct ctl_ctx *x)
{
    return plain_list(x, "/api/v1/api-keys", api_key_cols);
}

int ctl_api_keys_info(struct ctl_ctx *x)
{
    return on_item(x, "GET", "/api/v1/api-keys", NULL, NULL);
}

int ctl_api_keys_create(struct ctl_ctx *x)
{
    json_t *body = json_object();
    ctl_body_opt(x, body, "role", "role");
    ctl_body_opt(x, body, "name", "name");
    ctl_body_opt(x, body, "tenant_id", "tenant-id");
    ctl_body_opt(x, body, "rate_limit_per_s", "rate-limit");
    return post_body(x, "/api/v1/api-keys", body);
}

int ctl_api_keys_revoke(struct ctl_ctx *x)
{
    char done[256];
    snprintf(done, sizeof(done), "revoked API key %s", x->args->arg);
    return on_item(x, "DELETE", "/api/v1/api-keys", NULL, done);
}
