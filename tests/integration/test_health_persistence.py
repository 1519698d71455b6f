"""Endpoint health outlives a dispatcher (dispatcher/src/dp_healthstore.h): an open circuit
breaker stays open across a restart, and the auto-disable clock keeps running from the
first failure instead of starting over.

Dispatchers run with a breaker and auto-disable scaled down to seconds."""

from __future__ import annotations

import time

import pytest

from waiting import wait_for

OPEN_MS = 12000
HEALTH = {"HOOKLINE_RETRY_TIERS_MS": "200,1000,3000", "HOOKLINE_RETRY_JITTER_PCT": "0",
          "HOOKLINE_BREAKER_MIN_REQUESTS": "3", "HOOKLINE_BREAKER_WINDOW_MS": "20000",
          "HOOKLINE_BREAKER_FAILURE_PCT": "100", "HOOKLINE_BREAKER_OPEN_MS": str(OPEN_MS)}
POLICY = {"strategy": "fixed", "max_attempts": 20, "initial_delay_ms": 200, "max_delay_ms": 200}


def restart(hookline, i: int, **env) -> int:
    hookline.kill_dispatcher(i, __import__("signal").SIGTERM)
    return hookline.start_dispatcher(**env)


@pytest.mark.dispatchers(0)
def test_open_breaker_stays_open_across_a_restart(hookline, make_receiver):
    d = hookline.start_dispatcher(**HEALTH)
    rcv = make_receiver(status=500)
    # The three first attempts must fail before any retry is due: on a busy machine a
    # retry 200 ms after the first failure could start together with the third event's
    # first attempt, before either had failed, and make four requests. Retried after 2 s
    # instead, and the three events in one batch.
    hookline.create_webhook(rcv.url, ["order.created"],
                            retry_policy={**POLICY, "initial_delay_ms": 2000,
                                          "max_delay_ms": 2000})
    r = hookline.api("POST", "/api/v1/events/batch", json={
        "events": [{"event": "order.created", "data": {"i": i}} for i in range(3)]})
    assert r.status_code in (200, 202, 207), r.text
    opened = rcv.wait_for(3, timeout=15)[2].arrived
    time.sleep(1.0)  # the health store writes within 200 ms
    assert len(rcv.snapshot()) == 3, "the breaker did not open after 3 failures"

    restart(hookline, d, **HEALTH)
    hookline.post_event("order.created", {"i": "after restart"})
    # A fresh breaker would let the new event and the retries through at once.
    quiet_until = opened + OPEN_MS / 1000 * 0.9
    while time.monotonic() < quiet_until:
        n = len(rcv.snapshot())
        assert n == 3, (f"{n - 3} attempts reached the endpoint {time.monotonic() - opened:.1f} s "
                        f"after the breaker opened: the restart closed it")
        time.sleep(0.2)
    # ... and when it is due, one probe goes.
    rcv.wait_for(4, timeout=OPEN_MS / 1000 + 10)


@pytest.mark.dispatchers(0)
def test_auto_disable_clock_survives_a_restart(hookline, make_receiver):
    after_ms = 12000
    env = {**HEALTH, "HOOKLINE_BREAKER_MIN_REQUESTS": "1000",
           "HOOKLINE_AUTO_DISABLE_AFTER_MS": str(after_ms)}
    d = hookline.start_dispatcher(**env)
    rcv = make_receiver(status=500)
    # retried every second for 20 s: failing without a break past the restart
    slow = {**POLICY, "initial_delay_ms": 1000, "max_delay_ms": 1000}
    wh = hookline.create_webhook(rcv.url, ["order.created"], retry_policy=slow)
    hookline.post_event("order.created", {"i": 0})
    first = rcv.wait_for(1, timeout=15)[0].arrived
    time.sleep(5)
    restart(hookline, d, **env)

    def disabled() -> bool:
        r = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}")
        return r.json()["status"] == "disabled"
    wait_for(disabled, 30, "the webhook auto-disabled")
    took = time.monotonic() - first
    print(f"disabled {took:.1f} s after the first failure (auto_disable_after_ms {after_ms})")
    # Started over at the restart, the clock would need 5 s + restart + 12 s.
    assert took < after_ms / 1000 + 4, f"disabled only {took:.1f} s after the first failure"
