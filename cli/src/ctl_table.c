/* hooklinectl's command table: every command, its argument, its options and their help.
 * The parser (ctl_args.c), --help, docs/cli.md and the completion scripts (ctl_gen.c) are
 * all read from here; scripts/gen-cli-doc regenerates the committed outputs and CTest's
 * cli_doc_fresh fails when they are stale.
 *
 * The webhooks:* commands keep seed 002's spelling and flags (`prompt webhooks:create
 * --name ... --auth-type bearer --auth-credentials '{"token":"..."}'`), so a seed 002
 * user's scripts run with only the program name changed. */
#include "ctl_args.h"
#include "ctl_cmds.h"

#include "hl/banned.h"

#define END {NULL, 0, NULL, NULL, false, NULL}

const char ctl_program_summary[] =
    "hooklinectl: the command-line client of Hookline's REST API (webhooks, deliveries, "
    "event types, sources, tenants and API keys).";

const struct ctl_opt ctl_global_opts[] = {
    {"url", CTL_OPT_STRING, "<url>", NULL, false,
     "gateway base URL, e.g. http://127.0.0.1:8080 (env HOOKLINE_URL)"},
    {"api-key", CTL_OPT_STRING, "<key>", NULL, false,
     "API key sent as a bearer token (env HOOKLINE_API_KEY); never printed"},
    {"profile", CTL_OPT_STRING, "<name>", NULL, false,
     "profile of ~/.config/hookline/config to use (env HOOKLINE_PROFILE; default: default)"},
    {"tenant", CTL_OPT_STRING, "<tenant-id>", NULL, false,
     "tenant an admin key acts on, sent as X-Hookline-Tenant (env HOOKLINE_TENANT)"},
    {"format", CTL_OPT_ENUM, "<format>", "table|json", false,
     "output: table (default) or json, the API's JSON unchanged"},
    END,
};

/* --- options shared by several commands --------------------------------------------- */

#define PAGING                                                                              \
    {"limit", CTL_OPT_INT, "<n>", NULL, false,                                              \
     "at most n items (default 50), following the cursor across pages"},                    \
        {"all", CTL_OPT_FLAG, NULL, NULL, false, "every item, page after page"},            \
        {"cursor", CTL_OPT_STRING, "<cursor>", NULL, false,                                 \
         "start after this cursor (a previous page's next_cursor)"},                        \
        {"page-size", CTL_OPT_INT, "<n>", NULL, false,                                      \
         "items per request, 1..250 (default: --limit, at most 250)"}

#define WEBHOOK_FIELDS                                                                       \
    {"name", CTL_OPT_STRING, "<name>", NULL, false, "display name"},                         \
        {"description", CTL_OPT_STRING, "<text>", NULL, false, "description"},               \
        {"method", CTL_OPT_ENUM, "<method>", "POST|PUT|PATCH", false,                        \
         "HTTP method of the deliveries (default POST)"},                                    \
        {"headers", CTL_OPT_JSON, "'<json>'", NULL, false,                                   \
         "extra request headers, a JSON object of strings"},                                 \
        {"auth-type", CTL_OPT_ENUM, "<type>", "none|basic|bearer|api-key|hmac", false,       \
         "credentials sent with each delivery (with --auth-credentials)"},                   \
        {"auth-credentials", CTL_OPT_JSON, "'<json>'", NULL, false,                          \
         "seed 002 shapes: basic {\"username\",\"password\"}, bearer {\"token\"}, api-key "  \
         "{\"api_key\",\"header_name\"}, hmac {\"secret\"}"},                                \
        {"auth", CTL_OPT_JSON, "'<json>'", NULL, false,                                      \
         "the API's own auth object instead, e.g. '{\"type\":\"bearer\",\"token\":\"t\"}'"}, \
        {"signature", CTL_OPT_JSON, "'<json>'", NULL, false,                                 \
         "signature settings, e.g. '{\"legacy_header\":\"x-stacksos-signature\"}'"},         \
        {"retry-strategy", CTL_OPT_ENUM, "<strategy>", "exponential|linear|fixed", false,    \
         "retry back-off"},                                                                  \
        {"max-attempts", CTL_OPT_INT, "<n>", NULL, false,                                    \
         "attempts in all, the first included (1..20)"},                                     \
        {"initial-delay-ms", CTL_OPT_INT, "<ms>", NULL, false, "wait before the first retry"}, \
        {"max-delay-ms", CTL_OPT_INT, "<ms>", NULL, false, "longest wait between attempts"},   \
        {"retry-schedule", CTL_OPT_JSON, "'<json>'", NULL, false,                            \
         "explicit waits before each retry in ms, e.g. '[60000,300000,900000]' (replaces "   \
         "the strategy options)"},                                                           \
        {"filter", CTL_OPT_JSON, "'<json>'", NULL, false,                                    \
         "payload filter, e.g. '{\"path\":\"/data/amount\",\"op\":\"gte\",\"value\":100}'"}, \
        {"timeout-ms", CTL_OPT_INT, "<ms>", NULL, false, "timeout per attempt (100..120000)"}, \
        {"rate-limit", CTL_OPT_INT, "<per-second>", NULL, false,                             \
         "deliveries per second at most"},                                                   \
        {"max-concurrency", CTL_OPT_INT, "<n>", NULL, false, "deliveries in flight at most"}, \
        {"metadata", CTL_OPT_JSON, "'<json>'", NULL, false, "free-form JSON object"}

static const struct ctl_opt no_opts[] = {END};

/* --- webhooks (seed 002) ------------------------------------------------------------- */

static const struct ctl_opt webhooks_list_opts[] = {
    {"status", CTL_OPT_ENUM, "<status>", "active|inactive|paused|disabled", false,
     "only webhooks in this status; inactive: every status but active"},
    {"event", CTL_OPT_STRING, "<event>", NULL, false,
     "only webhooks that would receive this event type"},
    PAGING,
    END,
};

static const struct ctl_opt webhooks_create_opts[] = {
    {"url", CTL_OPT_STRING, "<url>", NULL, true, "endpoint URL (http:// or https://)"},
    {"events", CTL_OPT_STRING, "<a,b,...>", NULL, true,
     "comma-separated event types, \"*\" or \"prefix.*\""},
    WEBHOOK_FIELDS,
    {"status", CTL_OPT_ENUM, "<status>", "active|inactive|paused", false,
     "initial status (inactive = paused; default active)"},
    {"secret", CTL_OPT_STRING, "<whsec_...>", NULL, false,
     "signing secret (generated when absent; shown once, in this answer)"},
    END,
};

static const struct ctl_opt webhooks_update_opts[] = {
    {"url", CTL_OPT_STRING, "<url>", NULL, false, "endpoint URL"},
    {"events", CTL_OPT_STRING, "<a,b,...>", NULL, false, "comma-separated event types"},
    WEBHOOK_FIELDS,
    {"status", CTL_OPT_ENUM, "<status>", "active|inactive|paused|disabled", false,
     "new status (inactive = paused)"},
    {"no-rate-limit", CTL_OPT_FLAG, NULL, NULL, false, "remove the rate limit"},
    {"no-max-concurrency", CTL_OPT_FLAG, NULL, NULL, false, "remove the concurrency limit"},
    END,
};

static const struct ctl_opt webhooks_delete_opts[] = {
    {"force", CTL_OPT_FLAG, NULL, NULL, false, "do not ask for confirmation"},
    END,
};

static const struct ctl_opt webhooks_test_opts[] = {
    {"no-wait", CTL_OPT_FLAG, NULL, NULL, false, "do not wait for the outcome"},
    {"wait-seconds", CTL_OPT_INT, "<s>", NULL, false,
     "how long to wait for the first attempt (default 30)"},
    END,
};

#define DELIVERY_FILTERS                                                                    \
    {"status", CTL_OPT_ENUM, "<status>", "pending|retrying|succeeded|failed|skipped", false, \
     "only deliveries in this status"},                                                      \
        {"event-type", CTL_OPT_STRING, "<type>", NULL, false, "only this event type"},       \
        {"since", CTL_OPT_STRING, "<rfc3339>", NULL, false, "created at or after"},          \
        {"until", CTL_OPT_STRING, "<rfc3339>", NULL, false, "created before"}

static const struct ctl_opt webhooks_deliveries_opts[] = {
    DELIVERY_FILTERS,
    PAGING,
    END,
};

static const struct ctl_opt webhooks_stats_opts[] = {
    {"window-hours", CTL_OPT_INT, "<h>", NULL, false, "window in hours, 1..720 (default 24)"},
    END,
};

static const struct ctl_opt webhooks_trigger_opts[] = {
    {"event", CTL_OPT_STRING, "<type>", NULL, true, "event type"},
    {"data", CTL_OPT_JSON, "'<json>'", NULL, false, "the payload (default {})"},
    {"metadata", CTL_OPT_JSON, "'<json>'", NULL, false, "metadata object"},
    {"id", CTL_OPT_STRING, "<event-id>", NULL, false,
     "client event id; a repeat within 24 h is deduplicated"},
    {"occurred-at", CTL_OPT_STRING, "<rfc3339>", NULL, false, "when it happened at the source"},
    END,
};

static const struct ctl_opt webhooks_retry_opts[] = {
    {"webhook", CTL_OPT_STRING, "<webhook-id>", NULL, true, "the webhook"},
    {"delivery", CTL_OPT_STRING, "<delivery-id>", NULL, true, "its delivery to send again"},
    END,
};

static const struct ctl_opt webhooks_rotate_opts[] = {
    {"secret", CTL_OPT_STRING, "<whsec_...>", NULL, false, "the new secret (generated when absent)"},
    {"overlap-seconds", CTL_OPT_INT, "<s>", NULL, false,
     "how long the old secret keeps signing (default 86400)"},
    END,
};

static const struct ctl_opt webhooks_replay_opts[] = {
    {"since", CTL_OPT_STRING, "<rfc3339>", NULL, true, "replay deliveries created from then"},
    {"until", CTL_OPT_STRING, "<rfc3339>", NULL, false, "... and before then"},
    END,
};

/* --- other resources ------------------------------------------------------------------ */

static const struct ctl_opt deliveries_list_opts[] = {
    {"webhook", CTL_OPT_STRING, "<webhook-id>", NULL, false, "only this webhook's"},
    DELIVERY_FILTERS,
    PAGING,
    END,
};

static const struct ctl_opt event_types_import_opts[] = {
    {"catalog", CTL_OPT_ENUM, "<catalog>", "stacksos|systemprompt|epic81|xavyo", true,
     "built-in catalog to copy into the tenant's"},
    END,
};

static const struct ctl_opt event_type_fields_create[] = {
    {"name", CTL_OPT_STRING, "<type>", NULL, true, "event type name, e.g. order.created"},
    {"description", CTL_OPT_STRING, "<text>", NULL, false, "description"},
    {"schema", CTL_OPT_JSON, "'<json>'", NULL, false, "JSON Schema of the event's data"},
    {"deprecated", CTL_OPT_ENUM, "<bool>", "true|false", false, "mark as deprecated"},
    END,
};

static const struct ctl_opt event_type_fields_update[] = {
    {"description", CTL_OPT_STRING, "<text>", NULL, false, "description"},
    {"schema", CTL_OPT_JSON, "'<json>'", NULL, false, "JSON Schema of the data (null removes it)"},
    {"deprecated", CTL_OPT_ENUM, "<bool>", "true|false", false, "mark as deprecated or not"},
    END,
};

static const struct ctl_opt sources_list_opts[] = {
    {"status", CTL_OPT_ENUM, "<status>", "active|disabled", false, "only sources in this status"},
    PAGING,
    END,
};

#define SOURCE_FIELDS                                                                        \
    {"name", CTL_OPT_STRING, "<name>", NULL, false, "display name"},                         \
        {"description", CTL_OPT_STRING, "<text>", NULL, false, "description"},               \
        {"event-type", CTL_OPT_JSON, "'<json>'", NULL, false,                                \
         "where the event type comes from, e.g. '{\"from\":\"header\",\"header\":"           \
         "\"X-GitHub-Event\",\"prefix\":\"github.\"}'"},                                     \
        {"schema", CTL_OPT_JSON, "'<json>'", NULL, false, "JSON Schema the payload must match"}, \
        {"rate-limit", CTL_OPT_INT, "<per-second>", NULL, false, "incoming requests per second"}, \
        {"status", CTL_OPT_ENUM, "<status>", "active|disabled", false, "status"}

static const struct ctl_opt sources_create_opts[] = {
    {"verification", CTL_OPT_JSON, "'<json>'", NULL, true,
     "how requests are verified, e.g. '{\"type\":\"github\",\"secret\":\"...\"}'"},
    SOURCE_FIELDS,
    END,
};

static const struct ctl_opt sources_update_opts[] = {
    {"verification", CTL_OPT_JSON, "'<json>'", NULL, false, "replaces the verification whole"},
    SOURCE_FIELDS,
    END,
};

static const struct ctl_opt tenants_list_opts[] = {PAGING, END};

static const struct ctl_opt tenants_create_opts[] = {
    {"id", CTL_OPT_STRING, "<tenant-id>", NULL, false, "[A-Za-z0-9_-]{1,64} (generated when absent)"},
    {"name", CTL_OPT_STRING, "<name>", NULL, true, "display name"},
    {"metadata", CTL_OPT_JSON, "'<json>'", NULL, false, "free-form JSON object"},
    END,
};

static const struct ctl_opt tenants_update_opts[] = {
    {"name", CTL_OPT_STRING, "<name>", NULL, false, "display name"},
    {"metadata", CTL_OPT_JSON, "'<json>'", NULL, false, "replaces the metadata whole"},
    END,
};

static const struct ctl_opt api_keys_list_opts[] = {PAGING, END};

static const struct ctl_opt api_keys_create_opts[] = {
    {"role", CTL_OPT_ENUM, "<role>", "admin|tenant_admin|publisher|viewer", true, "the key's role"},
    {"name", CTL_OPT_STRING, "<name>", NULL, false, "label"},
    {"tenant-id", CTL_OPT_STRING, "<tenant-id>", NULL, false,
     "tenant of the key (admin keys: default --tenant)"},
    {"rate-limit", CTL_OPT_INT, "<per-second>", NULL, false,
     "requests per second for this key (0 = unlimited)"},
    END,
};

#define G_WEBHOOKS "Webhooks (seed 002's commands)"
#define G_DELIVERIES "Deliveries"
#define G_TYPES "Event types"
#define G_SOURCES "Sources (incoming webhooks)"
#define G_ADMIN "Tenants and API keys"
#define G_TOOL "Help and shell completion"

const struct ctl_command ctl_commands[] = {
    {"webhooks:list", G_WEBHOOKS, NULL, false, NULL, "List webhooks",
     "Lists the tenant's webhooks in creation order.", webhooks_list_opts, ctl_webhooks_list,
     true},
    {"webhooks:create", G_WEBHOOKS, NULL, false, NULL, "Create a webhook",
     "Subscribes an endpoint to event types. The answer holds the webhook's signing secret, "
     "which is shown only here. Subscribed event types must be in the catalog "
     "(event-types:create) unless they are wildcards.",
     webhooks_create_opts, ctl_webhooks_create, true},
    {"webhooks:info", G_WEBHOOKS, "<webhook-id>", false, NULL, "Show a webhook", NULL, no_opts,
     ctl_webhooks_info, true},
    {"webhooks:update", G_WEBHOOKS, "<webhook-id>", false, NULL, "Change a webhook",
     "Changes only the fields given (PATCH): the retry options are merged into the stored "
     "policy, --events, --headers and the credentials replace the stored ones.",
     webhooks_update_opts, ctl_webhooks_update, true},
    {"webhooks:delete", G_WEBHOOKS, "<webhook-id>", false, NULL, "Delete a webhook",
     "Asks for confirmation when run on a terminal, unless --force.", webhooks_delete_opts,
     ctl_webhooks_delete, true},
    {"webhooks:test", G_WEBHOOKS, "<webhook-id>", false, NULL,
     "Send a test event and show the outcome",
     "Sends a system.webhook.test event to this webhook only, waits for its first attempt "
     "and shows the delivery with its attempts. The exit code is 0 whatever the endpoint "
     "answered: the delivery's status says how it went.",
     webhooks_test_opts, ctl_webhooks_test, true},
    {"webhooks:deliveries", G_WEBHOOKS, "<webhook-id>", false, NULL,
     "List a webhook's deliveries (newest first)", NULL, webhooks_deliveries_opts,
     ctl_webhooks_deliveries, true},
    {"webhooks:stats", G_WEBHOOKS, "<webhook-id>", false, NULL,
     "Show a webhook's delivery statistics",
     "Success rate, attempts and latency percentiles over the last --window-hours.",
     webhooks_stats_opts, ctl_webhooks_stats, true},
    {"webhooks:trigger", G_WEBHOOKS, NULL, false, NULL, "Publish an event",
     "Publishes an event (POST /api/v1/events); every matching active webhook receives it. "
     "Answers once Kafka has accepted it.",
     webhooks_trigger_opts, ctl_webhooks_trigger, true},
    {"webhooks:retry", G_WEBHOOKS, NULL, false, NULL, "Send a delivery again",
     "Sends the delivery again with a fresh attempt budget; the delivery must belong to the "
     "webhook.",
     webhooks_retry_opts, ctl_webhooks_retry, true},
    {"webhooks:pause", G_WEBHOOKS, "<webhook-id>", false, NULL,
     "Pause a webhook (no deliveries until resumed)", NULL, no_opts, ctl_webhooks_pause, true},
    {"webhooks:resume", G_WEBHOOKS, "<webhook-id>", false, NULL,
     "Resume a paused or disabled webhook", NULL, no_opts, ctl_webhooks_resume, true},
    {"webhooks:rotate-secret", G_WEBHOOKS, "<webhook-id>", false, NULL,
     "Rotate a webhook's signing secret",
     "The new secret is shown once, in the answer; the old one keeps signing alongside it "
     "for --overlap-seconds.",
     webhooks_rotate_opts, ctl_webhooks_rotate_secret, true},
    {"webhooks:replay", G_WEBHOOKS, "<webhook-id>", false, NULL,
     "Send a webhook's failed and skipped deliveries again",
     "Re-sends the deliveries created in [--since, --until) that failed or were skipped.",
     webhooks_replay_opts, ctl_webhooks_replay, true},

    {"deliveries:list", G_DELIVERIES, NULL, false, NULL, "List deliveries (newest first)", NULL,
     deliveries_list_opts, ctl_deliveries_list, true},
    {"deliveries:show", G_DELIVERIES, "<delivery-id>", false, NULL,
     "Show a delivery, its event and every attempt", NULL, no_opts, ctl_deliveries_show, true},

    {"event-types:list", G_TYPES, NULL, false, NULL, "List the event-type catalog", NULL,
     no_opts, ctl_event_types_list, true},
    {"event-types:info", G_TYPES, "<name>", false, NULL, "Show an event type", NULL, no_opts,
     ctl_event_types_info, true},
    {"event-types:create", G_TYPES, NULL, false, NULL, "Add an event type to the catalog", NULL,
     event_type_fields_create, ctl_event_types_create, true},
    {"event-types:update", G_TYPES, "<name>", false, NULL, "Change an event type", NULL,
     event_type_fields_update, ctl_event_types_update, true},
    {"event-types:catalogs", G_TYPES, NULL, false, NULL, "List the built-in catalogs",
     "The event catalogs of the seed systems, each importable with event-types:import.",
     no_opts, ctl_event_types_catalogs, true},
    {"event-types:import", G_TYPES, NULL, false, NULL, "Import a built-in catalog",
     "Copies a built-in catalog's event types into the tenant's catalog; names it has "
     "already and built-in ones are left as they are. Safe to repeat.",
     event_types_import_opts, ctl_event_types_import, true},
    {"event-types:delete", G_TYPES, "<name>", false, NULL, "Remove an event type", NULL,
     no_opts, ctl_event_types_delete, true},

    {"sources:list", G_SOURCES, NULL, false, NULL, "List sources", NULL, sources_list_opts,
     ctl_sources_list, true},
    {"sources:info", G_SOURCES, "<source-id>", false, NULL, "Show a source", NULL, no_opts,
     ctl_sources_info, true},
    {"sources:create", G_SOURCES, NULL, false, NULL, "Create a source",
     "Creates a source receiving webhooks at /api/v1/incoming/<id>. Its credential is shown "
     "once, in this answer.",
     sources_create_opts, ctl_sources_create, true},
    {"sources:update", G_SOURCES, "<source-id>", false, NULL, "Change a source", NULL,
     sources_update_opts, ctl_sources_update, true},
    {"sources:delete", G_SOURCES, "<source-id>", false, NULL, "Delete a source", NULL,
     webhooks_delete_opts, ctl_sources_delete, true},

    {"tenants:list", G_ADMIN, NULL, false, NULL, "List tenants (admin)", NULL,
     tenants_list_opts, ctl_tenants_list, true},
    {"tenants:info", G_ADMIN, "<tenant-id>", false, NULL, "Show a tenant", NULL, no_opts,
     ctl_tenants_info, true},
    {"tenants:create", G_ADMIN, NULL, false, NULL, "Create a tenant (admin)", NULL,
     tenants_create_opts, ctl_tenants_create, true},
    {"tenants:update", G_ADMIN, "<tenant-id>", false, NULL, "Change a tenant (admin)", NULL,
     tenants_update_opts, ctl_tenants_update, true},
    {"tenants:delete", G_ADMIN, "<tenant-id>", false, NULL,
     "Delete a tenant and everything it owns (admin)", NULL, webhooks_delete_opts,
     ctl_tenants_delete, true},
    {"api-keys:list", G_ADMIN, NULL, false, NULL, "List API keys", NULL, api_keys_list_opts,
     ctl_api_keys_list, true},
    {"api-keys:info", G_ADMIN, "<key-id>", false, NULL, "Show an API key (never the key)", NULL,
     no_opts, ctl_api_keys_info, true},
    {"api-keys:create", G_ADMIN, NULL, false, NULL, "Create an API key",
     "The key itself is in this answer only (field key); store it now.", api_keys_create_opts,
     ctl_api_keys_create, true},
    {"api-keys:revoke", G_ADMIN, "<key-id>", false, NULL, "Revoke an API key at once", NULL,
     no_opts, ctl_api_keys_revoke, true},

    {"help", G_TOOL, "[command]", true, NULL, "Show help for hooklinectl or a command", NULL,
     no_opts, ctl_help, false},
    {"completion", G_TOOL, "<shell>", false, "bash|zsh", "Print a shell completion script",
     "bash: source it, or copy it to /usr/share/bash-completion/completions/hooklinectl. "
     "zsh: put it in a directory of $fpath as _hooklinectl.",
     no_opts, ctl_completion, false},
    {"doc", G_TOOL, NULL, false, NULL, "Print the command reference as Markdown (docs/cli.md)",
     NULL, no_opts, ctl_doc, false},
    {NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, false},
};
