/* The webhooks:* commands: seed 002's list, create, info, update, delete, test,
 * deliveries, stats, trigger, retry, pause and resume, plus rotate-secret and replay.
 * Each turns its options into one or two REST calls (docs/api.md#webhooks). */
#include "ctl_cmds.h"
#include "ctl_creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl/banned.h"

static const struct ctl_col webhook_cols[] = {
    {"ID", "id"},       {"NAME", "name"},     {"STATUS", "status"},
    {"URL", "url"},     {"EVENTS", "events"}, {NULL, NULL},
};

const struct ctl_col ctl_delivery_cols[] = {
    {"ID", "id"},
    {"WEBHOOK", "webhook_id"},
    {"EVENT", "event_type"},
    {"STATUS", "status"},
    {"ATTEMPTS", "attempts"},
    {"HTTP", "last_status_code"},
    {"ERROR", "last_error_class"},
    {"CREATED", "created_at"},
    {NULL, NULL},
};

static const struct ctl_col attempt_cols[] = {
    {"ATTEMPT", "attempt"},  {"STARTED", "started_at"},  {"HTTP", "http_status"},
    {"MS", "duration_ms"},   {"ERROR", "error_class"},   {"DETAIL", "error"},
    {NULL, NULL},
};

static void usage_error(const char *fmt, const char *what)
{
    fputs("hooklinectl: ", stderr);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
}

/* "a, b,c" -> ["a","b","c"] (empty items dropped). */
static json_t *split_list(const char *s)
{
    json_t *arr = json_array();
    while (*s) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > s && t[-1] == ' ')
            t--;
        if (t > s)
            json_array_append_new(arr, json_stringn(s, (size_t)(t - s)));
        s = e;
    }
    return arr;
}

/* seed 002's `inactive` is Hookline's `paused`. */
static const char *api_status(const char *status)
{
    return status && strcmp(status, "inactive") == 0 ? "paused" : status;
}

/* The webhook fields both create and update take. Returns 0 or CTL_EXIT_USAGE. */
static int webhook_body(struct ctl_ctx *x, json_t *body)
{
    const struct ctl_args *a = x->args;
    ctl_body_opt(x, body, "url", "url");
    if (ctl_arg(a, "events"))
        json_object_set_new(body, "events", split_list(ctl_arg(a, "events")));
    ctl_body_opt(x, body, "name", "name");
    ctl_body_opt(x, body, "description", "description");
    ctl_body_opt(x, body, "method", "method");
    ctl_body_opt(x, body, "headers", "headers");
    ctl_body_opt(x, body, "metadata", "metadata");
    ctl_body_opt(x, body, "timeout_ms", "timeout-ms");
    ctl_body_opt(x, body, "rate_limit_per_s", "rate-limit");
    ctl_body_opt(x, body, "max_concurrency", "max-concurrency");
    ctl_body_opt(x, body, "filter", "filter");
    if (ctl_arg(a, "status"))
        json_object_set_new(body, "status", json_string(api_status(ctl_arg(a, "status"))));

    json_t *retry = json_object();
    ctl_body_opt(x, retry, "strategy", "retry-strategy");
    ctl_body_opt(x, retry, "max_attempts", "max-attempts");
    ctl_body_opt(x, retry, "initial_delay_ms", "initial-delay-ms");
    ctl_body_opt(x, retry, "max_delay_ms", "max-delay-ms");
    ctl_body_opt(x, retry, "schedule_ms", "retry-schedule");
    if (json_object_size(retry))
        json_object_set(body, "retry_policy", retry);
    json_decref(retry);

    const char *type = ctl_arg(a, "auth-type"), *creds = ctl_arg(a, "auth-credentials");
    json_t *signature = NULL;
    if (ctl_arg(a, "auth") && (type || creds)) {
        usage_error("%s", "--auth replaces --auth-type/--auth-credentials; give one or the other");
        return CTL_EXIT_USAGE;
    }
    if (creds && !type) {
        usage_error("%s", "--auth-credentials needs --auth-type");
        return CTL_EXIT_USAGE;
    }
    if (type) {
        char err[256];
        json_t *auth;
        if (ctl_creds_map(type, creds, &auth, &signature, err, sizeof(err))) {
            usage_error("%s", err);
            return CTL_EXIT_USAGE;
        }
        json_object_set_new(body, "auth", auth);
    }
    ctl_body_opt(x, body, "auth", "auth");
    ctl_body_opt(x, body, "signature", "signature");
    if (signature) {
        /* The mapping's signature settings, under the user's own --signature members. */
        json_t *user = json_object_get(body, "signature");
        if (json_is_object(user))
            json_object_update(signature, user);
        json_object_set(body, "signature", signature);
        json_decref(signature);
    }
    return 0;
}

static bool not_active(const json_t *w)
{
    const char *s = json_string_value(json_object_get(w, "status"));
    return !s || strcmp(s, "active") != 0;
}

int ctl_webhooks_list(struct ctl_ctx *x)
{
    const char *status = ctl_arg(x->args, "status");
    bool inactive = status && strcmp(status, "inactive") == 0;
    struct ctl_path p;
    ctl_path_init(&p, "/api/v1/webhooks");
    ctl_path_param(&p, "status", inactive ? NULL : status);
    ctl_path_param(&p, "event", ctl_arg(x->args, "event"));
    int rc = ctl_list(x, &p, webhook_cols, inactive ? not_active : NULL);
    ctl_path_release(&p);
    return rc;
}

int ctl_webhooks_create(struct ctl_ctx *x)
{
    json_t *body = json_object();
    int rc = webhook_body(x, body);
    if (!rc) {
        ctl_body_opt(x, body, "secret", "secret");
        rc = ctl_simple(x, "POST", "/api/v1/webhooks", body, NULL);
    }
    json_decref(body);
    return rc;
}

/* `<prefix>/<escaped id><suffix>` as a path. */
static void id_path(struct ctl_path *p, const char *prefix, const char *id, const char *suffix)
{
    ctl_path_init(p, prefix);
    ctl_path_seg(p, id);
    ctl_path_lit(p, suffix);
}

/* One request on /api/v1/webhooks/<id><suffix>, its answer shown. */
static int on_webhook(struct ctl_ctx *x, const char *method, const char *suffix,
                      const json_t *body, const char *done)
{
    struct ctl_path p;
    id_path(&p, "/api/v1/webhooks", x->args->arg, suffix);
    int rc = ctl_simple(x, method, ctl_path_str(&p), body, done);
    ctl_path_release(&p);
    return rc;
}

int ctl_webhooks_info(struct ctl_ctx *x)
{
    return on_webhook(x, "GET", "", NULL, NULL);
}

int ctl_webhooks_update(struct ctl_ctx *x)
{
    json_t *body = json_object();
    int rc = webhook_body(x, body);
    if (!rc && ctl_arg_flag(x->args, "no-rate-limit"))
        json_object_set_new(body, "rate_limit_per_s", json_null());
    if (!rc && ctl_arg_flag(x->args, "no-max-concurrency"))
        json_object_set_new(body, "max_concurrency", json_null());
    if (!rc && json_object_size(body) == 0) {
        usage_error("%s", "webhooks:update: nothing to change (see webhooks:update --help)");
        rc = CTL_EXIT_USAGE;
    }
    if (!rc)
        rc = on_webhook(x, "PATCH", "", body, NULL);
    json_decref(body);
    return rc;
}

int ctl_webhooks_delete(struct ctl_ctx *x)
{
    char q[256], done[256];
    snprintf(q, sizeof(q), "delete webhook %s?", x->args->arg);
    if (!ctl_arg_flag(x->args, "force") && !ctl_confirm(q)) {
        fprintf(stderr, "hooklinectl: not deleted\n");
        return CTL_EXIT_USAGE;
    }
    snprintf(done, sizeof(done), "deleted webhook %s", x->args->arg);
    return on_webhook(x, "DELETE", "", NULL, done);
}

/* Prints a delivery (GET /api/v1/deliveries/{id}): its fields, then its attempts. */
static void show_delivery(struct ctl_ctx *x, const struct ctl_resp *r)
{
    static const char *const skip[] = {"event", "attempts", NULL};
    if (x->json) {
        ctl_show(x, r, NULL);
        return;
    }
    ctl_print_object(stdout, r->json, skip);
    json_t *ev = json_object_get(r->json, "event");
    if (ev) {
        char *s = json_dumps(ev, JSON_COMPACT);
        printf("event             %s\n", s ? s : "-");
        free(s);
    }
    json_t *attempts = json_object_get(r->json, "attempts");
    if (json_is_array(attempts)) {
        printf("\n");
        ctl_print_table(stdout, attempts, attempt_cols);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ctl_webhooks_test(struct ctl_ctx *x)
{
    struct ctl_path p;
    id_path(&p, "/api/v1/webhooks", x->args->arg, "/test");
    struct ctl_resp r;
    int rc = ctl_call(x, "POST", ctl_path_str(&p), NULL, &r);
    ctl_path_release(&p);
    if (rc)
        return rc;
    const char *id = json_string_value(json_object_get(r.json, "id"));
    if (ctl_arg_flag(x->args, "no-wait") || !id || r.status != 202) {
        ctl_show(x, &r, NULL);
        ctl_resp_release(&r);
        return CTL_EXIT_OK;
    }
    /* Wait for the first attempt: the delivery appears in the log once the dispatcher has
     * tried it (404 until then). */
    char *delivery = strdup(id);
    double deadline = now_s() + (double)ctl_arg_int(x->args, "wait-seconds", 30);
    struct ctl_resp d = {0};
    id_path(&p, "/api/v1/deliveries", delivery, "");
    while (now_s() < deadline) {
        rc = ctl_http(&x->conn, "GET", ctl_path_str(&p), NULL, &d);
        if (rc)
            break;
        /* Done waiting once it is final (a paused webhook's test is skipped without an
         * attempt) or its first attempt is logged. */
        const char *st = json_string_value(json_object_get(d.json, "status"));
        bool final = st && (strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0 ||
                            strcmp(st, "skipped") == 0);
        bool tried = st && strcmp(st, "pending") != 0 &&
                     json_array_size(json_object_get(d.json, "attempts")) > 0;
        if (d.status == 200 && (final || tried))
            break;
        if (d.status != 200 && d.status != 404) {
            rc = ctl_problem(&d);
            break;
        }
        ctl_resp_release(&d);
        sleep_ms(250);
    }
    ctl_path_release(&p);
    if (!rc && d.body) {
        show_delivery(x, &d);
    } else if (!rc) {
        fprintf(stderr, "hooklinectl: test delivery %s not attempted within %lld s\n", delivery,
                ctl_arg_int(x->args, "wait-seconds", 30));
        ctl_show(x, &r, NULL);
    }
    ctl_resp_release(&d);
    ctl_resp_release(&r);
    free(delivery);
    return rc;
}

int ctl_webhooks_deliveries(struct ctl_ctx *x)
{
    struct ctl_path p;
    id_path(&p, "/api/v1/webhooks", x->args->arg, "/deliveries");
    return ctl_list_deliveries(x, &p);
}

int ctl_list_deliveries(struct ctl_ctx *x, struct ctl_path *p)
{
    ctl_path_param(p, "status", ctl_arg(x->args, "status"));
    ctl_path_param(p, "event_type", ctl_arg(x->args, "event-type"));
    ctl_path_param(p, "since", ctl_arg(x->args, "since"));
    ctl_path_param(p, "until", ctl_arg(x->args, "until"));
    int rc = ctl_list(x, p, ctl_delivery_cols, NULL);
    ctl_path_release(p);
    return rc;
}

int ctl_webhooks_stats(struct ctl_ctx *x)
{
    struct ctl_path p;
    id_path(&p, "/api/v1/webhooks", x->args->arg, "/stats");
    ctl_path_param(&p, "window_hours", ctl_arg(x->args, "window-hours"));
    int rc = ctl_simple(x, "GET", ctl_path_str(&p), NULL, NULL);
    ctl_path_release(&p);
    return rc;
}

int ctl_webhooks_trigger(struct ctl_ctx *x)
{
    json_t *body = json_object();
    ctl_body_opt(x, body, "event", "event");
    ctl_body_opt(x, body, "id", "id");
    if (ctl_arg(x->args, "data"))
        ctl_body_opt(x, body, "data", "data");
    else
        json_object_set_new(body, "data", json_object());
    ctl_body_opt(x, body, "metadata", "metadata");
    ctl_body_opt(x, body, "occurred_at", "occurred-at");
    int rc = ctl_simple(x, "POST", "/api/v1/events", body, NULL);
    json_decref(body);
    return rc;
}

int ctl_webhooks_retry(struct ctl_ctx *x)
{
    const char *webhook = ctl_arg(x->args, "webhook"), *delivery = ctl_arg(x->args, "delivery");
    struct ctl_path p;
    id_path(&p, "/api/v1/deliveries", delivery, "");
    struct ctl_resp r;
    int rc = ctl_call(x, "GET", ctl_path_str(&p), NULL, &r);
    ctl_path_release(&p);
    if (rc)
        return rc;
    const char *owner = json_string_value(json_object_get(r.json, "webhook_id"));
    if (!owner || strcmp(owner, webhook) != 0) {
        fprintf(stderr, "hooklinectl: delivery %s is not a delivery of webhook %s (it is %s's)\n",
                delivery, webhook, owner ? owner : "another webhook");
        ctl_resp_release(&r);
        return CTL_EXIT_API;
    }
    ctl_resp_release(&r);
    id_path(&p, "/api/v1/deliveries", delivery, "/retry");
    rc = ctl_simple(x, "POST", ctl_path_str(&p), NULL, NULL);
    ctl_path_release(&p);
    return rc;
}

int ctl_webhooks_pause(struct ctl_ctx *x)
{
    return on_webhook(x, "POST", "/pause", NULL, NULL);
}

int ctl_webhooks_resume(struct ctl_ctx *x)
{
    return on_webhook(x, "POST", "/resume", NULL, NULL);
}

int ctl_webhooks_rotate_secret(struct ctl_ctx *x)
{
    json_t *body = json_object();
    ctl_body_opt(x, body, "secret", "secret");
    ctl_body_opt(x, body, "overlap_seconds", "overlap-seconds");
    int rc = on_webhook(x, "POST", "/rotate-secret", body, NULL);
    json_decref(body);
    return rc;
}

int ctl_webhooks_replay(struct ctl_ctx *x)
{
    json_t *body = json_object();
    ctl_body_opt(x, body, "since", "since");
    ctl_body_opt(x, body, "until", "until");
    int rc = on_webhook(x, "POST", "/replay", body, NULL);
    json_decref(body);
    return rc;
}

int ctl_deliveries_show(struct ctl_ctx *x)
{
    struct ctl_path p;
    id_path(&p, "/api/v1/deliveries", x->args->arg, "");
    struct ctl_resp r;
    int rc = ctl_call(x, "GET", ctl_path_str(&p), NULL, &r);
    ctl_path_release(&p);
    if (rc)
        return rc;
    show_delivery(x, &r);
    ctl_resp_release(&r);
    return CTL_EXIT_OK;
}
