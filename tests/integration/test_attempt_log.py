"""The attempt-log writer's two ways of writing (dispatcher/src/dp_attemptlog.c): a batch of
first attempts only is loaded with COPY (binary format) without looking for its rows first;
a batch with anything else, or a batch of first attempts whose row turns out to be there
already (a delivery deferred by an open circuit breaker before its first try), is written
with the upsert. Either way the delivery log shows what happened, through the API.
"""

from __future__ import annotations

import time
from datetime import datetime

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
def test_first_attempts_copied_and_a_deferred_delivery_updated(hookline, make_receiver):
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
    assert log_batches(hookline, "copy") >= 1
    assert log_batches(hookline, "copy_conflict") == 0

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
    assert log_batches(hookline, "copy_conflict") >= 1
    assert len(rcv.snapshot()) == 4


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.mark.dispatchers(0)
def test_a_first_attempt_copied_as_the_upsert_would_write_it(hookline, make_receiver):
    """Every column of a first attempt's rows, loaded with COPY in binary: times (the
    binary form counts microseconds from 2000), the UUID, integers, NULLs, the excerpt."""
    hookline.start_dispatcher(HOOKLINE_RETRY_JITTER_PCT="0")

    def first_fails_slowly(req) -> int:
        time.sleep(0.3)
        return 500 if len(rcv.snapshot()) == 0 else 200

    rcv = make_receiver(responder=first_fails_slowly)
    wh = hookline.create_webhook(rcv.url, ["order.created"], retry_policy={
        "strategy": "fixed", "max_attempts": 2, "initial_delay_ms": 8000, "max_delay_ms": 8000})
    hookline.settle()
    copied = log_batches(hookline, "copy")

    before = time.time()
    event_id = hookline.post_event("order.created", {"n": 1})
    rcv.wait_for(1, timeout=10)
    after = time.time()
    d = waiting.wait_for(lambda: (x := delivery_of(hookline, wh["id"], event_id))
                         and x["status"] == "retrying" and x, 10, "the first attempt logged")
    assert log_batches(hookline, "copy") > copied
    assert d["webhook_id"] == wh["id"] and d["event_id"] == event_id
    assert d["event_type"] == "order.created" and d["event"]["data"] == {"n": 1}
    assert d["attempt_count"] == 1 and d["last_status_code"] == 500
    assert d["last_error_class"] == "http_status" and d["last_error"]
    assert before - 1 <= at(d["created_at"]) <= at(d["updated_at"]) <= after + 1, d
    assert 7.5 <= at(d["next_attempt_at"]) - at(d["updated_at"]) <= 8.5, d
    [a] = d["attempts"]
    assert (a["attempt"], a["http_status"], a["error_class"]) == (1, 500, "http_status"), a
    assert a["response_excerpt"] == "ok\n", a
    assert 300 <= a["duration_ms"] <= 5000, a
    assert before - 1 <= at(a["started_at"]) <= after + 1, a

    # The second attempt's record is not a first one: the upsert moves the row on.
    d = waiting.wait_for(lambda: (x := delivery_of(hookline, wh["id"], event_id))
                         and x["status"] == "succeeded" and x, 25, "the second attempt logged")
    assert [(a["attempt"], a["http_status"]) for a in d["attempts"]] == [(1, 500), (2, 200)]
    assert d["attempt_count"] == 2 and d["last_status_code"] == 200
    assert d["next_attempt_at"] is None and d["last_error_class"] is None


@pytest.mark.dispatchers(0)
def test_first_attempts_copied_beside_retries_in_one_batch(hookline, make_receiver):
    """Batches that mix first attempts with retries: the first attempts go by COPY, the
    retries by the upsert after them, in the same transaction; every delivery ends as it
    happened."""
    hookline.start_dispatcher(HOOKLINE_LOG_FLUSH_MS="1000", HOOKLINE_RETRY_TIERS_MS="200",
                              HOOKLINE_RETRY_JITTER_PCT="0")
    tried: set[str] = set()

    def first_try_fails(req) -> int:
        key = req.headers["webhook-id"]
        if key in tried:
            return 200
        tried.add(key)
        return 500

    flaky = make_receiver(responder=first_try_fails)
    ok = make_receiver()
    policy = {"strategy": "fixed", "max_attempts": 3, "initial_delay_ms": 200,
              "max_delay_ms": 200}
    wh_flaky = hookline.create_webhook(flaky.url, ["order.created"], retry_policy=policy)
    wh_ok = hookline.create_webhook(ok.url, ["order.created"])
    hookline.settle()
    copied, upserted = log_batches(hookline, "copy"), log_batches(hookline, "upsert")

    events = []
    for i in range(12):
        events.append(hookline.post_event("order.created", {"i": i}))
        time.sleep(0.15)  # a retry's record joins the batch of later first attempts
    flaky.wait_for(24, timeout=20)
    ok.wait_for(12, timeout=20)
    for event_id in events:
        d = waiting.wait_for(lambda: (x := delivery_of(hookline, wh_flaky["id"], event_id))
                             and x["status"] == "succeeded" and x, 20, f"{event_id} retried")
        assert [(a["attempt"], a["http_status"]) for a in d["attempts"]] == [(1, 500), (2, 200)]
        assert d["attempt_count"] == 2 and d["last_status_code"] == 200
        d = waiting.wait_for(lambda: (x := delivery_of(hookline, wh_ok["id"], event_id))
                             and x["status"] == "succeeded" and x, 20, f"{event_id} delivered")
        assert [(a["attempt"], a["http_status"]) for a in d["attempts"]] == [(1, 200)]
    assert log_batches(hookline, "copy") > copied
    assert log_batches(hookline, "upsert") > upserted
    assert log_batches(hookline, "copy_conflict") == 0
