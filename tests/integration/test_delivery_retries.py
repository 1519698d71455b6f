"""Delivery engine: retries through the retry topics, dead letters, the attempt log,
410 Gone, poison messages and per-webhook request settings.

Dispatchers run with short retry tiers (HOOKLINE_RETRY_TIERS_MS) so schedules take
seconds. Webhook settings not yet exposed by the API are set in SQL; the dispatchers pick
them up through NOTIFY like any other change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import signal
import time

FAST = {"HOOKLINE_RETRY_TIERS_MS": "200,1000,3000", "HOOKLINE_THROTTLE_MIN_DELAY_MS": "500",
        "HOOKLINE_RETRY_JITTER_PCT": "0"}


def fast_dispatcher(hookline) -> None:
    hookline.kill_dispatcher(0, sig=15)
    hookline.start_dispatcher(**FAST)


def set_policy(hookline, wh_id: str, **policy) -> None:
    hookline.sql("UPDATE webhooks SET retry_policy = retry_policy || %s::jsonb WHERE id = %s",
                 json.dumps(policy), wh_id)


def wait_sql(hookline, query: str, *params, want, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    rows = None
    while time.monotonic() < deadline:
        rows = hookline.sql(query, *params)
        if want(rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"{query}: {rows}")


def test_500_twice_then_200_is_delivered_on_attempt_3_with_growing_gaps(hookline, make_receiver):
    fast_dispatcher(hookline)
    answers = iter([500, 500])
    rcv = make_receiver(responder=lambda req: next(answers, 200))
    wh = hookline.create_webhook(rcv.url, ["order.created"])
    set_policy(hookline, wh["id"], strategy="exponential", initial_delay_ms=1000, max_delay_ms=5000)
    hookline.settle(sql_change=True)
    hookline.post_event("order.created", {"n": 1})
    reqs = rcv.wait_for(3, timeout=20)
    ids = {r.headers["webhook-id"] for r in reqs}
    assert len(ids) == 1, "webhook-id must be stable across retries"
    gaps = [reqs[1].arrived - reqs[0].arrived, reqs[2].arrived - reqs[1].arrived]
    # never early: 1 s then 2 s (late by at most a tier hop or two)
    assert gaps[0] >= 1.0 and gaps[1] >= 2.0 and gaps[1] > gaps[0], gaps
    rows = wait_sql(hookline, "SELECT status, attempts FROM deliveries", want=lambda r: r and r[0][0] == "succeeded")
    assert rows == [("succeeded", 3)]
    att = hookline.sql("SELECT attempt_no, http_status, error_class FROM delivery_attempts ORDER BY 1")
    assert att == [(1, 500, "http_status"), (2, 500, "http_status"), (3, 200, None)]


def test_failed_delivery_lands_in_dead_letter_topic_and_can_be_redriven(hookline, make_receiver,
                                                                      kafka_consumer_factory):
    fast_dispatcher(hookline)
    rcv = make_receiver(status=500)
    wh = hookline.create_webhook(rcv.url, ["order.created"])
    set_policy(hookline, wh["id"], strategy="fixed", max_attempts=3, initial_delay_ms=200, max_delay_ms=200)
    hookline.settle(sql_change=True)
    event_id = hookline.post_event("order.created", {"n": 2})
    rcv.wait_for(3, timeout=20)
    rows = wait_sql(hookline, "SELECT id, status, attempts, last_status_code FROM deliveries",
                    want=lambda r: r and r[0][1] == "failed")
    delivery_id = rows[0][0]
    assert rows[0][1:] == ("failed", 3, 500)
    att = hookline.sql("SELECT attempt_no, http_status FROM delivery_attempts ORDER BY 1")
    assert att == [(1, 500), (2, 500), (3, 500)]
    time.sleep(1.0)
    assert len(rcv.snapshot()) == 3, "no attempt after the last one"
    dlq = [json.loads(m.value()) for m in kafka_consumer_factory(hookline.topic("dlq")).messages(3)]
    dead = [d for d in dlq if d.get("kind") == "delivery"]
    assert len(dead) == 1
    assert dead[0]["delivery_id"] == delivery_id and dead[0]["attempt"] == 3
    assert dead[0]["event"]["id"] == event_id and dead[0]["webhook_id"] == wh["id"]
    assert "500" in dead[0]["last_error"]

    # Re-drive (schemas/README.md): the task with a fresh budget, to <prefix>.deliveries.
    rcv.status = 200
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": hookline.infra.brokers})
    task = {k: dead[0][k] for k in ("delivery_id", "tenant", "webhook_id", "event")}
    task.update(v=1, attempt=3, budget_base=3, due_ms=int(time.time() * 1000),
                created_ms=int(time.time() * 1000))
    p.produce(hookline.topic("deliveries"), key=wh["id"], value=json.dumps(task))
    p.flush(10)
    rcv.wait_for(4, timeout=15)
    rows = wait_sql(hookline, "SELECT status, attempts FROM deliveries",
                    want=lambda r: r and r[0][0] == "succeeded")
    assert rows == [("succeeded", 4)]


def test_410_gone_disables_the_webhook_at_once(hookline, make_receiver):
    fast_dispatcher(hookline)
    rcv = make_receiver(status=410)
    wh = hookline.create_webhook(rcv.url, ["order.created"])
    hookline.settle()
    hookline.post_event("order.created", {"n": 3})
    rcv.wait_for(1, timeout=10)
    wait_sql(hookline, "SELECT status, disabled_reason FROM webhooks WHERE id = %s", wh["id"],
             want=lambda r: r == [("disabled", "410 gone")])
    hookline.post_event("order.created", {"n": 4})
    wait_sql(hookline, "SELECT count(*) FROM deliveries WHERE status = 'skipped'",
             want=lambda r: r[0][0] == 1)
    time.sleep(1.5)
    assert len(rcv.snapshot()) == 1, "no attempt after 410"


def test_poison_message_goes_to_dead_letter_topic_between_valid_ones(hookline, receiver,
                                                                     kafka_consumer_factory):
    fast_dispatcher(hookline)
    hookline.create_webhook(receiver.url, ["order.created"])
    hookline.settle()
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": hookline.infra.brokers})
    ts = "2026-01-01T00:00:00.000Z"

    def ev(i):
        return json.dumps({"id": f"evt_{i}", "event": "order.created", "tenant": hookline.tenant,
                           "timestamp": ts, "data": {"i": i}})

    events = hookline.topic("events")
    p.produce(events, key="a", value=ev(1))
    p.produce(events, key="a", value=b"{not json")
    p.produce(events, key="a", value=json.dumps({"id": "x", "event": "order.created",
                                                 "tenant": "nobody", "timestamp": ts, "data": {}}))
    p.produce(events, key="a", value=ev(2))
    p.flush(10)
    reqs = receiver.wait_for(2, timeout=15)
    assert sorted(r.json()["id"] for r in reqs) == ["evt_1", "evt_2"]
    dlq = [json.loads(m.value()) for m in kafka_consumer_factory(hookline.topic("dlq")).messages(3)]
    reasons = sorted(d["reason"] for d in dlq if d["kind"] == "poison")
    assert len(reasons) == 2, dlq
    assert any("tenant" in r for r in reasons) and dlq[0]["offset"] >= 0


def test_webhook_method_headers_auth_and_signature_options_are_honoured(hookline, make_receiver):
    fast_dispatcher(hookline)
    rcv = make_receiver()
    old = "whsec_" + base64.b64encode(b"o" * 32).decode()
    wh = hookline.create_webhook(rcv.url, ["order.created"], secret=old)
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}", json={
        "method": "PUT", "headers": {"X-Custom": "abc"},
        "auth": {"type": "hmac", "secret": "s3cret-s3cret-s3cret"},
        "signature": {"standard": True, "legacy": True, "legacy_header": "X-Sig"}})
    assert r.status_code == 200, r.text
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/rotate-secret",
                     json={"overlap_seconds": 3600})
    assert r.status_code == 200, r.text
    hookline.settle()
    hookline.post_event("order.created", {"n": 5})
    req = rcv.wait_for(1, timeout=10)[0]
    assert req.method == "PUT"
    assert req.headers["X-Custom"] == "abc"
    assert req.headers["X-Hookline-Hmac"] == "sha256=" + hmac.new(b"s3cret-s3cret-s3cret", req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Sig"].startswith("sha256=")
    sigs = req.headers["webhook-signature"].split(" ")
    assert len(sigs) == 2, "both secrets sign during rotation"
    signed = f"{req.headers['webhook-id']}.{req.headers['webhook-timestamp']}.".encode() + req.body
    want_old = base64.b64encode(hmac.new(b"o" * 32, signed, hashlib.sha256).digest()).decode()
    assert sigs[1] == "v1," + want_old


def test_late_auto_disable_does_not_undo_a_resume_made_after_it(hookline, make_receiver):
    """The disable a dispatcher decided reaches PostgreSQL through its attempt record, which
    may be written long after (here: the dispatcher runs without the attempt-log writer, so
    the record waits in Kafka until a second dispatcher's writer picks it up). A resume
    committed after the decision wins: the late record must not disable the webhook again."""
    hookline.kill_dispatcher(0, sig=15)
    hookline.start_dispatcher(HOOKLINE_ATTEMPT_LOG="false", **FAST)
    rcv = make_receiver(status=410)
    wh = hookline.create_webhook(rcv.url, ["order.created"])
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})
    rcv.wait_for(1, timeout=10)
    time.sleep(1.0)
    r = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}")
    assert r.json()["status"] == "active", "the disable must still be waiting in Kafka"

    # The endpoint is fixed and the operator resumes the webhook, after the decision.
    rcv.status = 200
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/resume")
    assert r.status_code == 200, r.text

    # Now the attempt record (410, disable) is written, late.
    hookline.start_dispatcher(**FAST)
    wait_sql(hookline, "SELECT status, last_status_code FROM deliveries",
             want=lambda rows: rows == [("failed", 410)])
    time.sleep(0.5)  # same transaction, but leave no doubt
    r = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}")
    assert (r.json()["status"], r.json().get("disabled_reason")) == ("active", None), r.json()

    # And deliveries flow: the dispatcher that disabled it sees the newer version too.
    hookline.settle()
    hookline.post_event("order.created", {"n": 2})
    reqs = rcv.wait_for(2, timeout=15)
    assert reqs[1].json()["data"] == {"n": 2}


def test_short_retry_delays_are_kept_at_the_receiver(hookline, make_receiver):
    """Retries of 1 s and 2 s policies arrive 1 s and 2 s apart (within 10 %, jitter off),
    with the default retry tiers, whose shortest is 5 s: a delay below it is not rounded up
    to the tier."""
    # the default tiers (5 s and longer); no jitter, so the spacing is the policy's
    hookline.kill_dispatcher(0, sig=15)
    hookline.start_dispatcher(HOOKLINE_RETRY_JITTER_PCT="0")
    one, two = make_receiver(status=500), make_receiver(status=500)
    policies = {1000: one, 2000: two}
    for delay, rcv in policies.items():
        hookline.create_webhook(rcv.url, ["order.created"], retry_policy={
            "strategy": "fixed", "max_attempts": 4, "initial_delay_ms": delay,
            "max_delay_ms": delay})
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})
    for delay, rcv in policies.items():
        reqs = rcv.wait_for(4, timeout=30)
        gaps = [b.arrived - a.arrived for a, b in zip(reqs, reqs[1:])]
        print(f"{delay} ms policy: gaps {[round(g, 3) for g in gaps]}")
        want = delay / 1000
        # never early (50 ms for when the receiver's clock reads the arrivals), at most 10 % late
        assert all(want - 0.05 <= g <= want * 1.1 for g in gaps), (delay, gaps)
    wait_sql(hookline, "SELECT count(*) FROM deliveries WHERE status = 'failed'",
             want=lambda r: r[0][0] == 2)


def test_a_retry_held_in_memory_survives_a_dispatcher_crash(hookline, make_receiver):
    """A retry due sooner than the shortest tier (here 4 s, tier 5 s) waits in the
    dispatcher's memory; its source message stays unfinished, so its offset is not
    committed. SIGKILLed while holding it, the dispatcher loses nothing: the partition's
    next owner consumes the task again and the delivery still happens."""
    hookline.kill_dispatcher(0, sig=15)
    first = hookline.start_dispatcher(HOOKLINE_RETRY_JITTER_PCT="0")
    rcv = make_receiver(status=500)
    hookline.create_webhook(rcv.url, ["order.created"], retry_policy={
        "strategy": "fixed", "max_attempts": 3, "initial_delay_ms": 4000,
        "max_delay_ms": 4000})
    hookline.settle()
    event_id = hookline.post_event("order.created", {"n": 1})
    rcv.wait_for(1, timeout=10)
    time.sleep(2.0)  # past an offset commit (they come every 100 ms), before the retry
    hookline.kill_dispatcher(first, sig=signal.SIGKILL)
    rcv.status = 200
    hookline.start_dispatcher(HOOKLINE_RETRY_JITTER_PCT="0")
    reqs = rcv.wait_for(2, timeout=40)
    assert reqs[-1].json()["id"] == event_id
    wait_sql(hookline, "SELECT status FROM deliveries", want=lambda r: r == [("succeeded",)])
