/* Seed aliases, payload filters and retry schedules on a webhook body (see
 * gw_webhook_checks.h). The filter is compiled here only to refuse a bad one with the path
 * inside it; the client's JSON is what is stored, and each dispatcher compiles it again
 * when it loads the webhook (dp_subs.c). */
#include "gw_webhook_checks.h"

#include <stdio.h>
#include <string.h>

#include "gw_reply.h"
#include "hl/filter.h"
#include "hl/banned.h"

static void check_active(json_t *body, struct gw_errors *e)
{
    json_t *active = json_object_get(body, "active");
    if (!active)
        return;
    const char *want = json_is_true(active) ? "active" : "paused";
    const char *status = json_string_value(json_object_get(body, "status"));
    if (status && strcmp(status, want) != 0) {
        gw_errors_add(e, "/active", "active: %s contradicts status '%s'",
                      json_is_true(active) ? "true" : "false", status);
        return;
    }
    json_object_set_new(body, "status", json_string(want));
    json_object_del(body, "active");
}

static void check_filter(json_t *body, struct gw_errors *e)
{
    char where[512], why[256];
    json_t *spec = json_object_get(body, "filter");
    if (!spec || json_is_null(spec))
        return;
    struct hl_filter *f = NULL;
    if (hl_filter_compile(spec, &f, where, sizeof(where), why, sizeof(why))) {
        char ptr[600];
        snprintf(ptr, sizeof(ptr), "/filter%s", where);
        gw_errors_add(e, ptr, "%s", why);
    }
    hl_filter_free(f);
}

static void check_schedule(json_t *body, struct gw_errors *e)
{
    static const char *const replaced[] = {"strategy", "max_attempts", "initial_delay_ms",
                                           "max_delay_ms"};
    json_t *rp = json_object_get(body, "retry_policy");
    if (!json_is_object(rp))
        return;
    json_t *sched = json_object_get(rp, "schedule_ms");
    bool any_other = false;
    for (size_t i = 0; i < sizeof(replaced) / sizeof(replaced[0]); i++) {
        if (!json_object_get(rp, replaced[i]))
            continue;
        any_other = true;
        if (sched && !json_is_null(sched)) {
            char ptr[64];
            snprintf(ptr, sizeof(ptr), "/retry_policy/%s", replaced[i]);
            gw_errors_add(e, ptr, "cannot be combined with schedule_ms, which sets every "
                                  "retry's wait (attempts = 1 + its length)");
        }
    }
    if (!sched && any_other)
        json_object_set_new(rp, "schedule_ms", json_null());
}

void gw_webhook_check_extras(json_t *body, struct gw_errors *e)
{
    check_active(body, e);
    check_filter(body, e);
    check_schedule(body, e);
}
