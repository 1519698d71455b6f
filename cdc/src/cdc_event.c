/* Row changes as event envelopes (see cdc_event.h). */
#include "cdc_event.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "cdc_types.h"
#include "hl/time.h"
#include "hl/banned.h"

/* 9999-12-31T23:59:59.999Z */
#define MAX_MS INT64_C(253402300799999)

void cdc_event_id(const char *source_id, uint64_t commit_lsn, uint32_t seq,
                  char out[CDC_EVENT_ID_MAX])
{
    snprintf(out, CDC_EVENT_ID_MAX, "%s:%016" PRIX64 ":%" PRIu32, source_id, commit_lsn, seq);
}

/* Names come from the user's server too: never let one break the envelope. */
static void str(struct hl_buf *b, const char *s)
{
    cdc_json_string(b, s, strlen(s));
}

/* The kept columns of a tuple as an object. Unchanged TOAST values are left out and their
 * names appended to toast (a JSON array's members, comma-separated) when it is given;
 * key_only keeps only replica-identity columns (an old-key tuple sends NULL for the others,
 * which are not values). */
static void row(struct hl_buf *out, const struct cdc_relation *rel, const struct cdc_tuple *t,
                const struct cdc_table_rule *rule, struct hl_buf *toast, bool key_only)
{
    bool first = true;
    hl_buf_addch(out, '{');
    for (int i = 0; i < t->ncols && i < rel->ncols; i++) {
        const struct cdc_column *col = &rel->cols[i];
        const struct cdc_value *v = &t->vals[i];
        if (!cdc_rule_keeps(rule, col->name) || (key_only && !col->key))
            continue;
        if (v->kind == CDC_VAL_UNCHANGED) {
            if (toast) {
                if (toast->len)
                    hl_buf_addch(toast, ',');
                str(toast, col->name);
            }
            continue;
        }
        if (!first)
            hl_buf_addch(out, ',');
        first = false;
        str(out, col->name);
        hl_buf_addch(out, ':');
        if (v->kind == CDC_VAL_NULL)
            hl_buf_adds(out, "null");
        else
            cdc_value_write(out, col->type, v->data, v->len);
    }
    hl_buf_addch(out, '}');
}

void cdc_event_build(const struct cdc_change *c, struct hl_buf *value, struct hl_buf *key)
{
    const struct cdc_msg *m = c->msg;
    char id[CDC_EVENT_ID_MAX], ts[HL_ISO8601_LEN], occurred[HL_ISO8601_LEN], lsn[CDC_LSN_LEN];
    struct hl_buf table = HL_BUF_INIT, toast = HL_BUF_INIT;
    cdc_event_id(c->src->id, c->commit_lsn, c->seq, id);
    hl_iso8601_ms(c->now_ms, ts);
    /* A commit time no clock gives (a hostile server) is clamped into what ISO 8601 with
     * four-digit years can spell. */
    int64_t occurred_ms = c->commit_ts_us / 1000;
    occurred_ms = occurred_ms < 0 ? 0 : occurred_ms > MAX_MS ? MAX_MS : occurred_ms;
    hl_iso8601_ms(occurred_ms, occurred);
    cdc_lsn_format(c->commit_lsn, lsn);
    hl_buf_addf(&table, "%s.%s", m->rel->schema, m->rel->name);
    char *type = cdc_event_name(c->src->event_name, m->rel->schema, m->rel->name, c->op);

    /* Keys in the order of schemas/event.schema.json's description (the gateway's). */
    hl_buf_clear(value);
    hl_buf_adds(value, "{\"id\":");
    str(value, id);
    hl_buf_adds(value, ",\"event\":");
    str(value, type);
    hl_buf_adds(value, ",\"tenant\":");
    str(value, c->src->tenant);
    hl_buf_addf(value, ",\"timestamp\":\"%s\",\"occurred_at\":\"%s\",\"data\":", ts, occurred);
    bool key_only = m->old_kind == 'K';
    if (c->op == CDC_OP_DELETE)
        row(value, m->rel, &m->old_tuple, c->rule, NULL, key_only);
    else
        row(value, m->rel, &m->new_tuple, c->rule, &toast, false);
    hl_buf_adds(value, ",\"metadata\":{\"table_source\":");
    str(value, c->src->id);
    hl_buf_adds(value, ",\"table\":");
    str(value, hl_buf_str(&table));
    hl_buf_addf(value, ",\"operation\":\"%s\",\"lsn\":\"%s\",\"xid\":%" PRIu32,
                cdc_op_name(c->op), lsn, c->xid);
    if (c->op == CDC_OP_UPDATE && m->old_kind) {
        hl_buf_adds(value, ",\"old\":");
        row(value, m->rel, &m->old_tuple, c->rule, NULL, key_only);
    }
    if (toast.len)
        hl_buf_addf(value, ",\"unchanged_toast\":[%s]", toast.ptr);
    hl_buf_adds(value, "}}");

    hl_buf_clear(key);
    hl_buf_addf(key, "%s/%s", c->src->id, hl_buf_str(&table));
    free(type);
    hl_buf_release(&table);
    hl_buf_release(&toast);
}
