"""The attempt-log writer's two statements (dispatcher/src/dp_attemptlog.c): a batch of
first attempts only is inserted without looking for its rows first; a batch with anything
else, or a batch of first attempts whose row turns out to be there already (a delivery
deferred by an open circuit breaker before its first try), is written with the upsert.
Either way the delivery log shows what happened, through the API.
"""

from __future__ import annotations

import pytest
import waiting

OPEN_MS = 2000
HEALTH = {"HOOKLINE_RETRY_TIERS_MS": "200,1000,3000", "HOOKLINE_RETRY_JITTER_PCT": "0",
          "HOOKLINE_BREAKER_MIN_REQUESTS": "3", "HOOKLINE_BREAKER_WINDOW_MS": "10000",
          "HOOKLINE_BREAKER_FAILURE_PCT": "100", "HOOKLINE_BREAKER_OPEN_MS": str(OPEN_MS),
          "HOOKLINE_BREAKER_OPEN_MAX_MS": str(OPEN_MS)}
ONE_TRY = {"strategy": "fixed", "max_attempts": 1, "initial_delay_ms": 200,
           "max_delay_ms": 200}


def log_batches(hookline, statement: str) -> float:
    series = f'hookline_dispatcher_log_batches_total{{statement="{statement}"}}'
    value = hookline.dispatcher_metric(series)
    assert value is not None, f"{series} is not exported"
    return value


def delivery_of(hookline, webhook_id: str, event_id: str) -> dict | None:
    r = hookline.api("GET", f"/api/v1/deliveries?webhook_id={webhook_id}&limit=100")
    assert r.status_code == 200, r.text
    found = [d for d in r.json()["data"] if d["event_id"] == event_id]
    if not found:
        return None
    detail = hookline.api("GET", f"/api/v1/deliveries/{found[0]['id']}")
    assert detail.status_code == 200, detail.text
    return detail.json()


@pytest.mark.dispatchers(0)
def test_first_attempts_inserted_and_a_deferred_delivery_updated(hookline, make_receiver):
    hookline.start_dispatcher(**HEALTH)
    rcv = make_receiver(status=500)
    wh = hookline.create_webhook(rcv.url, ["order.created"], retry_policy=ONE_TRY)
    hookline.settle()

    # Three first attempts, each failing for good: the breaker opens after the third.
    failed = [hookline.post_event("order.created", {"i": i}) for i in range(3)]
    rcv.wait_for(3, timeout=10)
    for event_id in failed:
        d = waiting.wait_for(lambda: (x := delivery_of(hookline, wh["id"], event_id))
                             and x["status"] == "failed" and x, 20, f"{event_id} failed")
        assert d["attempt_count"] == 1
        assert [(a["attempt"], a["http_status"]) for a in d["attempts"]] == [(1, 500)]
    assert log_batches(hookline, "insert") >= 1
    assert log_batches(hookline, "insert_conflict") == 0

    # A fourth event while the breaker is open: deferred before any try, so its delivery's
    # row is written (attempt 0) before its first attempt is.
    deferred = hookline.post_event("order.created", {"i": 3})
    d = waiting.wait_for(lambda: (x := delivery_of(hookline, wh["id"], deferred))
                         and x["status"] == "retrying" and x, 20,
                         "the fourth delivery deferred by the open breaker")
    assert d["last_error_class"] == "circuit_open" and d["attempts"] == []
    assert d["attempt_count"] == 0
    assert len(rcv.snapshot()) == 3

    # Healed: the half-open probe is the deferred delivery's first attempt. Its record comes
    # alone, a first attempt, and meets the row already there: written again as an upsert,
    # the delivery shows as succeeded at its first attempt.
    rcv.status = 200
    d = waiting.wait_for(lambda: (x := delivery_of(hookline, wh["id"], deferred))
                         and x["status"] == "succeeded" and x, OPEN_MS / 1000 + 15,
                         "the deferred delivery to succeed")
    assert [(a["attempt"], a["http_status"]) for a in d["attempts"]] == [(1, 200)]
    assert d["attempt_count"] == 1 and d["last_error_class"] is None and d["last_status_code"] == 200
    assert log_batches(hookline, "insert_conflict") >= 1
    assert len(rcv.snapshot()) == 4
