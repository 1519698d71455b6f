"""Delivery-log retention with a window of seconds: old deliveries and their attempts are
deleted, recent ones stay, a delivery still being retried across the boundary is not lost,
the deleted-rows metric moves, and only one process cleans at a time (advisory lock)."""

from __future__ import annotations

import re
import time

import psycopg
import pytest
import requests

WINDOW_MS = 6000
RETENTION = {"HOOKLINE_RETENTION_WINDOW_MS": str(WINDOW_MS),
             "HOOKLINE_RETENTION_INTERVAL_MS": "1000",
             "HOOKLINE_RETRY_TIERS_MS": "1000,5000", "HOOKLINE_RETRY_JITTER_PCT": "0"}
LOCK_KEY = 7524706479568270964  # common/src/retention.c


def metric(hookline, name: str, labels: str) -> float:
    text = requests.get(f"http://127.0.0.1:{hookline.dispatcher_ports[0]}/metrics",
                        timeout=5).text
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def wait(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def delivery(hookline, event_id: str):
    rows = hookline.sql("SELECT status, attempts, (SELECT count(*) FROM delivery_attempts a"
                        " WHERE a.delivery_id = d.id) FROM deliveries d WHERE event_id = %s",
                        event_id)
    return rows[0] if rows else None


@pytest.mark.dispatchers(0)
def test_old_deliveries_go_recent_stay_and_a_retry_across_the_boundary_survives(
        hookline, make_receiver):
    hookline.start_dispatcher(**RETENTION)
    ok = make_receiver(status=200)
    answers = iter([500])
    flaky = make_receiver(responder=lambda req: next(answers, 200))
    hookline.create_webhook(ok.url, ["r.ok"])
    wh = hookline.create_webhook(flaky.url, ["r.flaky"])
    # the retry is due 12 s after the first attempt: well after the old delivery's window
    hookline.sql("UPDATE webhooks SET retry_policy = retry_policy || "
                 "'{\"strategy\": \"fixed\", \"initial_delay_ms\": 12000, \"max_delay_ms\": 12000}'"
                 "::jsonb WHERE id = %s", wh["id"])
    hookline.settle(sql_change=True)

    old = hookline.post_event("r.ok", {"age": "old"})
    retried = hookline.post_event("r.flaky", {})
    wait(lambda: delivery(hookline, old) == ("succeeded", 1, 1), "old delivery logged")
    wait(lambda: (delivery(hookline, retried) or ("",))[0] == "retrying", "retrying logged")
    time.sleep(4)
    new = hookline.post_event("r.ok", {"age": "new"})
    wait(lambda: delivery(hookline, new) == ("succeeded", 1, 1), "new delivery logged")

    wait(lambda: delivery(hookline, old) is None, "old delivery deleted", timeout=30)
    assert delivery(hookline, new) == ("succeeded", 1, 1), "a recent delivery was deleted"
    assert delivery(hookline, retried)[0] == "retrying", "a delivery still retrying was deleted"
    assert hookline.sql("SELECT count(*) FROM delivery_attempts a WHERE NOT EXISTS"
                        " (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)") == [(0,)]
    # counted once the batch's statement has returned, a moment after the rows went
    for table in ("deliveries", "delivery_attempts"):
        wait(lambda: metric(hookline, "hookline_retention_deleted_rows_total",
                            f'table="{table}"') >= 1, f"deleted {table} counted", timeout=10)

    flaky.wait_for(2, timeout=40)
    wait(lambda: delivery(hookline, retried) == ("succeeded", 2, 2),
         "the retried delivery logged with both attempts")


@pytest.mark.dispatchers(0)
def test_one_cleaner_at_a_time_through_the_advisory_lock(hookline, receiver):
    hookline.create_webhook(receiver.url, ["r.lock"])
    hookline.settle()
    with psycopg.connect(hookline.pg_dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        hookline.start_dispatcher(**RETENTION)
        ev = hookline.post_event("r.lock", {})
        wait(lambda: delivery(hookline, ev) == ("succeeded", 1, 1), "delivery logged")
        time.sleep(WINDOW_MS / 1000 + 3)
        assert delivery(hookline, ev) == ("succeeded", 1, 1), "cleaned although locked"
        runs = {r: metric(hookline, "hookline_retention_runs_total", f'result="{r}"')
                for r in ("completed", "skipped", "failed")}
        assert runs["skipped"] >= 1 and runs["completed"] == 0, runs
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    wait(lambda: delivery(hookline, ev) is None, "deleted once the lock is free", timeout=30)
    # the run counts itself once it has released the lock, a moment after its deletes
    wait(lambda: metric(hookline, "hookline_retention_runs_total", 'result="completed"') >= 1,
         "a completed run counted", timeout=10)
