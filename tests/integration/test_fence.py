"""The read-your-writes fence: an event accepted after a tenant or webhook change is matched
against a snapshot that holds the change, on every dispatcher, whatever the timing
(docs/architecture.md, "Subscriptions and the fence").

Each test makes the change through the API and posts the event at once, with no settle
time, many times in a row, with two dispatchers."""

from __future__ import annotations

import secrets
import time

import pytest

from conftest import Hookline, Receiver
from waiting import wait_for

ROUNDS = 20


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _event_ids(requests_) -> set[str]:
    return {r.json()["id"] for r in requests_}


def _wait_ids(receiver: Receiver, want: set[str], timeout: float = 30.0) -> set[str]:
    receiver.wait_until(lambda reqs: want <= _event_ids(reqs), timeout)
    return _event_ids(receiver.snapshot())


@pytest.mark.dispatchers(2)
def test_new_tenant_key_and_webhook_then_event_at_once(hookline: Hookline, receiver: Receiver):
    """The newcomer's path: a tenant, its key and a webhook, then one event straight away.
    Before the fence the event went to the dead-letter topic as 'unknown tenant'."""
    posted: set[str] = set()
    for i in range(ROUNDS):
        tenant = f"fence-{i}-{secrets.token_hex(3)}"
        hookline.create_tenant(tenant)
        key = hookline.make_key("tenant_admin", tenant=tenant)
        r = hookline.api("POST", "/api/v1/event-types", json={"name": "order.created"},
                         headers=_auth(key))
        assert r.status_code == 201, r.text
        r = hookline.api("POST", "/api/v1/webhooks", headers=_auth(key),
                         json={"url": receiver.url, "events": ["order.created"]})
        assert r.status_code == 201, r.text
        r = hookline.api("POST", "/api/v1/events", headers=_auth(key),
                         json={"event": "order.created", "data": {"round": i}})
        assert r.status_code == 202, r.text
        posted.add(r.json()["id"])
    got = _wait_ids(receiver, posted)
    assert posted <= got, f"{len(posted - got)} of {ROUNDS} accepted events never delivered"
    dead = hookline.sql("SELECT count(*) FROM deliveries WHERE status = 'failed'")
    assert dead[0][0] == 0


@pytest.mark.dispatchers(2)
def test_webhook_created_right_before_an_event_gets_it(hookline: Hookline, make_receiver):
    hookline.ensure_event_types(["invoice.paid"])
    receivers = [make_receiver() for _ in range(ROUNDS)]
    posted = []
    for i, rc in enumerate(receivers):
        r = hookline.api("POST", "/api/v1/webhooks",
                         json={"url": rc.url, "events": ["invoice.paid"]})
        assert r.status_code == 201, r.text
        posted.append(hookline.post_event("invoice.paid", {"round": i}))
    # Webhook i exists from event i on, so it gets events i..ROUNDS-1. (It may also get
    # older ones: an event is matched at fan-out, against subscriptions at least as new
    # as at its acceptance.)
    for i, rc in enumerate(receivers):
        want = set(posted[i:])
        got = _wait_ids(rc, want)
        assert want <= got, f"webhook {i} missed {len(want - got)} events posted after it"


@pytest.mark.dispatchers(2)
def test_pause_and_resume_right_before_an_event(hookline: Hookline, receiver: Receiver):
    """Resumed right before an event: delivered. Paused right before one: skipped (and so
    replayable), never sent. Each outcome is awaited before the next change, since a
    delivery uses the webhook as it is when the delivery runs."""
    hookline.ensure_event_types(["ping.sent"])
    wh = hookline.create_webhook(receiver.url, ["ping.sent"])
    held = set()
    for i in range(ROUNDS):
        r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/resume")
        assert r.status_code == 200, r.text
        sent = hookline.post_event("ping.sent", {"round": i, "state": "active"})
        got = _wait_ids(receiver, {sent}, timeout=15)
        assert sent in got, f"round {i}: the event right after a resume was not delivered"

        r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/pause")
        assert r.status_code == 200, r.text
        paused = hookline.post_event("ping.sent", {"round": i, "state": "paused"})
        held.add(paused)

        def skipped() -> bool:
            r = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}/deliveries?status=skipped")
            return any(d["event_id"] == paused for d in r.json()["data"])
        wait_for(skipped, 15, f"round {i}: the event right after a pause recorded as skipped")
    got = _event_ids(receiver.snapshot())
    assert not (got & held), f"{len(got & held)} events posted while paused were delivered"


@pytest.mark.dispatchers(2)
def test_repointed_webhook_sends_the_next_event_to_its_new_url(hookline: Hookline, make_receiver):
    hookline.ensure_event_types(["item.moved"])
    a, b = make_receiver(), make_receiver()
    wh = hookline.create_webhook(a.url, ["item.moved"])
    sent_to = {a.url: set(), b.url: set()}
    for i in range(ROUNDS):
        target = b if i % 2 == 0 else a
        r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}", json={"url": target.url})
        assert r.status_code == 200, r.text
        ev = hookline.post_event("item.moved", {"round": i})
        sent_to[target.url].add(ev)
        got = _wait_ids(target, {ev}, timeout=15)
        assert ev in got, f"round {i}: the event right after the re-point missed the new URL"
    got_a, got_b = _event_ids(a.snapshot()), _event_ids(b.snapshot())
    assert not (got_a & sent_to[b.url]) and not (got_b & sent_to[a.url]), (
        "an event went to the URL the webhook had before the re-point")


def test_event_of_an_unknown_tenant_produced_straight_to_kafka_is_dead_lettered(
        hookline: Hookline, kafka_consumer_factory):
    """Without a stamp the dispatcher asks PostgreSQL once before calling it poison, and
    then it still goes to the dead-letter topic: the fence never swallows a message."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": hookline.infra.brokers})
    ev_id = "01890000-0000-7000-8000-" + secrets.token_hex(6)
    envelope = ('{"id":"%s","event":"x.y","tenant":"no-such-tenant","timestamp":'
                '"2026-01-01T00:00:00Z","data":{}}' % ev_id)
    p.produce(hookline.topic("events"), key=ev_id, value=envelope.encode())
    assert p.flush(10) == 0
    dlq = kafka_consumer_factory(hookline.topic("dlq"))
    deadline = time.monotonic() + 30
    reasons = []
    while not reasons and time.monotonic() < deadline:
        reasons = [m for m in dlq.messages(2.0) if ev_id.encode() in (m.value() or b"")]
    assert reasons, "an event of an unknown tenant never reached the dead-letter topic"
    assert b"unknown tenant" in reasons[0].value()
