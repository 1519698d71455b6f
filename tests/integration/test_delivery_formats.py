"""Delivery formats (issue 16): each seed system's receiver, written exactly as that seed
documents its verification, accepts real deliveries through the stack, with every header
and body field its seed names present and correct; bad formats are refused and change
nothing; the built-ins are listed at /api/v1/formats."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from conftest import ReceivedRequest

EVENT = "user.created"
DATA = {"user_id": 123, "email": "user@example.com", "nested": {"k": [1, "two"]}}


def iso8601(s: str) -> datetime:
    """Fails unless s is an ISO-8601 date-time with a zone."""
    t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    assert t.tzinfo is not None, s
    return t


# --- the seeds' receivers: each returns 200 only if the seed's own checks pass -----------


def stacksos_receiver(shared_secret: str):
    """Seed 000: x-stacksos-signature is sha256=<hex HMAC-SHA256 of the raw body>, keyed
    with the subscription's shared secret."""
    def check(req: ReceivedRequest) -> int:
        want = "sha256=" + hmac.new(shared_secret.encode(), req.body, hashlib.sha256).hexdigest()
        return 200 if hmac.compare_digest(req.headers.get("x-stacksos-signature", ""), want) else 401
    return check


def epic81_receiver(webhook_secret: str):
    """Seed 003's handler, its verify_webhook copied as documented."""
    def verify_webhook(payload, signature, secret):
        expected = hmac.new(
            secret.encode(),
            payload.encode(),
            hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(signature, expected)

    def check(req: ReceivedRequest) -> int:
        signature = req.headers.get('X-Webhook-Signature')
        is_valid = verify_webhook(req.body.decode(), signature or "", webhook_secret)
        return 200 if is_valid else 401
    return check


def hmac_hex_receiver(header: str, prefix: str, secret: str):
    """Seeds 002 and 004: an HMAC-SHA256 of the body in `header` (002: "sha256=<hex>")."""
    def check(req: ReceivedRequest) -> int:
        want = prefix + hmac.new(secret.encode(), req.body, hashlib.sha256).hexdigest()
        return 200 if hmac.compare_digest(req.headers.get(header, ""), want) else 401
    return check


def test_each_seed_receiver_accepts_deliveries_in_its_format(hookline, make_receiver):
    hookline.ensure_event_types([EVENT])

    # Seed 000 through its own route: the stacksos format is the default there, and a
    # plain shared secret keys x-stacksos-signature.
    stacks_secret = "stacks-plain-shared-secret"
    stacks = make_receiver(responder=stacksos_receiver(stacks_secret))
    r = hookline.api("POST", "/api/admin/developer/webhooks",
                     json={"action": "create", "url": stacks.url, "events": [EVENT],
                           "secret": stacks_secret, "active": True})
    assert r.status_code == 201, r.text
    stacks_wh = r.json()
    assert stacks_wh["format"] == "stacksos"
    assert stacks_secret not in r.text, "the shared secret is not echoed"
    sealed = hookline.sql("SELECT format->>'secret' FROM webhooks WHERE id = %s", stacks_wh["id"])
    assert sealed[0][0].startswith("hlenc:v1:") and stacks_secret not in sealed[0][0]

    sp_secret = "systemprompt-shared-secret123"
    sp = make_receiver(responder=hmac_hex_receiver("X-Webhook-Signature", "sha256=", sp_secret))
    sp_wh = hookline.create_webhook(sp.url, [EVENT],
                                    format={"name": "systemprompt", "secret": sp_secret})
    assert sp_wh["format"] == "systemprompt"

    # Seed 003: the receiver holds the secret the API handed out and HMACs it as text.
    epic = make_receiver()
    epic_wh = hookline.create_webhook(epic.url, [EVENT], format="epic81")
    epic.responder = epic81_receiver(epic_wh["secret"])

    xv_secret = "xavyo-shared-secret-0004"
    xv = make_receiver(responder=hmac_hex_receiver("X-Webhook-Signature", "sha256=", xv_secret))
    xv_wh = hookline.create_webhook(xv.url, [EVENT], format={"name": "xavyo", "secret": xv_secret})

    r = hookline.api("POST", "/api/v1/events",
                     json={"event": EVENT, "data": DATA, "actor_id": 42,
                           "occurred_at": "2026-02-25T15:00:00.000Z",
                           "metadata": {"source": "cli"}},
                     headers={"X-Request-Id": "req-formats-1"})
    assert r.status_code == 202, r.text
    event_id = r.json()["id"]

    got = {name: rcv.wait_for(1, timeout=30)[0]
           for name, rcv in (("stacksos", stacks), ("systemprompt", sp), ("epic81", epic),
                             ("xavyo", xv))}
    for req in got.values():
        assert req.headers["Content-Type"] == "application/json"

    # Seed 000: body and headers.
    req = got["stacksos"]
    assert stacksos_receiver(stacks_secret)(req) == 200
    body = req.json()
    assert list(body) == ["id", "event", "tenantId", "requestId", "actorId", "occurredAt",
                          "payload"]
    assert body["event"] == EVENT and body["tenantId"] == hookline.tenant
    assert body["requestId"] == "req-formats-1" and body["actorId"] == 42
    assert body["occurredAt"] == "2026-02-25T15:00:00.000Z" and body["payload"] == DATA
    assert req.headers["x-stacksos-event"] == EVENT
    assert req.headers["x-stacksos-delivery-id"] == body["id"] and body["id"] != event_id
    assert "webhook-signature" in req.headers, "Standard Webhooks signing stays on"

    # Seed 002: headers and body.
    req = got["systemprompt"]
    assert hmac_hex_receiver("X-Webhook-Signature", "sha256=", sp_secret)(req) == 200
    assert req.headers["User-Agent"] == "SystemPrompt-Webhook/1.0"
    assert req.headers["X-Webhook-Event"] == EVENT
    assert req.headers["X-Webhook-Id"] == sp_wh["id"]
    iso8601(req.headers["X-Webhook-Timestamp"])
    body = req.json()
    assert list(body) == ["webhook_id", "event", "timestamp", "data", "metadata"]
    assert body["webhook_id"] == sp_wh["id"] and body["event"] == EVENT
    assert body["data"] == DATA and body["metadata"] == {"source": "cli"}
    assert iso8601(body["timestamp"]) == iso8601(req.headers["X-Webhook-Timestamp"])

    # Seed 003: bare hex signature, checked by the seed's verify_webhook.
    req = got["epic81"]
    assert epic81_receiver(epic_wh["secret"])(req) == 200
    assert epic81_receiver(epic_wh["secret"] + "x")(req) == 401, "the check can fail"
    body = req.json()
    assert list(body) == ["event", "timestamp", "data", "webhook_id"]
    assert body["event"] == EVENT and body["data"] == DATA and body["webhook_id"] == epic_wh["id"]
    iso8601(body["timestamp"])

    # Seed 004: event fields and headers.
    req = got["xavyo"]
    assert hmac_hex_receiver("X-Webhook-Signature", "sha256=", xv_secret)(req) == 200
    body = req.json()
    assert list(body) == ["event_id", "event_type", "tenant_id", "actor_id", "timestamp", "data"]
    assert body["event_id"] == event_id and body["event_type"] == EVENT
    assert body["tenant_id"] == hookline.tenant and body["actor_id"] == 42 and body["data"] == DATA
    iso8601(body["timestamp"])
    assert req.headers["X-Webhook-ID"] and iso8601(req.headers["X-Webhook-Timestamp"])

    # A receiver that refused would have had retries: each got exactly one request.
    for rcv in (stacks, sp, epic, xv):
        assert len(rcv.snapshot()) == 1

    # Seed 000's PUT with a new plain secret: the next delivery is signed with it.
    new_secret = "stacks-rotated-shared-secret"
    r = hookline.api("PUT", "/api/admin/developer/webhooks",
                     json={"id": stacks_wh["id"], "secret": new_secret})
    assert r.status_code == 200 and r.json()["format"] == "stacksos", r.text
    stacks.responder = stacksos_receiver(new_secret)
    r = hookline.api("POST", "/api/admin/developer/webhooks",
                     json={"action": "test", "id": stacks_wh["id"]})
    assert r.status_code == 202, r.text
    req = stacks.wait_for(2, timeout=30)[1]
    assert stacksos_receiver(new_secret)(req) == 200
    assert req.json()["event"] == "system.webhook.test"
    assert req.headers["x-stacksos-event"] == "system.webhook.test"


def test_custom_format_templates_and_standard_stays_standard(hookline, make_receiver):
    hookline.ensure_event_types([EVENT])
    custom = make_receiver()
    fmt = {"body": {"kind": "{{event}}", "user": "{{data/user_id}}", "when": "{{timestamp:unix}}",
                    "text": "<{{data/email}}> by {{actor_id}}", "missing": "{{data/nope}}",
                    "const": [1, {"a": None}]},
           "headers": {"X-Kind": "{{event}}", "X-Tenant": "t={{tenant}}"},
           "user_agent": "Acme-Hooks/2.0",
           "signature": {"header": "X-Acme-Sig", "prefix": "", "encoding": "base64",
                         "key": "whsec"}}
    wh = hookline.create_webhook(custom.url, [EVENT], format=fmt)
    assert wh["format"] == fmt, "a custom format is returned as given"
    std = make_receiver()
    std_wh = hookline.create_webhook(std.url, [EVENT])
    assert std_wh["format"] == "standard"

    hookline.post_event(EVENT, {"user_id": 7, "email": "a\"b@example.com"}, actor_id=9)
    req = custom.wait_for(1, timeout=30)[0]
    body = req.json()
    assert body["kind"] == EVENT and body["user"] == 7 and isinstance(body["when"], int)
    assert body["text"] == '<a"b@example.com> by 9' and body["missing"] is None
    assert body["const"] == [1, {"a": None}]
    assert req.headers["X-Kind"] == EVENT and req.headers["X-Tenant"] == f"t={hookline.tenant}"
    assert req.headers["User-Agent"] == "Acme-Hooks/2.0"
    key = base64.b64decode(wh["secret"][len("whsec_"):])
    want = base64.b64encode(hmac.new(key, req.body, hashlib.sha256).digest()).decode()
    assert req.headers["X-Acme-Sig"] == want
    assert "X-Webhook-Signature" not in req.headers, "the format replaces the legacy headers"

    req = std.wait_for(1, timeout=30)[0]
    assert list(req.json())[:5] == ["id", "event", "timestamp", "tenant", "webhook_id"]
    assert req.headers["User-Agent"].startswith("Hookline/")
    assert req.headers["X-Webhook-Signature"].startswith("sha256=")

    # PATCH switches the format; "standard" (or null) goes back to today's body.
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}", json={"format": "xavyo"})
    assert r.status_code == 200 and r.json()["format"] == "xavyo", r.text
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}", json={"format": "standard"})
    assert r.status_code == 200 and r.json()["format"] == "standard", r.text
    hookline.post_event(EVENT, {"user_id": 8})
    req = custom.wait_for(2, timeout=30)[1]
    assert req.json()["webhook_id"] == wh["id"] and "X-Kind" not in req.headers


def test_bad_formats_are_refused_and_change_nothing(hookline, receiver):
    hookline.ensure_event_types([EVENT])
    r = hookline.api("GET", "/api/v1/formats")
    assert r.status_code == 200, r.text
    names = [f["name"] for f in r.json()["items"]]
    assert names == ["standard", "stacksos", "systemprompt", "epic81", "xavyo"]
    one = hookline.api("GET", "/api/v1/formats/stacksos").json()
    assert one["signature"]["header"] == "x-stacksos-signature"
    assert hookline.api("GET", "/api/v1/formats/nope").status_code == 404

    bad = [
        ("nope", "/format", "no built-in format 'nope'"),
        ({"body": {"a": ["{{evnt}}"]}}, "/format/body/a/0", "unknown placeholder"),
        ({"body": "{{data"}, "/format/body", "unterminated"),
        ({"body": {"x": "{{event/a}}"}}, "/format/body/x", "takes no JSON pointer"),
        ({"headers": {"Content-Type": "text/plain"}}, "/format/headers/Content-Type", "set by Hookline"),
        ({"headers": {"X-A": "{{nope}}"}}, "/format/headers/X-A", "unknown placeholder"),
        ({"signature": {"header": "X-S", "encoding": "hex2"}}, None, None),
        ({"name": "stacksos", "body": {}}, "/format/name", "only 'secret'"),
        ({"name": "stacksos", "secret": "short"}, None, None),
    ]
    for fmt, pointer, detail in bad:
        r = hookline.api("POST", "/api/v1/webhooks",
                         json={"url": receiver.url, "events": [EVENT], "format": fmt})
        assert r.status_code in (400, 422), f"{fmt}: {r.status_code} {r.text}"
        assert r.headers["Content-Type"].startswith("application/problem+json")
        if pointer:
            errs = r.json()["errors"]
            assert any(e["pointer"] == pointer and detail in e["detail"] for e in errs), (fmt, errs)
    r = hookline.api("POST", "/api/v1/webhooks",
                     json={"url": receiver.url, "events": [EVENT], "format": "stacksos",
                           "headers": {"X-StacksOS-Event": "x"}})
    assert r.status_code == 400, r.text
    assert any(e["pointer"] == "/format" and "x-stacksos-event" in e["detail"]
               for e in r.json()["errors"]), r.text
    assert hookline.api("GET", "/api/v1/webhooks").json()["data"] == [], "nothing was stored"

    wh = hookline.create_webhook(receiver.url, [EVENT], format="epic81")
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}",
                     json={"format": {"body": {"a": "{{nope}}"}}, "url": receiver.url + "/x"})
    assert r.status_code == 400, r.text
    after = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json()
    assert after["format"] == "epic81" and after["url"] == receiver.url
    r = hookline.api("POST", "/api/admin/developer/webhooks",
                     json={"action": "create", "url": receiver.url, "events": [EVENT],
                           "format": "nope"})
    assert r.status_code == 400, r.text
