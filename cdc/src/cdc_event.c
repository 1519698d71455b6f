/* Row changes as event envelopes (see cdc_event.h). */
#include "cdc_event.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cdc_types.h"
#include "hl/time.h"
#include "hl/banned.h"

void cdc_event_id(const char *source_id, uint64_t commit_lsn, uint32_t seq,
                  char out[CDC_EVENT_ID_MAX])
{
    snprintf(out, CDC_EVENT_ID_MAX, "%s:%016" PRIX64 ":%" PRIu32, source_id, commit_lsn, seq);
}

/* The kept columns of a tuple as an object; unchanged TOAST values are left out and named
 * in toast (created on first need). */
static json_t *row(const struct cdc_relation *rel, const struct cdc_tuple *t,
                   const struct cdc_table_rule *rule, json_t **toast)
{
    json_t *o = json_object();
    for (int i = 0; i < t->ncols && i < rel->ncols; i++) {
        const struct cdc_column *col = &rel->cols[i];
        const struct cdc_value *v = &t->vals[i];
        if (!cdc_rule_keeps(rule, col->name))
            continue;
        if (v->kind == CDC_VAL_UNCHANGED) {
            if (toast) {
                if (!*toast)
                    *toast = json_array();
                json_array_append_new(*toast, json_string(col->name));
            }
            continue;
        }
        if (v->kind == CDC_VAL_NULL) {
            json_object_set_new(o, col->name, json_null());
            continue;
        }
        json_object_set_new(o, col->name, cdc_value_json(col->type, v->data, v->len));
    }
    return o;
}

/* Old-key tuples ('K') carry NULL for the columns that are not part of the key. */
static json_t *old_row(const struct cdc_change *c)
{
    const struct cdc_msg *m = c->msg;
    json_t *o = row(m->rel, &m->old_tuple, c->rule, NULL);
    if (m->old_kind == 'K') {
        for (int i = 0; i < m->rel->ncols; i++)
            if (!m->rel->cols[i].key)
                json_object_del(o, m->rel->cols[i].name);
    }
    return o;
}

void cdc_event_build(const struct cdc_change *c, struct hl_buf *value, struct hl_buf *key)
{
    const struct cdc_msg *m = c->msg;
    char id[CDC_EVENT_ID_MAX], ts[HL_ISO8601_LEN], occurred[HL_ISO8601_LEN], lsn[CDC_LSN_LEN];
    char table[256];
    cdc_event_id(c->src->id, c->commit_lsn, c->seq, id);
    hl_iso8601_ms(c->now_ms, ts);
    hl_iso8601_ms(c->commit_ts_us / 1000, occurred);
    cdc_lsn_format(c->commit_lsn, lsn);
    snprintf(table, sizeof(table), "%s.%s", m->rel->schema, m->rel->name);
    char *type = cdc_event_name(c->src->event_name, m->rel->schema, m->rel->name, c->op);

    json_t *toast = NULL, *data;
    json_t *meta = json_pack("{s:s, s:s, s:s, s:s, s:I}", "table_source", c->src->id, "table",
                             table, "operation", cdc_op_name(c->op), "lsn", lsn, "xid",
                             (json_int_t)c->xid);
    if (c->op == CDC_OP_DELETE) {
        data = old_row(c);
    } else {
        data = row(m->rel, &m->new_tuple, c->rule, &toast);
        if (c->op == CDC_OP_UPDATE && m->old_kind)
            json_object_set_new(meta, "old", old_row(c));
    }
    if (toast)
        json_object_set_new(meta, "unchanged_toast", toast);
    json_t *env = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", id, "event", type,
                            "tenant", c->src->tenant, "timestamp", ts, "occurred_at", occurred,
                            "data", data, "metadata", meta);
    char *text = json_dumps(env, JSON_COMPACT);
    hl_buf_clear(value);
    hl_buf_adds(value, text);
    hl_buf_clear(key);
    hl_buf_addf(key, "%s/%s", c->src->id, table);
    free(text);
    free(type);
    json_decref(env);
}
