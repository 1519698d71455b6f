"""Durability of the delivery engine under failure: a dispatcher SIGKILLed mid-stream while
another keeps running, and a PostgreSQL outage during which deliveries go on and after which
the delivery log catches up.

Delivery is at-least-once: every accepted event must arrive at every subscribed webhook;
duplicates are counted and printed (receivers dedupe them on the stable webhook-id), not
failed on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

# A killed member's partitions move after its session times out: keep that short. A burst
# beyond what a webhook may park in memory waits in retry tier 0: keep that short too.
FAST_TAKEOVER = {"HOOKLINE_SESSION_TIMEOUT_MS": "6000", "HOOKLINE_SHUTDOWN_TIMEOUT_MS": "2000",
                 "HOOKLINE_RETRY_TIERS_MS": "200,1000,3000"}


class Arrivals:
    """Distinct event ids a receiver got, parsed incrementally (a predicate re-parsing
    10,000 bodies on every request would starve the receiver)."""

    def __init__(self, receiver):
        self.receiver = receiver
        self.ids: set[str] = set()
        self.total = 0

    def update(self) -> set[str]:
        reqs = self.receiver.snapshot()
        for r in reqs[self.total:]:
            self.ids.add(r.json()["id"])
        self.total = len(reqs)
        return self.ids

    def duplicates(self) -> int:
        return self.total - len(self.ids)


def wait_all_arrived(arrivals: list[Arrivals], want: set[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if all(want <= a.update() for a in arrivals):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def post_batches(hookline, events: list[dict], per_request: int = 500, workers: int = 2) -> list[str]:
    """Posts events through POST /api/v1/events/batch; every one must be accepted (202)."""
    local = threading.local()

    def post(chunk: list[dict]) -> list[str]:
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.headers.update(hookline.default_headers)
        r = local.s.post(hookline.base_url + "/api/v1/events/batch", json={"events": chunk},
                         timeout=60)
        assert r.status_code == 207, f"batch: {r.status_code} {r.text[:500]}"
        res = r.json()["data"]
        bad = [x for x in res if x["status"] != 202]
        assert not bad, f"{len(bad)} events of a batch not accepted, e.g. {bad[:3]}"
        return [x["id"] for x in res]

    chunks = [events[i:i + per_request] for i in range(0, len(events), per_request)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [eid for ids in pool.map(post, chunks) for eid in ids]


@pytest.mark.dispatchers(0)
def test_sigkill_of_one_of_two_dispatchers_loses_nothing(hookline, make_receiver):
    total, kill_after = 10_000, 2_000
    hookline.start_dispatcher(wait=False, **FAST_TAKEOVER)
    hookline.start_dispatcher(**FAST_TAKEOVER)
    narrow, broad = make_receiver(), make_receiver()
    hookline.create_webhook(narrow.url, ["load.*"])
    hookline.create_webhook(broad.url, ["*"])
    hookline.settle()

    def delivered() -> int:
        return len(narrow.snapshot()) + len(broad.snapshot())

    killed = threading.Event()
    killed_at: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and delivered() < kill_after:
            time.sleep(0.05)
        if delivered() < kill_after:
            return
        killed_at.append(delivered())
        hookline.kill_dispatcher(0, signal.SIGKILL)
        hookline.start_dispatcher(wait=False, **FAST_TAKEOVER)
        killed.set()

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()
    t0 = time.monotonic()
    posted = post_batches(hookline, [{"event": "load.test", "data": {"i": i}} for i in range(total)])
    posted_in = time.monotonic() - t0
    assert len(set(posted)) == total, "event ids must be unique"
    watcher.join(timeout=95)
    assert killed.is_set(), f"only {delivered()} deliveries arrived before the kill deadline"

    want = set(posted)
    arrivals = [Arrivals(narrow), Arrivals(broad)]
    ok = wait_all_arrived(arrivals, want, timeout=90)
    report = []
    missing = 0
    for name, a in zip(("load.*", "*"), arrivals):
        got = a.update()
        missing += len(want - got)
        report.append(f"{name}: {len(got & want)}/{total} distinct, {a.duplicates()} duplicates")
    print(f"posted {total} events in {posted_in:.1f} s; SIGKILLed dispatcher-0 after "
          f"{killed_at[0]} deliveries; {'; '.join(report)}; "
          f"all in {time.monotonic() - t0:.1f} s")
    assert ok and missing == 0, f"{missing} accepted (event, webhook) deliveries never arrived"
