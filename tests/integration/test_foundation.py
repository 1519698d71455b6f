"""Foundation behaviour: ingest, fan-out by subscription, signing, validation, and
at-least-once delivery across a dispatcher crash.

Signatures are verified here from first principles (hmac, hashlib, base64), not with
Hookline's own code, so the tests pin the documented scheme.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

PROBLEM_JSON = "application/problem+json"


# --- signature checks, written from the Standard Webhooks spec -------------------------


def secret_key(secret: str) -> bytes:
    assert secret.startswith("whsec_"), secret
    return base64.b64decode(secret[len("whsec_"):])


def assert_standard_signature(secret: str, headers, body: bytes) -> None:
    msg_id = headers["webhook-id"]
    ts = headers["webhook-timestamp"]
    assert ts.isdigit(), f"webhook-timestamp is not unix seconds: {ts!r}"
    assert abs(int(ts) - time.time()) < 300, f"webhook-timestamp {ts} is not now"
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    want = base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()
    entries = headers["webhook-signature"].split(" ")
    v1 = [e.split(",", 1)[1] for e in entries if e.startswith("v1,")]
    assert v1, f"no v1 signature in {headers['webhook-signature']!r}"
    assert any(hmac.compare_digest(sig, want) for sig in v1), "no webhook-signature entry verifies"


def assert_legacy_signature(secret: str, headers, body: bytes) -> None:
    want = "sha256=" + hmac.new(secret_key(secret), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Webhook-Signature"], want), "X-Webhook-Signature does not verify"


def assert_problem(r: requests.Response, status: int = 400) -> dict:
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == PROBLEM_JSON, r.headers
    p = r.json()
    for k in ("type", "title", "status", "detail"):
        assert k in p, f"problem lacks {k!r}: {p}"
    assert p["status"] == status
    return p


def event_ids(reqs) -> list[str]:
    return [r.json()["id"] for r in reqs]


# --- tests -------------------------------------------------------------------------------


def test_webhook_receives_signed_event_within_5s(hookline, receiver):
    hookline.ensure_event_types(["order.created"])
    r = hookline.api("POST", "/api/v1/webhooks",
                     json={"url": receiver.url, "events": ["order.created"]})
    assert r.status_code == 201, r.text
    wh = r.json()
    assert wh["id"]
    assert wh["secret"].startswith("whsec_")
    assert wh["url"] == receiver.url and wh["events"] == ["order.created"]
    hookline.settle()

    r = hookline.api("POST", "/api/v1/events", json={"event": "order.created", "data": {"n": 1}})
    assert r.status_code == 202, r.text
    event_id = r.json()["id"]
    posted = time.monotonic()

    [req] = receiver.wait_for(1, timeout=5)
    print(f"delivered {req.arrived - posted:.3f} s after the 202")
    time.sleep(1.0)
    assert len(receiver.snapshot()) == 1, "the event was delivered more than once"

    assert req.method == "POST"
    body = req.json()
    assert body["id"] == event_id
    assert body["event"] == "order.created"
    assert body["data"] == {"n": 1}
    assert body["webhook_id"] == wh["id"]
    for k in ("timestamp", "tenant", "metadata"):
        assert k in body, f"body lacks {k!r}: {body}"
    assert body["timestamp"]

    h = req.headers
    assert_standard_signature(wh["secret"], h, req.body)
    assert_legacy_signature(wh["secret"], h, req.body)
    assert h["X-Webhook-Event"] == "order.created"
    assert h["X-Webhook-Id"]
    assert h["X-Webhook-Timestamp"]
    assert h["User-Agent"].startswith("Hookline/"), h["User-Agent"]
    assert h.get("Content-Type", "").startswith("application/json")


def test_webhook_for_other_events_gets_nothing(hookline, make_receiver):
    orders, invoices, everything = make_receiver(), make_receiver(), make_receiver()
    hookline.create_webhook(orders.url, ["order.*"])
    hookline.create_webhook(invoices.url, ["invoice.paid"])
    hookline.create_webhook(everything.url, ["*"])
    hookline.settle()

    order_id = hookline.post_event("order.created", {"n": 1})
    assert event_ids(orders.wait_for(1, timeout=5)) == [order_id]
    invoice_id = hookline.post_event("invoice.paid", {"n": 2})
    assert event_ids(invoices.wait_for(1, timeout=5)) == [invoice_id]
    assert sorted(event_ids(everything.wait_for(2, timeout=5))) == sorted([order_id, invoice_id])

    # Give a wrong delivery time to show up before declaring there is none.
    time.sleep(3)
    assert event_ids(orders.snapshot()) == [order_id]
    assert event_ids(invoices.snapshot()) == [invoice_id]
    assert len(everything.snapshot()) == 2


def test_malformed_event_is_400_and_nothing_produced(hookline, receiver, kafka_consumer_factory):
    hookline.create_webhook(receiver.url, ["*"])
    bad = {
        "not JSON": b"{not json",
        "JSON array": b'[{"event": "order.created", "data": {}}]',
        "missing event": json.dumps({"data": {"n": 1}}).encode(),
        "event not a string": json.dumps({"event": 5, "data": {"n": 1}}).encode(),
        "missing data": json.dumps({"event": "order.created"}).encode(),
    }
    for what, body in bad.items():
        r = hookline.api("POST", "/api/v1/events", data=body,
                         headers={"Content-Type": "application/json"})
        p = assert_problem(r)
        print(f"{what}: {p['title']}: {p['detail']}")

    msgs = kafka_consumer_factory(hookline.topic("events")).messages(duration=3.0)
    assert msgs == [], f"{len(msgs)} message(s) reached {hookline.topic('events')}"
    assert receiver.snapshot() == []


def test_webhook_create_validation(hookline, receiver):
    bad = {
        "missing url": {"events": ["*"]},
        "url not http(s)": {"url": "ftp://127.0.0.1/hook", "events": ["*"]},
        "url not a url": {"url": "not a url", "events": ["*"]},
        "events empty": {"url": receiver.url, "events": []},
        "events not an array": {"url": receiver.url, "events": "order.created"},
        "events missing": {"url": receiver.url},
    }
    for what, body in bad.items():
        p = assert_problem(hookline.api("POST", "/api/v1/webhooks", json=body))
        print(f"{what}: {p['title']}: {p['detail']}")

    a = hookline.create_webhook(receiver.url, ["order.created"], description="a")
    b = hookline.create_webhook(receiver.url + "?b", ["*"])

    r = hookline.api("GET", "/api/v1/webhooks")
    assert r.status_code == 200, r.text
    page = r.json()
    assert "next_cursor" in page and page["next_cursor"] is None
    listed = {w["id"]: w for w in page["data"]}
    assert set(listed) == {a["id"], b["id"]}, "invalid requests must not create webhooks"
    for w in page["data"]:
        assert "secret" not in w, "the secret is returned only at creation"
    assert listed[a["id"]]["url"] == receiver.url
    assert listed[a["id"]]["events"] == ["order.created"]
    assert listed[a["id"]]["description"] == "a"


def test_dispatcher_sigkill_loses_nothing(hookline, receiver):
    total, kill_after = 1000, 200
    hookline.create_webhook(receiver.url, ["load.*"])
    hookline.settle()

    def arrived() -> set[str]:
        return set(event_ids(receiver.snapshot()))

    # Kill the dispatcher mid-stream, from a watcher, while events are still being posted.
    killed = threading.Event()

    def killer() -> None:
        if receiver.wait_until(lambda reqs: len(reqs) >= kill_after, timeout=60):
            hookline.kill_dispatcher(0, signal.SIGKILL)
            print(f"SIGKILLed dispatcher-0 after {len(arrived())} distinct events arrived")
            hookline.start_dispatcher(wait=False)
            killed.set()

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()

    local = threading.local()

    def post(i: int) -> str:
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.headers.update(hookline.default_headers)
        r = local.s.post(hookline.base_url + "/api/v1/events",
                         json={"event": "load.test", "data": {"i": i}}, timeout=30)
        assert r.status_code == 202, f"event {i}: {r.status_code} {r.text}"
        return r.json()["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        posted = set(pool.map(post, range(total)))
    assert len(posted) == total, "event ids must be unique"

    watcher.join(timeout=70)
    assert killed.is_set(), f"only {len(arrived())} events arrived before the kill deadline"

    # The dead member leaves the group only when its session times out, so allow for it.
    restarted = time.monotonic()
    ok = receiver.wait_until(lambda reqs: posted <= set(event_ids(reqs)), timeout=60)
    got = arrived()
    reqs = receiver.snapshot()
    print(f"{len(got & posted)}/{total} distinct events delivered, "
          f"{len(reqs) - len(got)} duplicate deliveries, "
          f"{time.monotonic() - restarted:.1f} s after the restart")
    assert ok, f"{len(posted - got)} accepted events never delivered"


def test_webhook_change_effective_for_the_next_event(hookline, make_receiver):
    # Prove the pipeline is live first, so what follows measures only the webhook change
    # reaching the dispatcher.
    warm = make_receiver()
    hookline.create_webhook(warm.url, ["warmup"])
    hookline.post_event("warmup", {})
    warm.wait_for(1, timeout=10)

    fresh = make_receiver()
    hookline.create_webhook(fresh.url, ["order.created"])
    # no wait: the read-your-writes fence makes the change live for the next event
    event_id = hookline.post_event("order.created", {"n": 1})
    assert event_ids(fresh.wait_for(1, timeout=5)) == [event_id]


def test_delivery_id_stable_and_headers(hookline, make_receiver):
    r1, r2 = make_receiver(), make_receiver()
    w1 = hookline.create_webhook(r1.url, ["order.created"])
    w2 = hookline.create_webhook(r2.url, ["order.*"])
    assert w1["secret"] != w2["secret"], "each webhook gets its own secret"
    hookline.settle()

    event_id = hookline.post_event("order.created", {"n": 1})
    [a] = r1.wait_for(1, timeout=5)
    [b] = r2.wait_for(1, timeout=5)
    assert a.json()["id"] == b.json()["id"] == event_id
    assert a.json()["webhook_id"] == w1["id"] and b.json()["webhook_id"] == w2["id"]
    assert a.headers["webhook-id"] and b.headers["webhook-id"]
    assert a.headers["webhook-id"] != b.headers["webhook-id"], "delivery id is per event x webhook"
    for req, wh in ((a, w1), (b, w2)):
        assert_standard_signature(wh["secret"], req.headers, req.body)
        assert_legacy_signature(wh["secret"], req.headers, req.body)
        assert req.headers["X-Webhook-Event"] == "order.created"
        assert req.headers["User-Agent"].startswith("Hookline/")
