/* Matches an event against the subscription snapshot (see dp_fanout.h). The snapshot is
 * sorted by tenant, so only the event's own tenant's webhooks are looked at: tenant
 * isolation and cost both follow from the same binary search.
 *
 * Services may produce to <prefix>.events without the gateway (schemas/kafka.md), so every
 * message is checked against schemas/event.schema.json, the same contract the gateway's
 * own events meet; one that fails goes to the dead-letter topic with the validator's
 * errors (pointer + keyword) and is never delivered.
 *
 * The webhooks whose event patterns match come from the snapshot's pattern index
 * (dp_snapshot_matching): an event costs its matches, not every webhook of its tenant. A
 * webhook's payload filter (hl/filter.h) is evaluated here, after its event patterns,
 * against the envelope parsed once for all webhooks. */
#include "dp_fanout.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "dp_consumer.h"
#include "dp_deadletter.h"
#include "dp_deliver.h"
#include "dp_produce.h"
#include "dp_subs.h"
#include "hl/filter.h"
#include "hl/id.h"
#include "hl/jsonschema.h"
#include "hl/log.h"
#include "hl/task.h"
#include "hl/time.h"
#include "hl/banned.h"

/* Compiled once before the loop starts; read-only afterwards. */
static struct hl_schema *envelope_schema;

hl_err dp_fanout_init(const char *path, char *errbuf, size_t errlen)
{
    char why[512];
    assert(!envelope_schema);
    hl_err err = hl_schema_compile_file(path, &envelope_schema, why, sizeof(why));
    if (err)
        snprintf(errbuf, errlen, "event schema '%s': %s", path, why);
    else
        hl_log(HL_LOG_DEBUG, "fanout", "events are validated against '%s'", path);
    return err;
}

void dp_fanout_release(void)
{
    hl_schema_free(envelope_schema);
    envelope_schema = NULL;
}

/* Validates root (NULL: the payload could not be parsed as JSON) and dead-letters msg with
 * the errors when it is not a valid envelope. True when msg was dead-lettered. */
static bool dead_letter_if_invalid(struct dp_msg *msg, json_t *root, const char *parse_error,
                    struct dp_producer *prod)
{
    struct hl_schema_result res;
    hl_schema_result_init(&res, HL_SCHEMA_DEFAULT_MAX_ERRORS);
    bool ok = root && hl_schema_validate(envelope_schema, root, &res);
    if (ok && !parse_error) {
        hl_schema_result_release(&res);
        return false;
    }
    char reason[512];
    if (!ok && root)
        snprintf(reason, sizeof(reason), "does not match event.schema.json: %s at '%s'%s",
                 res.errors[0].detail, res.errors[0].pointer,
                 res.nerrors > 1 ? " (and more, see errors)" : "");
    else
        snprintf(reason, sizeof(reason), "%s", parse_error);
    json_t *errors = root && !ok ? hl_schema_errors_to_json(&res) : NULL;
    dp_dead_letter_errors(prod, msg, reason, errors);
    json_decref(errors);
    hl_schema_result_release(&res);
    return true;
}

/* Produces the task of event msg for webhook w to <prefix>.deliveries. */
static void produce_task(struct dp_msg *msg, const struct dp_webhook *w, int64_t now,
                         struct dp_producer *prod, struct hl_buf *b)
{
    struct hl_task t = {.tenant = (char *)msg->ev.tenant,
                        .webhook_id = w->id,
                        .due_ms = now,
                        .created_ms = now,
                        .event = msg->ev.root,
                        /* the message's own text: jansson accepted it (and the schema), so
                         * it is the same envelope, serialized once */
                        .event_text = msg->payload,
                        .event_len = msg->len};
    hl_delivery_id(msg->ev.tenant, msg->ev.id, w->id, msg->id_version, t.delivery_id);
    hl_buf_clear(b);
    hl_task_encode(&t, b);
    dp_produce(prod, "deliveries", w->id, b->ptr, b->len, msg);
}

size_t dp_fanout(struct dp_msg *msg, struct dp_snapshot *snap, struct dp_producer *prod,
                 struct dp_deliver *dl, size_t inline_max, bool fresh)
{
    char err[512];
    size_t n = 0;

    assert(envelope_schema);
    if (!msg->payload) {
        dp_dead_letter(prod, msg, "empty message");
        return 0;
    }
    if (hl_event_parse(msg->payload, msg->len, &msg->ev, err, sizeof(err))) {
        /* Still run the schema, so that the dead letter names every problem it can. */
        json_t *root =
            json_loadb(msg->payload, msg->len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
        dead_letter_if_invalid(msg, root, err, prod);
        json_decref(root);
        return 0;
    }
    if (dead_letter_if_invalid(msg, msg->ev.root, NULL, prod))
        return 0;
    if (!dp_snapshot_has_tenant(snap, msg->ev.tenant)) {
        if (!fresh) {
            /* perhaps created a moment ago: ask PostgreSQL before calling it poison */
            hl_event_release(&msg->ev);
            return DP_FANOUT_STALE;
        }
        snprintf(err, sizeof(err), "unknown tenant '%s'", msg->ev.tenant);
        dp_dead_letter(prod, msg, err);
        return 0;
    }
    if (snap->version > msg->fence)
        msg->fence = snap->version; /* the tasks' fence (dp_produce) */
    struct hl_buf b = HL_BUF_INIT;
    int64_t now = hl_now_ms();
    struct dp_matches m;
    dp_matches_init(&m);
    dp_snapshot_matching(snap, msg->ev.tenant, msg->ev.type, &m);
    /* The matches while there are at most inline_max of them: delivered here, unless more
     * turn up (then every match becomes a task). */
    size_t picked[DP_INLINE_FANOUT_MAX];
    size_t npicked = 0;
    bool tasks = !dl || inline_max == 0;
    if (inline_max > DP_INLINE_FANOUT_MAX)
        inline_max = DP_INLINE_FANOUT_MAX;
    for (size_t j = 0; j < m.n; j++) {
        size_t i = m.idx[j];
        const struct dp_webhook *w = &snap->hooks[i];
        /* The payload filter, against the tree parsed once above for every webhook: no
         * match is no delivery, not even a skipped one. */
        if (w->filter && !hl_filter_match(w->filter, msg->ev.root))
            continue;
        n++;
        if (!tasks && npicked < inline_max) {
            picked[npicked++] = i;
            continue;
        }
        if (!tasks) { /* too many for one dispatcher: tasks for all */
            tasks = true;
            for (size_t k = 0; k < npicked; k++)
                produce_task(msg, &snap->hooks[picked[k]], now, prod, &b);
            npicked = 0;
        }
        produce_task(msg, w, now, prod, &b);
    }
    for (size_t k = 0; k < npicked; k++) {
        const struct dp_webhook *w = &snap->hooks[picked[k]];
        if (!dp_deliver_spreads(w)) {
            produce_task(msg, w, now, prod, &b);
            continue;
        }
        char delivery_id[HL_DELIVERY_ID_LEN];
        hl_delivery_id(msg->ev.tenant, msg->ev.id, w->id, msg->id_version, delivery_id);
        dp_deliver_event(dl, msg, snap, w, delivery_id, now);
    }
    hl_buf_release(&b);
    dp_matches_release(&m);
    hl_log(HL_LOG_DEBUG, "fanout", "event '%s' (%s, tenant '%s') at [%d] offset %lld: %zu webhooks",
           msg->ev.id, msg->ev.type, msg->ev.tenant, (int)msg->partition,
           (long long)msg->offset, n);
    /* The message may live on until its deliveries are done; its tree is not needed. */
    hl_event_release(&msg->ev);
    return n;
}
