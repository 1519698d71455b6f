"""Incoming webhooks: sources at /api/v1/incoming/{id} verify what other services send
(generic HMAC, GitHub, Stripe, Standard Webhooks, basic auth, API key) and turn it into
events that fan out to subscribed webhooks. Signatures here are computed with Python's own
hmac module, independently of the C code; what reached Kafka is read back from the events
topic itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import pytest
import requests

from waiting import wait_for

STALE_S = 400  # beyond the default 300 s tolerance


def incoming_url(hookline, source_id: str) -> str:
    return f"{hookline.base_url}/api/v1/incoming/{source_id}"


def send(hookline, source_id: str, body: bytes, headers: dict[str, str] | None = None,
         auth=None) -> requests.Response:
    """POSTs as an outside service would: no Hookline API key."""
    h = {"Content-Type": "application/json", **(headers or {})}
    return requests.post(incoming_url(hookline, source_id), data=body, headers=h, auth=auth,
                         timeout=10)


def create_source(hookline, **fields) -> dict:
    r = hookline.api("POST", "/api/v1/sources", json=fields)
    assert r.status_code == 201, f"create source: {r.status_code} {r.text}"
    return r.json()


def topic_events(hookline, kafka_consumer_factory, duration: float = 2.0) -> list[dict]:
    msgs = kafka_consumer_factory(hookline.topic("events")).messages(duration=duration)
    return [json.loads(m.value()) for m in msgs]


def hmac_digest(alg: str, key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, getattr(hashlib, alg)).digest()


# --- one signer per verification style ----------------------------------------------------
#
# sign(secret, body, now, good) returns the request's extra headers (and basic auth);
# good=False signs with a wrong secret. `stale` is None for styles that sign no timestamp.


@dataclass
class Style:
    name: str
    verification: dict
    secret_field: str
    sign: Callable[[str, bytes, int, bool], tuple[dict[str, str], object]]
    stale: bool


def wrong(secret: str, good: bool) -> str:
    return secret if good else secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")


def sign_hmac(secret, body, now, good):
    mac = hmac_digest("sha512", wrong(secret, good).encode(), body)
    return {"X-Acme-Signature": "v1=" + base64.b64encode(mac).decode()}, None


def sign_github(secret, body, now, good):
    mac = hmac_digest("sha256", wrong(secret, good).encode(), body)
    return {"X-Hub-Signature-256": "sha256=" + mac.hex(), "X-GitHub-Event": "push"}, None


def sign_stripe(secret, body, now, good):
    mac = hmac_digest("sha256", wrong(secret, good).encode(), f"{now}.".encode() + body)
    return {"Stripe-Signature": f"t={now},v1={mac.hex()}"}, None


def sign_standard(secret, body, now, good):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    if not good:
        key = bytes([key[0] ^ 1]) + key[1:]
    msg_id = "msg_2Kq8"
    mac = hmac_digest("sha256", key, f"{msg_id}.{now}.".encode() + body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(now),
            "webhook-signature": "v1," + base64.b64encode(mac).decode()}, None


def sign_basic(secret, body, now, good):
    return {}, ("partner", wrong(secret, good))


def sign_api_key(secret, body, now, good):
    return {"X-Partner-Key": wrong(secret, good)}, None


STYLES = [
    Style("hmac", {"type": "hmac", "header": "X-Acme-Signature", "algorithm": "sha512",
                   "encoding": "base64", "prefix": "v1="}, "secret", sign_hmac, False),
    Style("github", {"type": "github"}, "secret", sign_github, False),
    Style("stripe", {"type": "stripe"}, "secret", sign_stripe, True),
    Style("standard_webhooks", {"type": "standard_webhooks"}, "secret", sign_standard, True),
    Style("basic", {"type": "basic", "username": "partner"}, "password", sign_basic, False),
    Style("api_key", {"type": "api_key", "header": "X-Partner-Key"}, "value", sign_api_key, False),
]


@pytest.mark.parametrize("style", STYLES, ids=[s.name for s in STYLES])
def test_verification_style_accepts_correct_and_refuses_wrong_and_stale(
        hookline, receiver, kafka_consumer_factory, style):
    src = create_source(hookline, name=f"{style.name} partner", verification=style.verification,
                        event_type={"from": "fixed", "value": f"partner.{style.name}"})
    secret = src["verification"][style.secret_field]
    assert secret, "create returns the generated credential once"
    hookline.create_webhook(receiver.url, ["partner.*"])
    hookline.settle()

    body = json.dumps({"order": 42, "style": style.name}).encode()
    now = int(time.time())
    headers, auth = style.sign(secret, body, now, True)
    ok = send(hookline, src["id"], body, headers, auth)
    assert ok.status_code == 202, ok.text
    assert ok.json()["source"] == src["id"] and ok.json()["event"] == f"partner.{style.name}"

    headers, auth = style.sign(secret, body, now, False)
    bad = send(hookline, src["id"], body, headers, auth)
    assert bad.status_code == 401, bad.text
    assert bad.headers["Content-Type"] == "application/problem+json"
    # A correct signature of another body is wrong too.
    headers, auth = style.sign(secret, body, now, True)
    if style.name not in ("basic", "api_key"):
        tampered = send(hookline, src["id"], body.replace(b"42", b"43"), headers, auth)
        assert tampered.status_code == 401, tampered.text
    # No credential at all.
    assert send(hookline, src["id"], body).status_code == 401
    if style.stale:
        headers, auth = style.sign(secret, body, now - STALE_S, True)
        stale = send(hookline, src["id"], body, headers, auth)
        assert stale.status_code == 401, stale.text
        assert "tolerance" in stale.json()["detail"]

    [delivery] = receiver.wait_for(1, timeout=15)
    got = delivery.json()
    assert got["id"] == ok.json()["id"]
    assert got["event"] == f"partner.{style.name}"
    assert got["data"] == {"order": 42, "style": style.name}
    assert got["metadata"] == {"source": src["id"]}
    # Only the verified request became an event, and only it was delivered.
    events = topic_events(hookline, kafka_consumer_factory)
    assert [e["id"] for e in events] == [ok.json()["id"]]
    assert events[0]["metadata"] == {"source": src["id"]}
    assert events[0]["tenant"] == hookline.tenant
    time.sleep(1.0)
    assert len(receiver.snapshot()) == 1


@pytest.mark.dispatchers(0)
def test_event_type_from_header_json_pointer_or_fixed(hookline, kafka_consumer_factory):
    key = "k-" + "x" * 20

    def src(event_type):
        return create_source(hookline, verification={"type": "api_key", "header": "X-Key",
                                                     "value": key},
                             event_type=event_type)["id"]

    from_header = src({"from": "header", "header": "X-GitHub-Event", "prefix": "github."})
    from_pointer = src({"from": "json_pointer", "pointer": "/meta/a~1b~0c", "prefix": "shop."})
    with_default = src({"from": "json_pointer", "pointer": "/type", "default": "shop.unknown"})
    fixed = src({"from": "fixed", "value": "crm.contact.updated"})
    h = {"X-Key": key}

    r1 = send(hookline, from_header, b'{"ref": "main"}', {**h, "X-GitHub-Event": "pull_request"})
    r2 = send(hookline, from_pointer, b'{"meta": {"a/b~c": "order.paid"}}', h)
    r3 = send(hookline, with_default, b'{"no_type": 1}', h)
    r4 = send(hookline, fixed, b'{"type": "ignored.here"}', h)
    for r in (r1, r2, r3, r4):
        assert r.status_code == 202, r.text
    assert [r.json()["event"] for r in (r1, r2, r3, r4)] == [
        "github.pull_request", "shop.order.paid", "shop.unknown", "crm.contact.updated"]

    # Unresolvable types are 422 and produce nothing.
    missing_header = send(hookline, from_header, b"{}", h)
    assert missing_header.status_code == 422, missing_header.text
    assert "X-GitHub-Event" in missing_header.json()["errors"][0]["detail"]
    missing_member = send(hookline, from_pointer, b'{"meta": {}}', h)
    assert missing_member.status_code == 422
    assert missing_member.json()["errors"][0]["pointer"] == "/meta/a~1b~0c"
    not_a_string = send(hookline, from_pointer, b'{"meta": {"a/b~c": 7}}', h)
    assert not_a_string.status_code == 422
    bad_name = send(hookline, from_header, b"{}", {**h, "X-GitHub-Event": "no spaces allowed"})
    assert bad_name.status_code == 422

    types = sorted(e["event"] for e in topic_events(hookline, kafka_consumer_factory))
    assert types == sorted(["github.pull_request", "shop.order.paid", "shop.unknown",
                            "crm.contact.updated"])


@pytest.mark.dispatchers(0)
def test_payload_schema_refuses_with_pointers_and_bad_schema_is_422(hookline,
                                                                   kafka_consumer_factory):
    schema = {"type": "object", "required": ["amount", "currency"],
              "properties": {"amount": {"type": "integer", "minimum": 1},
                             "currency": {"enum": ["EUR", "USD"]}}}
    key = "k-" + "y" * 20
    src = create_source(hookline, verification={"type": "api_key", "header": "X-Key", "value": key},
                        event_type={"from": "fixed", "value": "pay.received"}, schema=schema)
    assert src["schema"] == schema
    h = {"X-Key": key}
    bad = send(hookline, src["id"], b'{"amount": 0, "currency": "GBP"}', h)
    assert bad.status_code == 422, bad.text
    assert bad.headers["Content-Type"] == "application/problem+json"
    assert sorted(e["pointer"] for e in bad.json()["errors"]) == ["/amount", "/currency"]
    # A source with a schema takes JSON only.
    form = send(hookline, src["id"], b"amount=5", {**h, "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415, form.text
    good = send(hookline, src["id"], b'{"amount": 5, "currency": "EUR"}', h)
    assert good.status_code == 202, good.text
    assert [e["data"] for e in topic_events(hookline, kafka_consumer_factory)] == [
        {"amount": 5, "currency": "EUR"}]

    # A schema that cannot be compiled is refused when the source is stored.
    r = hookline.api("POST", "/api/v1/sources", json={
        "verification": {"type": "github"}, "schema": {"type": "object", "unevaluatedProperties": False}})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["pointer"] == "/schema"
    r = hookline.api("PATCH", f"/api/v1/sources/{src['id']}", json={"schema": {"minimum": "x"}})
    assert r.status_code == 422, r.text
    # Clearing the schema lets any JSON through.
    r = hookline.api("PATCH", f"/api/v1/sources/{src['id']}", json={"schema": None})
    assert r.status_code == 200 and r.json()["schema"] is None
    assert send(hookline, src["id"], b'{"amount": "lots"}', h).status_code == 202


@pytest.mark.dispatchers(0)
def test_payload_schema_is_compiled_once_per_version_and_changes_apply_at_once(hookline):
    key = "k-" + "c" * 20
    h = {"X-Key": key}
    src = create_source(hookline, verification={"type": "api_key", "header": "X-Key", "value": key},
                        schema={"type": "object", "required": ["a"]})
    compiled = f"compiled the payload schema of source '{src['id']}'"
    for _ in range(5):
        assert send(hookline, src["id"], b'{"a": 1}', h).status_code == 202
    assert send(hookline, src["id"], b'{"b": 1}', h).status_code == 422
    assert len(log_lines(hookline, compiled)) == 1, "six requests, one compilation"

    # A PATCH through this gateway applies to the very next request.
    r = hookline.api("PATCH", f"/api/v1/sources/{src['id']}",
                     json={"schema": {"type": "object", "required": ["b"]}})
    assert r.status_code == 200, r.text
    assert send(hookline, src["id"], b'{"a": 1}', h).status_code == 422
    assert send(hookline, src["id"], b'{"b": 1}', h).status_code == 202
    assert len(log_lines(hookline, compiled)) == 2

    # So does a change made through another gateway (here: straight in the database), which
    # this one hears nothing about: the row's updated_at is the cached schema's version.
    hookline.sql("UPDATE sources SET schema = %s::jsonb, updated_at = now() WHERE id = %s",
                 json.dumps({"type": "object", "required": ["c"]}), src["id"])
    assert send(hookline, src["id"], b'{"b": 1}', h).status_code == 422
    assert send(hookline, src["id"], b'{"c": 1}', h).status_code == 202
    assert len(log_lines(hookline, compiled)) == 3

    # Deleted and gone: no cached schema answers for it.
    assert hookline.api("DELETE", f"/api/v1/sources/{src['id']}").status_code == 204
    assert send(hookline, src["id"], b'{"c": 1}', h).status_code == 404


@pytest.mark.dispatchers(0)
def test_bodies_oversized_413_broken_json_400_other_media_wrapped(hookline,
                                                                 kafka_consumer_factory):
    key = "k-" + "z" * 20
    src = create_source(hookline, verification={"type": "api_key", "header": "X-Key", "value": key},
                        event_type={"from": "fixed", "value": "misc.received"})
    h = {"X-Key": key}
    big = b'{"pad": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    r = send(hookline, src["id"], big, h)
    assert r.status_code == 413, r.text
    # Within the request limit but over the event limit (256 KiB) is 413 too.
    r = send(hookline, src["id"], b'{"pad": "' + b"a" * (300 * 1024) + b'"}', h)
    assert r.status_code == 413, r.text
    r = send(hookline, src["id"], b'{"broken": ', h)
    assert r.status_code == 400, r.text
    r = send(hookline, src["id"], b"name=alice&n=1",
             {**h, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 202, r.text
    r = send(hookline, src["id"], b"\xff\xfe\x00binary", {**h, "Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text
    events = topic_events(hookline, kafka_consumer_factory)
    # Events land on several partitions: compare without order.
    assert sorted((e["data"] for e in events), key=lambda d: d["content_type"]) == [
        {"content_type": "application/octet-stream",
         "body_base64": base64.b64encode(b"\xff\xfe\x00binary").decode()},
        {"content_type": "application/x-www-form-urlencoded", "body": "name=alice&n=1"},
    ]


@pytest.mark.dispatchers(0)
def test_source_crud_returns_credential_once_and_delete_makes_incoming_404(hookline):
    r = hookline.api("POST", "/api/v1/sources", json={
        "name": "github main", "verification": {"type": "github", "secret": "gh-secret-1234"},
        "event_type": {"from": "header", "header": "X-GitHub-Event", "prefix": "github."},
        "rate_limit_per_s": 50})
    assert r.status_code == 201, r.text
    src = r.json()
    assert r.headers["Location"] == f"/api/v1/sources/{src['id']}"
    assert src["verification"] == {"type": "github", "secret": "gh-secret-1234"}
    assert src["incoming_path"] == f"/api/v1/incoming/{src['id']}"
    assert src["status"] == "active" and src["rate_limit_per_s"] == 50

    got = hookline.api("GET", f"/api/v1/sources/{src['id']}")
    assert got.status_code == 200
    assert got.json()["verification"] == {"type": "github"}
    listed = hookline.api("GET", "/api/v1/sources")
    assert [s["id"] for s in listed.json()["data"]] == [src["id"]]
    assert "gh-secret-1234" not in got.text + listed.text

    def github(secret: str) -> dict[str, str]:
        mac = hmac_digest("sha256", secret.encode(), b'{"zen": 1}').hex()
        return {"X-Hub-Signature-256": "sha256=" + mac, "X-GitHub-Event": "ping"}

    assert send(hookline, src["id"], b'{"zen": 1}', github("gh-secret-1234")).status_code == 202
    # PATCH: a new credential replaces the old one; other fields merge.
    r = hookline.api("PATCH", f"/api/v1/sources/{src['id']}",
                     json={"name": "renamed", "verification": {"type": "github", "secret": "gh-secret-5678"},
                           "rate_limit_per_s": None})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "renamed" and r.json()["rate_limit_per_s"] is None
    assert "gh-secret" not in r.text
    assert send(hookline, src["id"], b'{"zen": 1}', github("gh-secret-1234")).status_code == 401
    assert send(hookline, src["id"], b'{"zen": 1}', github("gh-secret-5678")).status_code == 202
    # A verification without its credential keeps the stored one.
    r = hookline.api("PATCH", f"/api/v1/sources/{src['id']}",
                     json={"verification": {"type": "hmac", "header": "X-Hub-Signature-256",
                                            "prefix": "sha256="}})
    assert r.status_code == 200, r.text
    assert r.json()["verification"] == {"type": "hmac", "header": "X-Hub-Signature-256",
                                        "prefix": "sha256=", "algorithm": "sha256",
                                        "encoding": "hex"}
    assert send(hookline, src["id"], b'{"zen": 1}', github("gh-secret-5678")).status_code == 202
    # ...but switching to Standard Webhooks needs a whsec_ secret.
    r = hookline.api("PATCH", f"/api/v1/sources/{src['id']}",
                     json={"verification": {"type": "standard_webhooks"}})
    assert r.status_code == 400, r.text
    # Disabled sources answer 404, like unknown ones.
    r = hookline.api("PATCH", f"/api/v1/sources/{src['id']}", json={"status": "disabled"})
    assert r.status_code == 200
    assert send(hookline, src["id"], b'{"zen": 1}', github("gh-secret-5678")).status_code == 404
    assert hookline.api("PATCH", f"/api/v1/sources/{src['id']}",
                        json={"status": "active"}).status_code == 200

    r = hookline.api("DELETE", f"/api/v1/sources/{src['id']}")
    assert r.status_code == 204
    assert hookline.api("GET", f"/api/v1/sources/{src['id']}").status_code == 404
    gone = send(hookline, src["id"], b'{"zen": 1}', github("gh-secret-5678"))
    assert gone.status_code == 404 and gone.headers["Content-Type"] == "application/problem+json"
    assert send(hookline, "not-a-uuid", b"{}").status_code == 404
    assert requests.get(incoming_url(hookline, src["id"]), timeout=5).status_code == 405

    # The credentials never reached a log line.
    log = hookline.gateway.log.read_text()
    for secret in ("gh-secret-1234", "gh-secret-5678"):
        assert secret not in log


@pytest.mark.dispatchers(0)
def test_bad_source_bodies_are_400_and_change_nothing(hookline):
    bad = [
        {},
        {"verification": {"type": "carrier-pigeon"}},
        {"verification": {"type": "hmac"}},  # header required
        {"verification": {"type": "hmac", "header": "X-Sig", "algorithm": "md5"}},
        {"verification": {"type": "github", "secret": "short"}},
        {"verification": {"type": "standard_webhooks", "secret": "not-whsec"}},
        {"verification": {"type": "standard_webhooks", "secret": "whsec_dG9vc2hvcnQ="}},
        {"verification": {"type": "basic", "username": "a:b"}},
        {"verification": {"type": "stripe", "tolerance_s": 0}},
        {"verification": {"type": "github"}, "event_type": {"from": "json_pointer", "pointer": "type"}},
        {"verification": {"type": "github"}, "event_type": {"from": "fixed", "value": "bad type"}},
        {"verification": {"type": "github"}, "rate_limit_per_s": 0},
    ]
    for body in bad:
        r = hookline.api("POST", "/api/v1/sources", json=body)
        assert r.status_code == 400, f"{body}: {r.status_code} {r.text}"
        assert r.headers["Content-Type"] == "application/problem+json"
    assert hookline.sql("SELECT count(*) FROM sources") == [(0,)]

    viewer = hookline.make_key("viewer")
    publisher = hookline.make_key("publisher")
    r = hookline.api("POST", "/api/v1/sources", json={"verification": {"type": "github"}},
                     headers={"Authorization": f"Bearer {viewer}"})
    assert r.status_code == 403
    r = hookline.api("GET", "/api/v1/sources", headers={"Authorization": f"Bearer {publisher}"})
    assert r.status_code == 403
    r = hookline.api("GET", "/api/v1/sources", headers={"Authorization": f"Bearer {viewer}"})
    assert r.status_code == 200


@pytest.mark.dispatchers(0)
def test_another_tenants_source_is_404_and_list_pages(hookline):
    mine = create_source(hookline, verification={"type": "github"})
    other = hookline.tenant + "-o"
    hookline.create_tenant(other)
    other_key = {"Authorization": f"Bearer {hookline.make_key('tenant_admin', tenant=other)}"}
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        r = hookline.api(method, f"/api/v1/sources/{mine['id']}", json=body, headers=other_key)
        assert r.status_code == 404, f"{method}: {r.status_code}"
    r = hookline.api("GET", "/api/v1/sources", headers=other_key)
    assert r.json()["data"] == []
    assert hookline.api("GET", f"/api/v1/sources/{mine['id']}").json()["name"] == ""

    ids = [mine["id"]] + [create_source(hookline, verification={"type": "github"})["id"]
                          for _ in range(4)]
    seen, cursor = [], None
    while True:
        q = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = hookline.api("GET", "/api/v1/sources" + q).json()
        seen += [s["id"] for s in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids)


@pytest.mark.dispatchers(0)
def test_database_holds_only_sealed_credentials(hookline):
    created = [
        create_source(hookline, verification={"type": "hmac", "header": "X-S", "secret": "hmac-plain-1"}),
        create_source(hookline, verification={"type": "basic", "username": "u", "password": "basic-plain-2"}),
        create_source(hookline, verification={"type": "api_key", "header": "X-K", "value": "key-plain-3"}),
        create_source(hookline, verification={"type": "stripe"}),
    ]
    plains = ["hmac-plain-1", "basic-plain-2", "key-plain-3",
              created[3]["verification"]["secret"]]
    rows = hookline.sql("SELECT id::text, secret, row_to_json(s)::text FROM sources s")
    assert len(rows) == 4
    for sid, secret, whole in rows:
        assert secret.startswith("hlenc:v1:"), secret
        for p in plains:
            assert p not in whole


def log_lines(hookline, needle: str) -> list[dict]:
    lines = hookline.gateway.log.read_text().splitlines()
    return [json.loads(line) for line in lines if needle in line]


@pytest.mark.dispatchers(0)
def test_credential_that_does_not_open_is_503_logged_with_source_and_key_id(
        hookline, kafka_consumer_factory):
    a = create_source(hookline, verification={"type": "hmac", "header": "X-S", "secret": "hmac-plain-1"})
    b = create_source(hookline, verification={"type": "api_key", "header": "X-K", "value": "key-plain-3"})
    c = create_source(hookline, verification={"type": "github", "secret": "gh-plain-4"})
    [(sealed_a,)] = hookline.sql("SELECT secret FROM sources WHERE id = %s", a["id"])
    key_id = sealed_a.split(":")[2]
    # A sealed value is bound to its row: copied into another source, it does not open.
    hookline.sql("UPDATE sources SET secret = %s WHERE id = %s", sealed_a, b["id"])
    # Sealed under a master key this gateway's ring does not hold (a retired one, say).
    hookline.sql("UPDATE sources SET secret = replace(secret, %s, ':retired-key:') WHERE id = %s",
                 f":{key_id}:", c["id"])

    for sid, headers, key in ((b["id"], {"X-K": "key-plain-3"}, key_id),
                              (c["id"], {"X-Hub-Signature-256": "sha256=00"}, "retired-key")):
        r = send(hookline, sid, b"{}", headers)
        assert r.status_code == 503, r.text
        assert r.headers["Content-Type"] == "application/problem+json"
        assert r.json()["type"] == "https://hookline.dev/problems/credential-unavailable"
        [line] = log_lines(hookline, f"cannot open the credential of source '{sid}'")
        assert line["level"] == "error"
        assert f"master key '{key}'" in line["msg"]
    # The source whose value was copied still works; nothing reached Kafka for the others.
    mac = hmac_digest("sha256", b"hmac-plain-1", b"{}").hex()
    assert send(hookline, a["id"], b"{}", {"X-S": mac}).status_code == 202
    assert len(topic_events(hookline, kafka_consumer_factory)) == 1

    # Switching to Standard Webhooks must keep the stored credential, which cannot be read:
    # 409, resolved by giving one.
    r = hookline.api("PATCH", f"/api/v1/sources/{c['id']}",
                     json={"verification": {"type": "standard_webhooks"}})
    assert r.status_code == 409, r.text
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    r = hookline.api("PATCH", f"/api/v1/sources/{c['id']}",
                     json={"verification": {"type": "standard_webhooks", "secret": secret}})
    assert r.status_code == 200, r.text

    log = hookline.gateway.log.read_text()
    for plain in ("hmac-plain-1", "key-plain-3", "gh-plain-4", sealed_a, sealed_a.split(":")[3]):
        assert plain not in log


@pytest.mark.dispatchers(0)
def test_source_rate_limit_is_429_with_retry_after_and_forgeries_or_other_sources_unaffected(
        hookline, kafka_consumer_factory):
    key = "k-" + "r" * 20
    h = {"X-Key": key}

    def src(**fields):
        return create_source(hookline, verification={"type": "api_key", "header": "X-Key",
                                                     "value": key}, **fields)["id"]

    limited, other = src(rate_limit_per_s=2), src()
    # Forged requests are refused before the limit is counted: they cannot use up the budget
    # of the real sender.
    for i in range(10):
        r = send(hookline, limited, b'{"forged": %d}' % i, {"X-Key": "not-the-key"})
        assert r.status_code == 401, r.text
    # Six at once: a burst of two (one second's worth) passes, the rest are refused until a
    # token comes back (every 500 ms). Sent in parallel because each 202 waits for Kafka.
    t0 = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: send(hookline, limited, b'{"n": %d}' % i, h), range(6)))
    elapsed = time.monotonic() - t0
    accepted = [i for i, a in enumerate(answers) if a.status_code == 202]
    refused = [a for a in answers if a.status_code != 202]
    assert 2 <= len(accepted) <= 2 + int(elapsed * 2), [a.status_code for a in answers]
    assert refused and all(a.status_code == 429 for a in refused), [a.text for a in refused]
    refused = refused[0]
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "https://hookline.dev/problems/rate-limited"
    assert refused.headers["Retry-After"] == "1"
    # Another source of the same tenant is not affected.
    for i in range(5):
        r = send(hookline, other, b'{"other": %d}' % i, h)
        assert r.status_code == 202, r.text
    # After the advertised wait the limited source accepts again.
    time.sleep(int(refused.headers["Retry-After"]))
    again = send(hookline, limited, b'{"n": 9}', h)
    assert again.status_code == 202, again.text

    # The 429'd requests produced nothing.
    events = topic_events(hookline, kafka_consumer_factory)
    got = sorted(e["data"]["n"] for e in events if e["metadata"]["source"] == limited)
    assert got == sorted(accepted + [9])
    assert sum(e["metadata"]["source"] == other for e in events) == 5
