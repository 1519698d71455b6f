"""Delivery ids (`webhook-id`, docs/architecture.md "Delivery ids"): a pure function of
tenant, event id and webhook id, in the derivation the event asks for.

- Events the gateway accepts carry `hookline-id-version: 2`; with a generated (UUIDv7)
  event id their delivery ids start with that id's millisecond time, so they sort by
  acceptance and the attempt log's primary keys grow at one edge.
- Events without the header (services producing straight to Kafka) and client ids that are
  not UUIDv7 keep version 1: the first 128 bits of SHA-256.
- Either way an event sent again keeps its id, which is what receivers dedupe on.

The expected ids are computed here from the documented derivation (hashlib), not with
Hookline's code."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

from waiting import wait_for


def digest(tenant: str, event_id: str, webhook_id: str) -> str:
    return hashlib.sha256(f"{tenant}\0{event_id}\0{webhook_id}\0".encode()).hexdigest()


def id_v1(tenant: str, event_id: str, webhook_id: str) -> str:
    return "msg_" + digest(tenant, event_id, webhook_id)[:32]


def id_v2(tenant: str, event_id: str, webhook_id: str) -> str:
    return "msg_" + event_id.replace("-", "")[:12].lower() + digest(tenant, event_id, webhook_id)[:20]


def uuid7(ms: int) -> str:
    """A UUIDv7 (RFC 9562) with the given millisecond time."""
    rnd = int.from_bytes(uuid.uuid4().bytes, "big")
    v = (ms << 80) | (0x7 << 76) | (rnd & ((1 << 12) - 1)) << 64 | (0b10 << 62) | (rnd & ((1 << 62) - 1))
    return str(uuid.UUID(int=v))


def by_event(reqs) -> dict[str, str]:
    return {r.json()["id"]: r.headers["webhook-id"] for r in reqs}


def test_gateway_events_get_time_ordered_delivery_ids(hookline, receiver, make_receiver,
                                                      kafka_consumer_factory):
    other = make_receiver()
    a = hookline.create_webhook(receiver.url, ["order.created"])
    b = hookline.create_webhook(other.url, ["order.created"])
    first = hookline.post_event("order.created", {"n": 1})
    time.sleep(0.01)  # a later millisecond for the second event's UUIDv7
    second = hookline.post_event("order.created", {"n": 2})
    client = hookline.post_event("order.created", {"n": 3}, id="order-3")

    got_a = by_event(receiver.wait_for(3, timeout=15))
    got_b = by_event(other.wait_for(3, timeout=15))
    t = hookline.tenant
    for eid in (first, second):
        assert got_a[eid] == id_v2(t, eid, a["id"]), (eid, got_a[eid])
        assert got_b[eid] == id_v2(t, eid, b["id"]), (eid, got_b[eid])
        # the event's time leads: both webhooks' ids of one event share it
        assert got_a[eid][:16] == got_b[eid][:16] == "msg_" + eid.replace("-", "")[:12]
    # Later events sort later, whatever the webhook.
    assert max(got_a[first], got_b[first]) < min(got_a[second], got_b[second])
    # A client's own id that is no UUIDv7 keeps the hash alone.
    assert client == "order-3"
    assert got_a[client] == id_v1(t, client, a["id"])
    assert got_b[client] == id_v1(t, client, b["id"])

    # The log and the API know the deliveries by the same ids.
    r = wait_for(lambda: (r := hookline.api("GET", f"/api/v1/deliveries/{got_a[second]}"))
                 .status_code == 200 and r, what="the delivery in the log")
    d = r.json()
    assert d["event"]["id"] == second and d["webhook_id"] == a["id"]

    # The header that asks for it is on every event the gateway wrote.
    msgs = kafka_consumer_factory(hookline.topic("events")).messages(want=3)
    assert len(msgs) == 3
    for m in msgs:
        assert dict(m.headers() or [])["hookline-id-version"] == b"2", m.headers()


def test_directly_produced_events_choose_their_derivation_by_header(hookline, receiver):
    from confluent_kafka import Producer

    w = hookline.create_webhook(receiver.url, ["order.created"])
    hookline.settle(direct_events=True)
    t = hookline.tenant
    now = int(time.time() * 1000)
    plain, stamped = uuid7(now - 5), uuid7(now)
    p = Producer({"bootstrap.servers": hookline.infra.brokers, "enable.idempotence": True})

    def send(eid: str, headers: list) -> None:
        env = {"id": eid, "event": "order.created", "tenant": t,
               "timestamp": "2026-12-08T00:00:00.000Z", "data": {"id": eid}}
        p.produce(hookline.topic("events"), key=eid, value=json.dumps(env), headers=headers)

    send(plain, [])
    send(stamped, [("hookline-id-version", b"2")])
    # Produced again (a producer's retry after a lost acknowledgement): the same event, so
    # the same id, and the receiver's dedupe on webhook-id drops it.
    send(stamped, [("hookline-id-version", b"2")])
    # A header with any other value asks for nothing.
    odd = uuid7(now + 5)
    send(odd, [("hookline-id-version", b"3")])
    assert p.flush(10) == 0

    reqs = receiver.wait_for(4, timeout=15)
    ids = {}
    for r in reqs:
        ids.setdefault(r.json()["id"], set()).add(r.headers["webhook-id"])
    assert ids[plain] == {id_v1(t, plain, w["id"])}
    assert ids[stamped] == {id_v2(t, stamped, w["id"])}, "one id for both copies"
    assert ids[odd] == {id_v1(t, odd, w["id"])}
    assert sum(1 for r in reqs if r.json()["id"] == stamped) == 2
    wait_for(lambda: hookline.api("GET", f"/api/v1/deliveries/{id_v2(t, stamped, w['id'])}")
             .status_code == 200, what="the stamped event's delivery in the log")
