"""The <prefix>.events topic contract (schemas/kafka.md, schemas/event.schema.json) for
producers that bypass the gateway: dispatchers validate every message against the schema,
dead-letter invalid ones with the validator's errors and deliver valid ones; the gateway's
own events meet the same schema; the C example producer works as documented."""

from __future__ import annotations

import json
import subprocess

from jsonschema import Draft202012Validator, FormatChecker

from conftest import BUILD, REPO

SCHEMA = json.loads((REPO / "schemas" / "event.schema.json").read_text())
PRODUCE_EVENT = BUILD / "examples" / "produce_event"


def producer(hookline):
    from confluent_kafka import Producer

    return Producer({"bootstrap.servers": hookline.infra.brokers, "acks": "all",
                     "enable.idempotence": True})


def test_directly_produced_invalid_event_is_dead_lettered_with_errors_and_never_delivered(
        hookline, receiver, kafka_consumer_factory):
    hookline.create_webhook(receiver.url, ["order.created"])
    hookline.settle(direct_events=True)
    ts = "2026-01-01T00:00:00.000Z"
    valid = {"id": "direct-ok", "event": "order.created", "tenant": hookline.tenant,
             "timestamp": ts, "data": {"n": 1}}
    # Parses as an event (hl_event_parse would take it) but breaks the schema twice: a
    # timestamp that is no date-time and a field the envelope does not have.
    invalid = {"id": "direct-bad", "event": "order.created", "tenant": hookline.tenant,
               "timestamp": "yesterday", "colour": "red", "data": {"n": 2}}
    p = producer(hookline)
    for env in (invalid, valid):
        p.produce(hookline.topic("events"), key=env["id"], value=json.dumps(env))
    assert p.flush(10) == 0

    got = receiver.wait_for(1, timeout=15)
    assert [r.json()["id"] for r in got] == ["direct-ok"]
    dlq = [json.loads(m.value()) for m in kafka_consumer_factory(hookline.topic("dlq")).messages(3)]
    dead = [d for d in dlq if d.get("kind") == "poison"]
    assert len(dead) == 1, dlq
    d = dead[0]
    assert json.loads(d["payload"])["id"] == "direct-bad"
    assert d["topic"] == "events" and d["offset"] >= 0
    assert "event.schema.json" in d["reason"]
    found = {(e["pointer"], e["keyword"]) for e in d["errors"]}
    assert ("/timestamp", "format") in found, d["errors"]
    assert any(k == "additionalProperties" for _, k in found), d["errors"]
    # Never delivered, even later: the offset moved on past it.
    assert not receiver.wait_until(lambda reqs: len(reqs) > 1, timeout=2)


def test_not_json_is_dead_lettered_without_errors_list(hookline, kafka_consumer_factory):
    p = producer(hookline)
    p.produce(hookline.topic("events"), key="x", value=b"{not json")
    assert p.flush(10) == 0
    dlq = [json.loads(m.value()) for m in kafka_consumer_factory(hookline.topic("dlq")).messages(4)]
    assert len(dlq) == 1 and dlq[0]["kind"] == "poison", dlq
    assert dlq[0]["reason"].startswith("not JSON") and "errors" not in dlq[0]


def test_gateway_events_match_the_event_schema(hookline, kafka_consumer_factory):
    hookline.post_event("order.created", {"n": 1})
    hookline.api("POST", "/api/v1/events", json={
        "event": "order.paid", "id": "full-1", "data": [1, "x", None],
        "metadata": {"source": "shop"}, "occurred_at": "2026-01-01T10:00:00+02:00",
        "actor_id": 7}, headers={"X-Request-Id": "req-1"})
    hookline.api("POST", "/api/v1/events/batch", json={"events": [
        {"event": "a.b", "data": None, "actor_id": "u1", "metadata": None}]})
    msgs = kafka_consumer_factory(hookline.topic("events")).messages(3)
    assert len(msgs) == 3
    validator = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
    for m in msgs:
        env = json.loads(m.value())
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(env)]
        assert not errors, (env, errors)
        assert m.key().decode() == env["id"], "key = event id"


def test_c_example_producer_event_is_delivered(hookline, receiver):
    hookline.create_webhook(receiver.url, ["order.created"])
    hookline.settle(direct_events=True)
    out = subprocess.run(
        [str(PRODUCE_EVENT), hookline.infra.brokers, hookline.topic("events"), hookline.tenant,
         "order.created", '{"order_id": 42}', "c-example-1"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "c-example-1"
    body = receiver.wait_for(1, timeout=15)[0].json()
    assert body["id"] == "c-example-1" and body["data"] == {"order_id": 42}
    assert body["tenant"] == hookline.tenant
