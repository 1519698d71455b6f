/* cdc/src/cdc_event.c and cdc_source.c: a row change as an envelope (id from the commit LSN
 * and position, event name pattern, excluded and not-included columns nowhere, old key of a
 * delete, old row of an update, the unchanged-TOAST marker) and the source's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cdc_event.h"
#include "cdc_source.h"

static struct cdc_column cols[] = {
    {"id", 23, -1, true}, {"total", 1700, -1, false}, {"card", 25, -1, false},
    {"body", 25, -1, false},
};
static struct cdc_relation rel = {16384, "public", "orders", 'd', 4, cols};

#define SRC_ID "01a2463c-34cd-7fd8-a81e-79bc923e5668"

static json_t *build(const struct cdc_source *src, struct cdc_msg *m, cdc_op op, char **key)
{
    struct hl_buf value = HL_BUF_INIT, k = HL_BUF_INIT;
    struct cdc_change c = {
        .src = src, .rule = cdc_source_rule(src, "public", "orders"), .msg = m, .op = op,
        .commit_lsn = 0x8545DE8, .commit_ts_us = INT64_C(1795000000123000), .xid = 1259,
        .seq = 3, .now_ms = INT64_C(1795000000500),
    };
    assert_non_null(c.rule);
    cdc_event_build(&c, &value, &k);
    json_error_t e;
    json_t *j = json_loads(hl_buf_str(&value), 0, &e);
    if (!j)
        fail_msg("not JSON (%s): %s", e.text, hl_buf_str(&value));
    *key = hl_buf_detach(&k, NULL);
    hl_buf_release(&value);
    return j;
}

static void insert_update_delete(void **state)
{
    (void)state;
    char err[128], *key;
    struct cdc_source src;
    assert_int_equal(cdc_source_init(&src, SRC_ID, "acme",
                                     "[{\"name\":\"public.orders\",\"exclude_columns\":[\"card\"]}]",
                                     "", err, sizeof(err)),
                     0);
    assert_string_equal(src.slot, "hookline_01a2463c34cd7fd8a81e79bc923e5668");
    struct cdc_value nv[] = {{CDC_VAL_TEXT, "7", 1}, {CDC_VAL_TEXT, "19.90", 5},
                             {CDC_VAL_TEXT, "4111", 4}, {CDC_VAL_UNCHANGED, NULL, 0}};
    struct cdc_value ov[] = {{CDC_VAL_TEXT, "6", 1}, {CDC_VAL_NULL, NULL, 0},
                             {CDC_VAL_NULL, NULL, 0}, {CDC_VAL_NULL, NULL, 0}};
    struct cdc_msg m = {.kind = CDC_MSG_UPDATE, .rel = &rel, .old_kind = 'K',
                        .old_tuple = {4, ov}, .new_tuple = {4, nv}};
    json_t *j = build(&src, &m, CDC_OP_UPDATE, &key);
    assert_string_equal(key, SRC_ID "/public.orders");
    assert_string_equal(json_string_value(json_object_get(j, "id")), SRC_ID ":0000000008545DE8:3");
    assert_string_equal(json_string_value(json_object_get(j, "event")), "orders.updated");
    assert_string_equal(json_string_value(json_object_get(j, "tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(j, "occurred_at")),
                        "2026-11-18T11:06:40.123Z");
    char *data = json_dumps(json_object_get(j, "data"), JSON_COMPACT | JSON_REAL_PRECISION(15));
    assert_string_equal(data, "{\"id\":7,\"total\":19.9}"); /* no card, no TOAST value */
    json_t *meta = json_object_get(j, "metadata");
    char *old = json_dumps(json_object_get(meta, "old"), JSON_COMPACT | JSON_REAL_PRECISION(15));
    assert_string_equal(old, "{\"id\":6}"); /* the key only, not the NULLs a 'K' tuple has */
    char *toast = json_dumps(json_object_get(meta, "unchanged_toast"), JSON_COMPACT | JSON_REAL_PRECISION(15));
    assert_string_equal(toast, "[\"body\"]");
    assert_string_equal(json_string_value(json_object_get(meta, "lsn")), "0/8545DE8");
    assert_int_equal(json_integer_value(json_object_get(meta, "xid")), 1259);
    assert_string_equal(json_string_value(json_object_get(meta, "operation")), "update");
    free(data), free(old), free(toast), free(key);
    json_decref(j);

    /* a delete under REPLICA IDENTITY FULL: the whole old row, still without card */
    struct cdc_value fv[] = {{CDC_VAL_TEXT, "7", 1}, {CDC_VAL_TEXT, "1", 1},
                             {CDC_VAL_TEXT, "4111", 4}, {CDC_VAL_NULL, NULL, 0}};
    struct cdc_msg d = {.kind = CDC_MSG_DELETE, .rel = &rel, .old_kind = 'O',
                        .old_tuple = {4, fv}};
    j = build(&src, &d, CDC_OP_DELETE, &key);
    data = json_dumps(json_object_get(j, "data"), JSON_COMPACT | JSON_REAL_PRECISION(15));
    assert_string_equal(data, "{\"id\":7,\"total\":1,\"body\":null}");
    assert_null(json_object_get(json_object_get(j, "metadata"), "old"));
    free(data), free(key);
    json_decref(j);
    cdc_source_release(&src);
}

static void rules_and_names(void **state)
{
    (void)state;
    char err[128], *name;
    struct cdc_source src;
    assert_int_equal(cdc_source_init(&src, SRC_ID, "acme",
                                     "[{\"name\":\"public.orders\",\"operations\":[\"insert\"],"
                                     "\"include_columns\":[\"id\"]},{\"name\":\"app.users\"}]",
                                     "db.{schema}.{table}.{action}", err, sizeof(err)),
                     0);
    const struct cdc_table_rule *r = cdc_source_rule(&src, "public", "orders");
    assert_true(r->ops[CDC_OP_INSERT]);
    assert_false(r->ops[CDC_OP_UPDATE]);
    assert_true(cdc_rule_keeps(r, "id"));
    assert_false(cdc_rule_keeps(r, "total"));
    r = cdc_source_rule(&src, "app", "users");
    assert_true(r->ops[CDC_OP_DELETE]);
    assert_true(cdc_rule_keeps(r, "anything"));
    assert_null(cdc_source_rule(&src, "public", "users"));
    name = cdc_event_name(src.event_name, "app", "users", CDC_OP_DELETE);
    assert_string_equal(name, "db.app.users.deleted");
    free(name);
    cdc_source_release(&src);
    assert_int_not_equal(cdc_source_init(&src, SRC_ID, "acme", "[{\"name\":\"orders\"}]", "",
                                         err, sizeof(err)),
                         0);
    cdc_source_release(&src);
    assert_int_not_equal(cdc_source_init(&src, SRC_ID, "acme", "[]", "", err, sizeof(err)), 0);
    cdc_source_release(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(insert_update_delete),
        cmocka_unit_test(rules_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
