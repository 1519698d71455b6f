/* What every command implementation shares: the run context, the helpers that send a
 * request and print its answer (table or the API's JSON), the paging loop, and the
 * handlers the command table (ctl_table.c) points at. */
#ifndef CTL_CMDS_H
#define CTL_CMDS_H

#include <jansson.h>
#include <stdbool.h>

#include "ctl_args.h"
#include "ctl_conn.h"
#include "ctl_http.h"
#include "ctl_output.h"

struct ctl_ctx {
    const struct ctl_args *args;
    struct ctl_conn conn; /* filled when the command needs the API */
    bool json;            /* --format json */
};

/* Sends the request and checks the status: 2xx leaves the answer in r and returns
 * CTL_EXIT_OK; otherwise prints the problem (or the connection error) and returns its exit
 * code, with r released. */
int ctl_call(struct ctl_ctx *x, const char *method, const char *path, const json_t *body,
             struct ctl_resp *r);
/* Prints an answer: the body unchanged with --format json, else the object as
 * "field  value" lines (skip: members left out). */
void ctl_show(struct ctl_ctx *x, const struct ctl_resp *r, const char *const *skip);
/* ctl_call() then ctl_show(); a 204 prints `done` (table) or nothing (json). */
int ctl_simple(struct ctl_ctx *x, const char *method, const char *path, const json_t *body,
               const char *done);

/* Keeps a list item or drops it (client-side filters, e.g. seed 002's `inactive`). */
typedef bool (*ctl_keep_fn)(const json_t *item);

/* Lists a paginated collection: the path with its filters, then limit/cursor added per
 * page. Honours --limit (items in all, following cursors across pages), --page-size,
 * --cursor and --all (every page). With --format json each page is printed as the API
 * sent it (one JSON document per page), unless keep filters items; the table mode prints
 * one table and, when more remain, the cursor to continue from on stderr. */
int ctl_list(struct ctl_ctx *x, struct ctl_path *p, const struct ctl_col *cols, ctl_keep_fn keep);

/* A list the API does not paginate (event types): one GET, printed like ctl_list's. */
int ctl_list_unpaged(struct ctl_ctx *x, const char *path, const struct ctl_col *cols);

/* Asks "<question> [y/N]" on the terminal; true for yes. Not a terminal: true (scripts
 * pass --force anyway). */
bool ctl_confirm(const char *question);

/* Adds to body the member `field` from option `opt` when given, converting the option's
 * text by its type (JSON options parsed, integers as integers, others as strings). */
void ctl_body_opt(struct ctl_ctx *x, json_t *body, const char *field, const char *opt);

/* The deliveries table's columns (webhooks:deliveries, deliveries:list). */
extern const struct ctl_col ctl_delivery_cols[];
/* Lists the deliveries at p with the delivery filters given (--status, --event-type, --since,
 * --until) as query parameters; releases p. */
int ctl_list_deliveries(struct ctl_ctx *x, struct ctl_path *p);

/* Handlers (ctl_cmd_webhooks.c). */
int ctl_webhooks_list(struct ctl_ctx *x);
int ctl_webhooks_create(struct ctl_ctx *x);
int ctl_webhooks_info(struct ctl_ctx *x);
int ctl_webhooks_update(struct ctl_ctx *x);
int ctl_webhooks_delete(struct ctl_ctx *x);
int ctl_webhooks_test(struct ctl_ctx *x);
int ctl_webhooks_deliveries(struct ctl_ctx *x);
int ctl_webhooks_stats(struct ctl_ctx *x);
int ctl_webhooks_trigger(struct ctl_ctx *x);
int ctl_webhooks_retry(struct ctl_ctx *x);
int ctl_webhooks_pause(struct ctl_ctx *x);
int ctl_webhooks_resume(struct ctl_ctx *x);
int ctl_webhooks_rotate_secret(struct ctl_ctx *x);
int ctl_webhooks_replay(struct ctl_ctx *x);
int ctl_deliveries_show(struct ctl_ctx *x);

/* Handlers (ctl_cmd_resources.c). */
int ctl_deliveries_list(struct ctl_ctx *x);
int ctl_event_types_list(struct ctl_ctx *x);
int ctl_event_types_info(struct ctl_ctx *x);
int ctl_event_types_create(struct ctl_ctx *x);
int ctl_event_types_update(struct ctl_ctx *x);
int ctl_event_types_delete(struct ctl_ctx *x);
int ctl_event_types_catalogs(struct ctl_ctx *x);
int ctl_event_types_import(struct ctl_ctx *x);
int ctl_sources_list(struct ctl_ctx *x);
int ctl_sources_info(struct ctl_ctx *x);
int ctl_sources_create(struct ctl_ctx *x);
int ctl_sources_update(struct ctl_ctx *x);
int ctl_sources_delete(struct ctl_ctx *x);
int ctl_tenants_list(struct ctl_ctx *x);
int ctl_tenants_info(struct ctl_ctx *x);
int ctl_tenants_create(struct ctl_ctx *x);
int ctl_tenants_update(struct ctl_ctx *x);
int ctl_tenants_delete(struct ctl_ctx *x);
int ctl_api_keys_list(struct ctl_ctx *x);
int ctl_api_keys_info(struct ctl_ctx *x);
int ctl_api_keys_create(struct ctl_ctx *x);
int ctl_api_keys_revoke(struct ctl_ctx *x);

/* Help, documentation and completion (ctl_gen.c): generated from the table. */
int ctl_help(struct ctl_ctx *x);
int ctl_completion(struct ctl_ctx *x);
int ctl_doc(struct ctl_ctx *x);
void ctl_print_usage(FILE *f);
void ctl_print_command_help(FILE *f, const struct ctl_command *c);

#endif
