"""Valid JSON that earlier builds refused at ingest (found by replaying the official
JSON-Schema-Test-Suite through event-type schemas): strings holding U+0000, and patterns
with ECMA-262 Unicode property escapes. Error messages speak Hookline, not its libraries."""

from __future__ import annotations

import json

from waiting import wait_for

LIBRARY_WORDS = ("JSON_", "jansson", "pcre", "PCRE", "near '")


def test_event_with_nul_in_a_string_reaches_the_receiver_intact(hookline, receiver):
    hookline.create_webhook(receiver.url, ["text.sent"])
    hookline.settle()
    body = b'{"event":"text.sent","data":{"s":"a\\u0000b","k\\u00e9":"\\u0000"}}'
    r = hookline.api("POST", "/api/v1/events", data=body,
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    got = receiver.wait_for(1, timeout=15)[0].json()
    assert got["data"] == {"s": "a\x00b", "k\u00e9": "\x00"}
    # the batch endpoint too
    r = hookline.api("POST", "/api/v1/events/batch",
                     json={"events": [{"event": "text.sent", "data": {"s": "\x00\x00"}}]})
    assert r.status_code in (200, 202, 207), r.text
    assert receiver.wait_for(2, timeout=15)[1].json()["data"] == {"s": "\x00\x00"}

    # The delivery log keeps both attempts; PostgreSQL's jsonb has no U+0000, so its copy
    # of the event shows U+FFFD there (docs/api.md says so).
    def logged():
        r = hookline.api("GET", "/api/v1/deliveries?status=succeeded")
        assert r.status_code == 200, r.text
        return r.json()["data"] if len(r.json()["data"]) == 2 else None
    rows = wait_for(logged, timeout=15, what="two succeeded deliveries in the log")
    events = [hookline.api("GET", f"/api/v1/deliveries/{d['id']}").json()["event"] for d in rows]
    datas = sorted(json.dumps(e["data"], sort_keys=True) for e in events)
    assert datas == sorted([json.dumps({"k\u00e9": "\ufffd", "s": "a\ufffdb"}, sort_keys=True),
                            json.dumps({"s": "\ufffd\ufffd"})]), datas


def test_refused_json_is_explained_without_library_details(hookline):
    bodies = [b'{"event":"a.b","data":', b'{"event":"a.b","data":{}} x', b'{"event":"a\\u0000":1}',
              b'{"event":"a.b","data":{"k":tru}}', b'{"a":1,"a":2}', b'\xff']
    for b in bodies:
        r = hookline.api("POST", "/api/v1/events", data=b,
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (b, r.text)
        detail = r.json()["detail"]
        assert detail.startswith("the body is not valid JSON"), detail
        assert not any(w in detail for w in LIBRARY_WORDS), detail


def test_nul_where_it_would_be_stored_is_a_clear_400(hookline):
    # webhooks, event types, tenants ... live in PostgreSQL, which has no U+0000
    body = b'{"url":"http://127.0.0.1:18080/w","events":["*"],"metadata":{"k":"a\\u0000"}}'
    r = hookline.api("POST", "/api/v1/webhooks", data=body,
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert "U+0000" in r.json()["detail"], r.text
    assert not any(w in r.text for w in LIBRARY_WORDS), r.text
    assert hookline.api("GET", "/api/v1/webhooks").json()["data"] == []
    # an escaped backslash before "u0000" is just text
    body = b'{"url":"http://127.0.0.1:18080/w","events":["*"],"metadata":{"k":"a\\\\u0000"}}'
    r = hookline.api("POST", "/api/v1/webhooks", data=body,
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["metadata"] == {"k": "a\\u0000"}


def test_event_type_pattern_with_unicode_property_escapes(hookline, receiver):
    schema = {"type": "object", "required": ["name", "greek"],
              "properties": {"name": {"type": "string", "pattern": "^\\p{Letter}+$"},
                             "greek": {"type": "string",
                                       "pattern": "^[\\p{Script=Greek}\\P{L}]+$"}}}
    r = hookline.api("POST", "/api/v1/event-types", json={"name": "person.named", "schema": schema})
    assert r.status_code == 201, r.text
    hookline.create_webhook(receiver.url, ["person.named"])
    hookline.settle()

    ok = {"name": "Zo\u00eb\u0416\u03a9", "greek": "\u03b1\u03b2 1"}
    r = hookline.api("POST", "/api/v1/events", json={"event": "person.named", "data": ok})
    assert r.status_code == 202, r.text
    r = hookline.api("POST", "/api/v1/events",
                     json={"event": "person.named", "data": {"name": "Zoe1", "greek": "ab"}})
    assert r.status_code == 422, r.text
    assert sorted(e["pointer"] for e in r.json()["errors"]) == ["/data/greek", "/data/name"]
    assert receiver.wait_for(1, timeout=15)[0].json()["data"] == ok

    # a pattern that is not a regex: refused, in words without the library's
    bad = {"type": "string", "pattern": "^(\\p{Letter}"}
    r = hookline.api("POST", "/api/v1/event-types", json={"name": "person.bad", "schema": bad})
    assert r.status_code in (400, 422), r.text
    text = json.dumps(r.json())
    assert "regular expression" in text and not any(w in text for w in LIBRARY_WORDS), text
