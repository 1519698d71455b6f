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
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest
import requests

from test_deliveries_api import DIRECT, VIA_KAFKA
from test_metrics import dp_metric
from waiting import wait_for

# Stops the shared PostgreSQL; loads the machine with thousands of deliveries.
pytestmark = pytest.mark.serial

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


@pytest.mark.dispatchers(0)
def test_a_dispatcher_joining_mid_stream_sends_nothing_twice(hookline, make_receiver):
    """A dispatcher that joins takes partitions from the one running (scaling out, a
    rolling update). The attempts on the wire finish before the partitions go, and their
    offsets are committed: the newcomer starts after them instead of sending them again.
    Deliveries not started yet move with their partitions, unsent. (With
    rebalance_drain_ms=0 every request open at the join arrived twice.)"""
    def slow(req) -> int:
        time.sleep(0.25)
        return 200

    receiver = make_receiver(responder=slow)
    hookline.start_dispatcher()
    hookline.create_webhook(receiver.url, ["join.*"], max_concurrency=16)
    hookline.settle()
    posted = post_batches(hookline, [{"event": "join.test", "data": {"i": i}} for i in range(600)])
    arrivals = Arrivals(receiver)
    wait_for(lambda: len(receiver.snapshot()) >= 100, timeout=60, what="100 deliveries")
    in_flight_at_join = receiver.open_now
    hookline.start_dispatcher()  # both consumer groups rebalance
    assert wait_all_arrived([arrivals], set(posted), timeout=120), \
        f"{len(set(posted) - arrivals.update())} of 600 never arrived"
    print(f"{in_flight_at_join} requests open at the join; {arrivals.duplicates()} duplicates")
    assert arrivals.duplicates() == 0


@pytest.mark.dispatchers(0)
def test_a_joining_dispatcher_does_not_repeat_what_a_fast_webhook_got_while_a_slow_one_waits(
        hookline, make_receiver):
    """Two webhooks take the same events: one answers at once, one in 0.3 s. The fast one
    has every event while most of the slow one's deliveries still wait in the dispatcher
    (parked in memory), holding back the events' committed offsets. When a second
    dispatcher joins, those waiting deliveries go to Kafka as tasks before the partitions
    are given up, so the events finish and their offsets are committed: the newcomer reads
    none of them again. (Before, it read them from the slow webhook's oldest waiting
    delivery on and sent each of them to the fast webhook a second time.)"""
    def slow(req) -> int:
        time.sleep(0.3)
        return 200

    total = 400
    fast_r, slow_r = make_receiver(), make_receiver(responder=slow)
    hookline.start_dispatcher()
    hookline.create_webhook(fast_r.url, ["pair.*"])
    hookline.create_webhook(slow_r.url, ["pair.*"])
    hookline.settle()
    posted = set(post_batches(hookline, [{"event": "pair.test", "data": {"i": i}}
                                         for i in range(total)]))
    fast, slow_a = Arrivals(fast_r), Arrivals(slow_r)
    wait_for(lambda: posted <= fast.update(), timeout=60, what="every event at the fast webhook")
    waiting = total - len(slow_a.update())
    assert waiting >= 100, f"only {waiting} deliveries to the slow webhook were still waiting"
    hookline.start_dispatcher()
    assert wait_all_arrived([fast, slow_a], posted, timeout=120), \
        f"{len(posted - slow_a.update())} events never reached the slow webhook"
    time.sleep(2)  # anything sent again would be on its way by now
    fast.update()
    handed = dp_metric(hookline, 0, "hookline_dispatcher_deliveries_handed_off_total") or 0.0
    print(f"{waiting} deliveries to the slow webhook waiting at the join; {handed:.0f} handed "
          f"to Kafka; duplicates: fast {fast.duplicates()}, slow {slow_a.duplicates()}")
    assert fast.duplicates() == 0, \
        f"the fast webhook got {fast.duplicates()} of its {total} events a second time"
    assert slow_a.duplicates() <= 40, f"{slow_a.duplicates()} repeats at the slow webhook"


@pytest.mark.dispatchers(0)
def test_retries_decided_while_a_rebalance_waits_are_not_lost(hookline, make_receiver):
    """Attempts that fail while a rebalance waits for them (the drain) hand a retry to a
    retry tier before their offsets go with the commit: every event still arrives, with
    the partitions now shared by two dispatchers. The first request for every third event
    fails (few enough that the breaker stays closed)."""
    seen: set[str] = set()
    ok: set[str] = set()
    lock = threading.Lock()

    def first_fails(req) -> int:
        time.sleep(0.25)
        eid = req.json()["id"]
        with lock:
            if eid not in seen and req.json()["data"]["i"] % 3 == 0:
                seen.add(eid)
                return 500
            ok.add(eid)
            return 200

    receiver = make_receiver(responder=first_fails)
    hookline.start_dispatcher(**FAST_TAKEOVER)
    hookline.create_webhook(receiver.url, ["drain.*"], max_concurrency=16)
    hookline.settle()
    posted = set(post_batches(hookline, [{"event": "drain.test", "data": {"i": i}}
                                         for i in range(300)]))
    wait_for(lambda: len(receiver.snapshot()) >= 60, timeout=60, what="60 requests")
    hookline.start_dispatcher(**FAST_TAKEOVER)  # both consumer groups rebalance

    def all_ok() -> bool:
        with lock:
            return posted <= ok
    wait_for(all_ok, timeout=120, what="every event answered 200 once")


# --- PostgreSQL outage -------------------------------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def pg_ctl(*args: str, check: bool = True) -> int:
    """Runs pg_ctl on the test infra's cluster exactly as scripts/stack does (as the
    cluster's owner when we are root)."""
    stack = os.environ.get("HOOKLINE_STACK_DIR")
    if not stack or not (Path(stack) / "pg" / "data" / "PG_VERSION").exists():
        pytest.skip("HOOKLINE_STACK_DIR does not point at the scripts/stack infra")
    argv = [str(PG_BIN / "pg_ctl"), "-D", f"{stack}/pg/data", *args]
    if os.getuid() == 0:
        argv = ["runuser", "-u", "hookline", "--", *argv]
    return subprocess.run(argv, check=check, stdout=subprocess.DEVNULL, timeout=90).returncode


def pg_stop() -> None:
    pg_ctl("-m", "fast", "-w", "-t", "60", "stop")


def pg_start(port: int) -> None:
    stack = os.environ["HOOKLINE_STACK_DIR"]
    if pg_ctl("status", check=False) == 0:
        return  # never stopped (the test failed before)
    # the same server options as scripts/stack (logical decoding for the table-events tests)
    pg_ctl("-l", f"{stack}/logs/postgres.log", "-o",
           f"-p {port} -c wal_level=logical -c max_replication_slots=64 -c max_wal_senders=64",
           "-w", "-t", "60", "start")


def test_postgres_outage_does_not_stop_delivery_and_log_catches_up(hookline, receiver):
    outage_s, rate = 30.0, 10  # events per second while PostgreSQL is down
    port = urllib.parse.urlsplit(hookline.infra.pg_admin_dsn).port
    hookline.create_webhook(receiver.url, ["outage.*"])
    hookline.settle(direct_events=True)
    # During the outage events are produced straight to <prefix>.events, as services may
    # (schemas/event.schema.json); test_ingest_pg_outage.py covers the gateway's ingest.
    before = [hookline.post_event("outage.before", {"i": i}) for i in range(20)]
    receiver.wait_for(len(before), timeout=15)

    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": hookline.infra.brokers, "acks": "all",
                         "enable.idempotence": True})
    during: list[str] = []
    t_down = t_up = None
    try:
        pg_stop()
        t_down = time.monotonic()
        i = 0
        while time.monotonic() - t_down < outage_s:
            eid = f"outage-{hookline.prefix}-{i}"
            env = {"id": eid, "event": "outage.during", "tenant": hookline.tenant,
                   "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds")
                   .replace("+00:00", "Z"), "data": {"i": i}}
            producer.produce(hookline.topic("events"), key=eid, value=json.dumps(env))
            producer.poll(0)
            during.append(eid)
            i += 1
            time.sleep(1.0 / rate)
        assert producer.flush(15) == 0, "events not acknowledged by Kafka"
        # Still down: everything produced during the outage must arrive without it.
        want = set(before) | set(during)
        arrivals = Arrivals(receiver)
        delivered_while_down = wait_all_arrived([arrivals], want, timeout=15)
        reqs = receiver.snapshot()
        t_up = time.monotonic()
    finally:
        pg_start(port)
    in_outage = [r for r in reqs if t_down <= r.arrived <= t_up]
    # Deliveries kept flowing the whole time, not only after a stall.
    seconds_with_arrivals = {int(r.arrived - t_down) for r in in_outage}
    print(f"PostgreSQL down {t_up - t_down:.1f} s: {len(during)} events produced, "
          f"{len(in_outage)} deliveries meanwhile, in {len(seconds_with_arrivals)} distinct seconds")
    assert delivered_while_down, (
        f"{len(want - arrivals.update())} of {len(want)} events not delivered while "
        f"PostgreSQL was down")
    assert len(seconds_with_arrivals) >= outage_s * 0.8, sorted(seconds_with_arrivals)

    # The log catches up: a succeeded delivery per event and every attempt made.
    deadline = time.monotonic() + 45
    rows = None
    while time.monotonic() < deadline:
        try:
            rows = hookline.sql(
                "SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*),"
                " (SELECT count(*) FROM delivery_attempts) FROM deliveries")[0]
        except psycopg.OperationalError:  # still starting
            rows = None
        if rows == (len(want), len(want), len(receiver.snapshot())):
            break
        time.sleep(0.5)
    assert rows == (len(want), len(want), len(receiver.snapshot())), (
        f"(succeeded, deliveries, attempts) = {rows}; want {len(want)} events, "
        f"{len(receiver.snapshot())} attempts")
    logged = {r[0] for r in hookline.sql("SELECT event_id FROM deliveries")}
    assert logged == want
    bad = hookline.sql("SELECT count(*) FROM delivery_attempts WHERE http_status <> 200"
                       " OR error_class IS NOT NULL")[0][0]
    assert bad == 0

    # The records of the outage went through <prefix>.attempts; with PostgreSQL back the
    # dispatchers hand theirs to their own log writers again.
    assert hookline.dispatcher_counter(VIA_KAFKA) >= len(during)
    assert hookline.topic_records("attempts") >= len(during)
    direct = hookline.dispatcher_counter(DIRECT)
    after = [hookline.post_event("outage.after", {"i": i}) for i in range(10)]
    want |= set(after)
    assert wait_all_arrived([arrivals], want, timeout=20)
    wait_for(lambda: hookline.dispatcher_counter(DIRECT) >= direct + len(after), timeout=20,
             what="the records after the outage written directly")
    wait_for(lambda: hookline.sql("SELECT count(*) FROM deliveries WHERE event_id = ANY(%s)",
                                  after)[0][0] == len(after), timeout=20,
             what="the events after the outage in the log")
