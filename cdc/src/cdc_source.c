/* Table source configuration (see cdc_source.h). */
#include "cdc_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/mem.h"
#include "hl/banned.h"

static const char *const op_names[] = {"insert", "update", "delete"};
static const char *const actions[] = {"created", "updated", "deleted"};

const char *cdc_op_name(cdc_op op)
{
    return op_names[op];
}

void cdc_slot_name(const char *id, char out[CDC_SLOT_NAME_LEN])
{
    size_t n = (size_t)snprintf(out, CDC_SLOT_NAME_LEN, "hookline_");
    for (const char *p = id; *p && n + 1 < CDC_SLOT_NAME_LEN; p++)
        if (*p != '-')
            out[n++] = (*p >= 'A' && *p <= 'F') ? (char)(*p - 'A' + 'a') : *p;
    out[n] = '\0';
}

static json_t *names(json_t *v)
{
    if (!json_is_array(v))
        return NULL;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) if (!json_is_string(x)) return NULL;
    return json_incref(v);
}

hl_err cdc_source_init(struct cdc_source *s, const char *id, const char *tenant,
                       const char *tables_json, const char *event_name, char *errbuf,
                       size_t errlen)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
    cdc_slot_name(id, s->slot);
    s->event_name = hl_xstrdup(event_name && *event_name ? event_name : "{table}.{action}");
    json_t *tables = json_loads(tables_json, 0, NULL);
    if (!json_is_array(tables) || json_array_size(tables) == 0) {
        snprintf(errbuf, errlen, "tables is not a non-empty array");
        json_decref(tables);
        return HL_EINVAL;
    }
    s->rules = hl_xcalloc(json_array_size(tables), sizeof(*s->rules));
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *dot = name ? strchr(name, '.') : NULL;
        if (!dot) {
            snprintf(errbuf, errlen, "tables[%zu].name is not schema-qualified", i);
            json_decref(tables);
            return HL_EINVAL;
        }
        struct cdc_table_rule *r = &s->rules[s->nrules++];
        r->schema = hl_xstrndup(name, (size_t)(dot - name));
        r->table = hl_xstrdup(dot + 1);
        json_t *ops = json_object_get(t, "operations");
        if (!ops) {
            r->ops[0] = r->ops[1] = r->ops[2] = true;
        } else {
            size_t k;
            json_t *o;
            json_array_foreach(ops, k, o)
            {
                for (int op = 0; op < 3; op++)
                    if (json_is_string(o) && strcmp(json_string_value(o), op_names[op]) == 0)
                        r->ops[op] = true;
            }
        }
        r->include = names(json_object_get(t, "include_columns"));
        r->exclude = names(json_object_get(t, "exclude_columns"));
    }
    json_decref(tables);
    return HL_OK;
}

void cdc_source_release(struct cdc_source *s)
{
    for (size_t i = 0; i < s->nrules; i++) {
        free(s->rules[i].schema);
        free(s->rules[i].table);
        json_decref(s->rules[i].include);
        json_decref(s->rules[i].exclude);
    }
    free(s->rules);
    free(s->event_name);
    memset(s, 0, sizeof(*s));
}

const struct cdc_table_rule *cdc_source_rule(const struct cdc_source *s, const char *schema,
                                             const char *table)
{
    for (size_t i = 0; i < s->nrules; i++)
        if (strcmp(s->rules[i].schema, schema) == 0 && strcmp(s->rules[i].table, table) == 0)
            return &s->rules[i];
    return NULL;
}

static bool listed(const json_t *arr, const char *name)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) if (strcmp(json_string_value(x), name) == 0) return true;
    return false;
}

bool cdc_rule_keeps(const struct cdc_table_rule *r, const char *name)
{
    if (r->include && !listed(r->include, name))
        return false;
    return !(r->exclude && listed(r->exclude, name));
}

char *cdc_event_name(const char *pattern, const char *schema, const char *table, cdc_op op)
{
    struct hl_buf b = HL_BUF_INIT;
    hl_buf_adds(&b, "");
    for (const char *p = pattern; *p;) {
        if (strncmp(p, "{schema}", 8) == 0) {
            hl_buf_adds(&b, schema);
            p += 8;
        } else if (strncmp(p, "{table}", 7) == 0) {
            hl_buf_adds(&b, table);
            p += 7;
        } else if (strncmp(p, "{action}", 8) == 0) {
            hl_buf_adds(&b, actions[op]);
            p += 8;
        } else {
            hl_buf_addch(&b, *p++);
        }
    }
    return hl_buf_detach(&b, NULL);
}
