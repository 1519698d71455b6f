"""Endpoint health: the per-webhook circuit breaker (opens on a failure ratio over a window
with a minimum count, defers deliveries without attempting them while open, lets one
half-open probe through) and auto-disable after continuous failure, announced as a
webhook.disabled event, with webhook.recovered when the endpoint heals.

Dispatchers run with a breaker and auto-disable scaled down to seconds.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import waiting

OPEN_MS = 2000
HEALTH = {"HOOKLINE_RETRY_TIERS_MS": "200,1000,3000", "HOOKLINE_RETRY_JITTER_PCT": "0",
          "HOOKLINE_BREAKER_MIN_REQUESTS": "3", "HOOKLINE_BREAKER_WINDOW_MS": "5000",
          "HOOKLINE_BREAKER_FAILURE_PCT": "100", "HOOKLINE_BREAKER_OPEN_MS": str(OPEN_MS),
          "HOOKLINE_BREAKER_OPEN_MAX_MS": str(2 * OPEN_MS)}
# Without the breaker a failing delivery would be tried every 200 ms.
POLICY = {"strategy": "fixed", "max_attempts": 20, "initial_delay_ms": 200, "max_delay_ms": 200}



def wait_for(fn, timeout: float = 20.0, what: str = "condition"):
    return waiting.wait_for(fn, timeout, what)


@pytest.mark.dispatchers(0)
def test_circuit_breaker_opens_and_deliveries_are_deferred(hookline, make_receiver):
    hookline.start_dispatcher(**HEALTH)
    rcv = make_receiver(status=500)
    wh = hookline.create_webhook(rcv.url, ["order.created"], retry_policy=POLICY)
    hookline.settle()
    ids = {hookline.post_event("order.created", {"i": i}) for i in range(3)}

    first = rcv.wait_for(3, timeout=10)
    opened = first[2].arrived
    time.sleep(3 * OPEN_MS / 1000 + 0.5)
    reqs = rcv.snapshot()
    # Retries already on the wire when the third failure opened the breaker arrive with it
    # (when one event's fetch came late): not attempts the open breaker let through.
    after = [r.arrived for r in reqs[3:] if r.arrived - opened > 0.1]
    gaps = [b - a for a, b in zip([opened] + after, after)]
    print(f"{len(reqs)} attempts in {reqs[-1].arrived - first[0].arrived:.1f} s; "
          f"gaps after the breaker opened: {[round(g, 2) for g in gaps]}")
    # Open: nothing reaches the endpoint for breaker_open_ms; then one probe at a time,
    # each failed probe opening it again (a closed breaker would allow ~40 attempts here).
    assert 1 <= len(after) <= 4, f"{len(after)} attempts after the breaker opened"
    assert all(g >= OPEN_MS / 1000 * 0.95 for g in gaps), gaps

    # The deferred deliveries show in the log as retrying, circuit open, without an
    # attempt row of their own.
    wait_for(lambda: hookline.sql(
        "SELECT count(*) FROM deliveries WHERE status = 'retrying'"
        " AND last_error_class = 'circuit_open' AND next_attempt_at > updated_at")[0][0] >= 1,
        what="a delivery deferred by the open breaker")
    r = hookline.api("GET", f"/api/v1/deliveries?webhook_id={wh['id']}")
    assert {d["event_id"] for d in r.json()["data"]} == ids
    wait_for(lambda: hookline.sql("SELECT count(*) FROM delivery_attempts")[0][0]
             == len(rcv.snapshot()), what="one attempt row per request the endpoint saw")
    assert hookline.sql("SELECT count(*) FROM delivery_attempts"
                        " WHERE error_class IS DISTINCT FROM 'http_status'")[0][0] == 0

    # Healed: the next probe succeeds, the breaker closes, every deferred delivery goes.
    rcv.status = 200
    wait_for(lambda: hookline.sql("SELECT count(*) FROM deliveries WHERE status = 'succeeded'")
             [0][0] == 3, timeout=OPEN_MS / 1000 + 10, what="all 3 deliveries to succeed")
    assert {r.json()["id"] for r in rcv.snapshot()} == ids


@pytest.mark.dispatchers(0)
def test_failed_probes_back_off_to_the_longest_open_period(hookline, make_receiver):
    """An endpoint that stays down is probed less and less often: each failed probe doubles
    the open period, from breaker_open_ms up to breaker_open_max_ms."""
    hookline.start_dispatcher(**{**HEALTH, "HOOKLINE_BREAKER_OPEN_MS": "1000",
                                 "HOOKLINE_BREAKER_OPEN_MAX_MS": "4000"})
    rcv = make_receiver(status=500)
    hookline.create_webhook(rcv.url, ["order.created"], retry_policy=POLICY)
    hookline.settle()
    for i in range(3):
        hookline.post_event("order.created", {"i": i})
    opened = rcv.wait_for(3, timeout=10)[2].arrived
    # Retries already on the wire when the third failure opened the breaker arrive with it
    # (when one event's fetch came late); the probes are what follows.
    probes = wait_for(lambda: (p := [r.arrived for r in rcv.snapshot()[3:]
                                     if r.arrived - opened > 0.1]) and len(p) >= 4 and p[:4],
                      timeout=25, what="4 probes")
    gaps = [round(b - a, 2) for a, b in zip([opened] + probes, probes)]
    print(f"gaps between the breaker's opening and its probes: {gaps}")
    # 1 s, then 2 s, then 4 s twice (the longest). Every gap is at least its period and
    # late by no more than the time a probe takes to come back through the tiers.
    for gap, period in zip(gaps, [1.0, 2.0, 4.0, 4.0]):
        assert period * 0.95 <= gap <= period + 1.5, (gaps, period)


@pytest.mark.dispatchers(0)
def test_auto_disable_emits_webhook_disabled_and_recovered(hookline, make_receiver):
    disable_after_s = 3.0
    hookline.start_dispatcher(**{**HEALTH, "HOOKLINE_BREAKER_OPEN_MS": "1000",
                                 "HOOKLINE_AUTO_DISABLE_AFTER_MS": str(int(disable_after_s * 1000))})
    failing, watcher = make_receiver(status=500), make_receiver()
    wh = hookline.create_webhook(failing.url, ["order.created"], retry_policy=POLICY)
    watch = hookline.create_webhook(watcher.url, ["webhook.disabled", "webhook.recovered"])
    hookline.settle()
    since = (datetime.now(timezone.utc) - timedelta(seconds=5)).isoformat()
    first_id = hookline.post_event("order.created", {"n": 1})
    t0 = failing.wait_for(1, timeout=10)[0].arrived

    [note] = watcher.wait_for(1, timeout=disable_after_s + 12)
    body = note.json()
    assert body["event"] == "webhook.disabled" and body["webhook_id"] == watch["id"]
    assert body["data"] == {"webhook_id": wh["id"], "reason": "failing continuously"}
    assert body["tenant"] == hookline.tenant
    assert note.arrived - t0 >= disable_after_s, "disabled before failing for the period"
    wait_for(lambda: hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json()["status"]
             == "disabled", what="the webhook to show as disabled")
    assert hookline.sql("SELECT disabled_reason FROM webhooks WHERE id = %s",
                        wh["id"]) == [("failing continuously",)]

    # Disabled: the pending delivery is kept as skipped (replayable), nothing is attempted.
    wait_for(lambda: hookline.sql("SELECT status, last_error_class FROM deliveries"
                                  " WHERE webhook_id = %s", wh["id"]) == [("skipped", "disabled")],
             what="the pending delivery to be kept as skipped")
    attempts = len(failing.snapshot())
    time.sleep(1.0)
    assert len(failing.snapshot()) == attempts, "a disabled webhook was attempted"

    # Healed and resumed at once (no event in between): deliveries flow again, the first
    # success announces webhook.recovered, and the skipped event can be replayed.
    failing.status = 200
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/resume")
    assert r.status_code == 200, r.text
    hookline.settle()
    fresh_id = hookline.post_event("order.created", {"n": 2})
    assert failing.wait_until(lambda reqs: fresh_id in {q.json()["id"] for q in reqs}, timeout=10), \
        hookline.sql("SELECT status, last_error_class FROM deliveries WHERE event_id = %s", fresh_id)
    notes = watcher.wait_for(2, timeout=10)
    assert [n.json()["event"] for n in notes] == ["webhook.disabled", "webhook.recovered"]
    assert notes[1].json()["data"]["webhook_id"] == wh["id"]
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/replay", json={"since": since})
    assert r.status_code == 202 and r.json()["replayed"] == 1, r.text
    wait_for(lambda: hookline.sql("SELECT count(*) FROM deliveries WHERE webhook_id = %s"
                                  " AND status = 'succeeded'", wh["id"])[0][0] == 2,
             what="the replayed delivery to succeed")
    assert first_id in {q.json()["id"] for q in failing.snapshot()[attempts:]}, "not replayed"
