/* The event envelope: parsing messages from the events topic (and refusing poison ones
 * with a reason), building the delivery body each webhook receives, and writing the
 * message value the gateway produces (hl_envelope_write). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hl/envelope.h"

#define GOOD                                                                                       \
    "{\"id\":\"evt_1\",\"event\":\"order.created\",\"tenant\":\"default\","                        \
    "\"timestamp\":\"2026-02-25T15:00:00.000Z\",\"request_id\":\"req-9\",\"actor_id\":123,"        \
    "\"data\":{\"total\":42,\"note\":\"a \\\"quoted\\\" word\"},\"metadata\":{\"src\":\"test\"}}"

static void test_body_has_every_field_and_the_webhook_id(void **state)
{
    struct hl_event ev;
    struct hl_buf body = HL_BUF_INIT;
    char err[256];
    assert_int_equal(hl_event_parse(GOOD, strlen(GOOD), &ev, err, sizeof(err)), HL_OK);
    assert_string_equal(ev.id, "evt_1");
    assert_string_equal(ev.type, "order.created");
    assert_string_equal(ev.tenant, "default");

    hl_envelope_body(&ev, "wh-1", &body);
    json_error_t jerr;
    json_t *j = json_loads(hl_buf_str(&body), 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "evt_1");
    assert_string_equal(json_string_value(json_object_get(j, "event")), "order.created");
    assert_string_equal(json_string_value(json_object_get(j, "tenant")), "default");
    assert_string_equal(json_string_value(json_object_get(j, "timestamp")),
                        "2026-02-25T15:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(j, "webhook_id")), "wh-1");
    assert_string_equal(json_string_value(json_object_get(j, "request_id")), "req-9");
    assert_int_equal(json_integer_value(json_object_get(j, "actor_id")), 123);
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_integer_value(json_object_get(data, "total")), 42);
    assert_string_equal(json_string_value(json_object_get(data, "note")), "a \"quoted\" word");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "metadata"), "src")), "test");
    json_decref(j);

    /* Another webhook of the same event differs only in webhook_id. */
    struct hl_buf other = HL_BUF_INIT;
    hl_envelope_body(&ev, "wh-2", &other);
    assert_int_equal(other.len, body.len);
    assert_non_null(strstr(hl_buf_str(&other), "\"webhook_id\":\"wh-2\""));

    /* Same inputs, same bytes: a retry signs exactly what the first attempt signed. */
    struct hl_buf again = HL_BUF_INIT;
    hl_envelope_body(&ev, "wh-1", &again);
    assert_string_equal(hl_buf_str(&again), hl_buf_str(&body));

    hl_buf_release(&body);
    hl_buf_release(&other);
    hl_buf_release(&again);
    hl_event_release(&ev);
}

static void test_metadata_defaults_to_empty_object(void **state)
{
    const char *msg = "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\","
                      "\"data\":null}";
    struct hl_event ev;
    struct hl_buf body = HL_BUF_INIT;
    char err[256];
    assert_int_equal(hl_event_parse(msg, strlen(msg), &ev, err, sizeof(err)), HL_OK);
    hl_envelope_body(&ev, "w", &body);
    assert_non_null(strstr(hl_buf_str(&body), "\"data\":null,\"metadata\":{}}"));
    hl_buf_release(&body);
    hl_event_release(&ev);
}

static void body_of(const char *msg, bool with_text, struct hl_buf *body)
{
    struct hl_event ev;
    char err[256];
    assert_int_equal(hl_event_parse(msg, strlen(msg), &ev, err, sizeof(err)), HL_OK);
    if (with_text) {
        ev.text = msg;
        ev.text_len = strlen(msg);
    }
    hl_envelope_body(&ev, "w", body);
    hl_event_release(&ev);
}

/* Given the envelope's text, the body copies actor_id, data and metadata from it: the same
 * bytes as serializing them when the text is compact jansson output, as written otherwise. */
static void test_body_from_text_matches_serialized_body(void **state)
{
    static const char *const canonical[] = {
        GOOD,
        "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":null}",
        "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"actor_id\":null,"
        "\"data\":[1,\"}\"],\"metadata\":null}",
        "{\"data\":{\"k\":{}},\"actor_id\":\"u-1\",\"metadata\":{},\"id\":\"e\",\"event\":\"a.b\","
        "\"tenant\":\"t\",\"timestamp\":\"x\",\"occurred_at\":\"y\"}",
    };
    for (size_t i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++) {
        struct hl_buf a = HL_BUF_INIT, b = HL_BUF_INIT;
        body_of(canonical[i], false, &a);
        body_of(canonical[i], true, &b);
        assert_string_equal(hl_buf_str(&b), hl_buf_str(&a));
        hl_buf_release(&a);
        hl_buf_release(&b);
    }
    struct hl_buf body = HL_BUF_INIT;
    body_of("{\"id\":\"e\", \"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\","
            "\"data\": {\"p\": 0.1} ,\"metadata\":{ }}",
            true, &body);
    assert_non_null(strstr(hl_buf_str(&body), ",\"data\":{\"p\": 0.1},\"metadata\":{ }}"));
    /* a name with an escape: the text is not trusted to say which member is which */
    body_of("{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\","
            "\"d\\u0061ta\": [ 2 ]}",
            true, &body);
    assert_non_null(strstr(hl_buf_str(&body), ",\"data\":[2],\"metadata\":{}}"));
    hl_buf_release(&body);
}

/* hl_event_read: the fields and the body read off plain text are those of the parse; text
 * with escapes goes through jansson; bad envelopes are refused as hl_event_parse does. */
static void test_read_matches_parse(void **state)
{
    static const char *const texts[] = {
        GOOD,
        "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":null,"
        "\"occurred_at\":null,\"request_id\":\"r\",\"metadata\":null,\"actor_id\":\"u\"}",
        "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":[],"
        "\"occurred_at\":\"2026-01-01T00:00:00Z\"}",
        /* escapes: jansson reads them */
        "{\"id\":\"e\\\"1\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":1}",
        "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":1,"
        "\"request_id\":\"\\u00e9\"}",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct hl_event a, b;
        struct hl_buf ba = HL_BUF_INIT, bb = HL_BUF_INIT;
        char err[256];
        size_t len = strlen(texts[i]);
        assert_int_equal(hl_event_parse(texts[i], len, &a, err, sizeof(err)), HL_OK);
        assert_int_equal(hl_event_read(texts[i], len, &b, err, sizeof(err)), HL_OK);
        assert_int_equal(b.root == NULL, i < 3);
        assert_string_equal(a.id, b.id);
        assert_string_equal(a.type, b.type);
        assert_string_equal(a.tenant, b.tenant);
        assert_string_equal(a.timestamp, b.timestamp);
        hl_envelope_body(&a, "w", &ba);
        hl_envelope_body(&b, "w", &bb);
        assert_string_equal(hl_buf_str(&bb), hl_buf_str(&ba));
        hl_buf_release(&ba);
        hl_buf_release(&bb);
        hl_event_release(&a);
        hl_event_release(&b);
    }
    static const char *const bad[] = {
        "{\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":1}",
        "{\"id\":\"e e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":1}",
        "{\"id\":\"e\",\"event\":\"a b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":1}",
        "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"\",\"timestamp\":\"x\",\"data\":1}",
        "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\"}",
        "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":1,"
        "\"metadata\":[]}",
        "{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":1,"
        "\"request_id\":5}",
        "{\"id\":1,\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":1}",
        "[]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hl_event ev;
        char e1[256] = "", e2[256] = "";
        size_t len = strlen(bad[i]);
        assert_int_equal(hl_event_parse(bad[i], len, &ev, e1, sizeof(e1)), HL_EINVAL);
        assert_int_equal(hl_event_read(bad[i], len, &ev, e2, sizeof(e2)), HL_EINVAL);
        assert_string_equal(e2, e1);
        assert_null(ev.root);
        assert_null(ev.strings);
    }
}

static void expect_poison(const char *msg, const char *reason)
{
    struct hl_event ev;
    char err[256] = "";
    assert_int_equal(hl_event_parse(msg, strlen(msg), &ev, err, sizeof(err)), HL_EINVAL);
    if (!strstr(err, reason))
        fail_msg("'%s': reason '%s' does not mention '%s'", msg, err, reason);
    assert_null(ev.root);
}

static void test_poison_messages_are_refused_with_a_reason(void **state)
{
    expect_poison("not json", "not JSON");
    expect_poison("[1,2]", "object");
    expect_poison("{\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\",\"data\":1}", "'id'");
    expect_poison("{\"id\":\"e\",\"event\":\"a b\",\"tenant\":\"t\",\"timestamp\":\"x\","
                  "\"data\":1}",
                  "event type");
    expect_poison("{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"\",\"timestamp\":\"x\","
                  "\"data\":1}",
                  "tenant");
    expect_poison("{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\"}", "data");
    expect_poison("{\"id\":\"e\",\"event\":\"a.b\",\"tenant\":\"t\",\"timestamp\":\"x\","
                  "\"data\":1,\"metadata\":[]}",
                  "metadata");
    expect_poison("{\"id\":\"e\",\"id\":\"f\",\"event\":\"a.b\",\"tenant\":\"t\","
                  "\"timestamp\":\"x\",\"data\":1}",
                  "not JSON");
}

static void test_event_id_validity(void **state)
{
    assert_true(hl_event_id_valid("evt_123"));
    assert_false(hl_event_id_valid(""));
    assert_false(hl_event_id_valid("has space"));
    char longid[HL_EVENT_ID_MAX + 2];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_false(hl_event_id_valid(longid));
}


/* The envelope as the gateway built it before hl_envelope_write: a jansson tree in a fixed
 * key order, then json_dumps. hl_envelope_write must give the same bytes. */
static char *envelope_the_old_way(json_t *body, const char *id, const char *tenant,
                                  const char *ts, const char *rid)
{
    json_t *env = json_object();
    json_object_set_new(env, "id", json_string(id));
    json_object_set(env, "event", json_object_get(body, "event"));
    json_object_set_new(env, "tenant", json_string(tenant));
    json_object_set_new(env, "timestamp", json_string(ts));
    json_t *occ = json_object_get(body, "occurred_at");
    if (occ)
        json_object_set(env, "occurred_at", occ);
    if (rid)
        json_object_set_new(env, "request_id", json_string(rid));
    json_t *actor = json_object_get(body, "actor_id");
    if (actor)
        json_object_set(env, "actor_id", actor);
    json_object_set(env, "data", json_object_get(body, "data"));
    json_t *meta = json_object_get(body, "metadata");
    json_object_set_new(env, "metadata",
                        meta && json_is_object(meta) ? json_incref(meta) : json_object());
    char *s = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    return s;
}

static void assert_written_like_before(const char *body_text, const char *id, const char *rid)
{
    json_error_t jerr;
    json_t *body = json_loads(body_text, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(body);
    char *want = envelope_the_old_way(body, id, "tenant \"t\"", "2026-02-25T15:00:00.000Z", rid);
    struct hl_buf b = HL_BUF_INIT;
    hl_envelope_write(&b, body, id, "tenant \"t\"", "2026-02-25T15:00:00.000Z", rid);
    assert_string_equal(hl_buf_str(&b), want);

    /* and what the dispatchers read back is a valid envelope with the same fields */
    struct hl_event ev;
    char err[256];
    assert_int_equal(hl_event_parse(b.ptr, b.len, &ev, err, sizeof(err)), HL_OK);
    assert_string_equal(ev.id, id);
    hl_event_release(&ev);
    hl_buf_release(&b);
    free(want);
    json_decref(body);
}

static void test_written_envelope_equals_the_jansson_one(void **state)
{
    /* the minimum, and the bench's event */
    assert_written_like_before("{\"event\":\"a\",\"data\":null}", "01890000-0000-7000-8000-000000000000",
                               NULL);
    assert_written_like_before("{\"event\":\"bench.ping\",\"data\":{\"pad\":\"xxxxxxxx\"}}", "e1",
                               "req-1");
    /* every optional field, in the body's own (different) order */
    assert_written_like_before(
        "{\"metadata\":{\"b\":1,\"a\":[2,3.25]},\"actor_id\":\"u\\u00e9\",\"data\":[1,\"x\",{}],"
        "\"occurred_at\":\"2026-01-01T00:00:00Z\",\"id\":\"client-id\",\"event\":\"order.created\"}",
        "client-id", "r \"quoted\" \\ id");
    assert_written_like_before("{\"event\":\"x\",\"data\":1,\"actor_id\":-42,\"metadata\":null}",
                               "id", NULL);
    /* strings that need escaping everywhere: quotes, controls, unicode, NUL-free */
    assert_written_like_before(
        "{\"event\":\"x\",\"data\":{\"q\\\"k\":\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\","
        "\"u\":\"caf\\u00e9 \\u20ac \\ud83d\\ude00 \\u2028\",\"n\":[0.1,1e300,-0.0,12345678901234]}}",
        "id", "tab\there");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_has_every_field_and_the_webhook_id),
        cmocka_unit_test(test_metadata_defaults_to_empty_object),
        cmocka_unit_test(test_body_from_text_matches_serialized_body),
        cmocka_unit_test(test_read_matches_parse),
        cmocka_unit_test(test_poison_messages_are_refused_with_a_reason),
        cmocka_unit_test(test_event_id_validity),
        cmocka_unit_test(test_written_envelope_equals_the_jansson_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
