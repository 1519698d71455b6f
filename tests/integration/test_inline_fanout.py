"""Deliveries that start at fan-out (dispatcher/src/dp_fanout.h, `inline_fanout_max`).

An event that matches at most `inline_fanout_max` webhooks is delivered by the dispatcher
that fans it out, without a task on <prefix>.deliveries, to every matching webhook that has
no rate limit and no max_concurrency of its own; those keep a task, so their limits stay
exact on one dispatcher, and so does every match of a larger fan-out. What a user sees:
every event arrives, signed, at every webhook, recorded in the delivery log; what a service
reading the deliveries topic sees: tasks only where the rules above say so. And the events
message is not finished before its deliveries are: a dispatcher killed mid-delivery leaves
the event to be delivered again, never lost. And when a rebalance moves an events partition,
what its old owner had not started yet is its new owner's alone: a receiver sees repeats
only of the attempts that were on the wire. A task leaves at once even while the attempt
records are gathered into larger produce requests (`bulk_linger_ms`).
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter

import pytest

from test_metrics import dp_metric
from waiting import wait_for


def task_webhooks(hookline, kafka_consumer_factory) -> dict[str, int]:
    """Tasks on <prefix>.deliveries per webhook id (the message key)."""
    out: dict[str, int] = {}
    for m in kafka_consumer_factory(hookline.topic("deliveries")).messages(duration=3.0):
        k = m.key().decode()
        out[k] = out.get(k, 0) + 1
    return out


def delivered_ids(receiver) -> set[str]:
    return {r.json()["id"] for r in receiver.snapshot()}


@pytest.mark.dispatchers(2)
def test_small_fanout_is_delivered_in_place_and_own_limits_keep_their_task(
        hookline, make_receiver, kafka_consumer_factory):
    plain, limited, paced = make_receiver(), make_receiver(), make_receiver()
    w_plain = hookline.create_webhook(plain.url, ["order.created"])
    w_limited = hookline.create_webhook(limited.url, ["order.created"], max_concurrency=2)
    w_paced = hookline.create_webhook(paced.url, ["order.created"], rate_limit_per_s=100)
    ids = {hookline.post_event("order.created", {"n": n}) for n in range(24)}

    for r in (plain, limited, paced):
        assert wait_for(lambda r=r: ids <= delivered_ids(r), timeout=30), \
            f"{len(ids - delivered_ids(r))} events missing at {r.url}"
        assert all(q.headers.get("webhook-signature", "").startswith("v1,") for q in r.snapshot())

    tasks = task_webhooks(hookline, kafka_consumer_factory)
    assert w_plain["id"] not in tasks, f"tasks for a webhook without limits: {tasks}"
    assert tasks.get(w_limited["id"]) == 24 and tasks.get(w_paced["id"]) == 24, tasks

    # the delivery log has the in-place deliveries like any other
    def logged() -> bool:
        r = hookline.api("GET", f"/api/v1/deliveries?webhook_id={w_plain['id']}&limit=100")
        return r.status_code == 200 and sum(
            d["status"] == "succeeded" for d in r.json()["data"]) == 24
    assert wait_for(logged, timeout=30)


@pytest.mark.dispatchers(1)
@pytest.mark.service_env(HOOKLINE_INLINE_FANOUT_MAX="2")
def test_a_fanout_beyond_the_limit_goes_through_tasks(hookline, make_receiver,
                                                      kafka_consumer_factory):
    receivers = [make_receiver() for _ in range(3)]
    hooks = [hookline.create_webhook(r.url, ["user.created"]) for r in receivers]
    one = make_receiver()
    alone = hookline.create_webhook(one.url, ["user.deleted"])
    big = hookline.post_event("user.created", {"who": "everyone"})
    small = hookline.post_event("user.deleted", {"who": "one"})

    for r in receivers:
        assert wait_for(lambda r=r: big in delivered_ids(r), timeout=30)
    assert wait_for(lambda: small in delivered_ids(one), timeout=30)
    tasks = task_webhooks(hookline, kafka_consumer_factory)
    assert {h["id"] for h in hooks} <= set(tasks), tasks
    assert alone["id"] not in tasks, tasks


@pytest.mark.dispatchers(1)
@pytest.mark.service_env(HOOKLINE_INLINE_FANOUT_MAX="0")
def test_inline_fanout_max_zero_always_makes_tasks(hookline, receiver, kafka_consumer_factory):
    w = hookline.create_webhook(receiver.url, ["user.created"])
    ev = hookline.post_event("user.created", {"n": 1})
    assert wait_for(lambda: ev in delivered_ids(receiver), timeout=30)
    assert task_webhooks(hookline, kafka_consumer_factory).get(w["id"]) == 1


@pytest.mark.dispatchers(1)
@pytest.mark.service_env(HOOKLINE_SESSION_TIMEOUT_MS="6000")
def test_a_dispatcher_killed_mid_delivery_leaves_the_event_to_be_delivered_again(
        hookline, make_receiver):
    # The first attempt hangs at the receiver while its dispatcher is killed; nothing but
    # the events message's offset (not stored until the delivery is done) brings it back.
    first = []

    def slow_first(req):
        if not first:
            first.append(req)
            time.sleep(4)
        return 200

    slow = make_receiver(responder=slow_first)
    hookline.create_webhook(slow.url, ["order.created"])
    ev = hookline.post_event("order.created", {"n": 1})
    assert wait_for(lambda: slow.open_now >= 1, timeout=20), "the attempt never started"
    hookline.kill_dispatcher(0, signal.SIGKILL)
    hookline.start_dispatcher()
    assert wait_for(lambda: len([r for r in slow.snapshot() if r.json()["id"] == ev]) >= 2,
                    timeout=40), "the event was not delivered again after the kill"
    got = [r for r in slow.snapshot() if r.json()["id"] == ev]
    assert len({r.headers["webhook-id"] for r in got}) == 1  # the same delivery, again


@pytest.mark.dispatchers(1)
@pytest.mark.service_env(HOOKLINE_DEFAULT_MAX_CONCURRENCY="2")
def test_a_joining_dispatcher_takes_over_what_was_parked_on_its_partitions_without_repeats(
        hookline, make_receiver):
    # One dispatcher takes a backlog for a slow webhook: 2 attempts at a time (20/s), the
    # rest parked in memory. A second one joins and gets half of the events partitions; it
    # reads them from the committed offset, so it delivers what the first had parked there.
    # Had the first gone on with those too, each would arrive twice.
    def slow(req):
        time.sleep(0.1)
        return 200

    r = make_receiver(responder=slow)
    hookline.create_webhook(r.url, ["order.created"])
    ids = {hookline.post_event("order.created", {"n": n}) for n in range(400)}
    assert wait_for(lambda: len(r.snapshot()) >= 10, timeout=30), "no deliveries began"
    hookline.start_dispatcher()
    assert len(r.snapshot()) < 300, "the backlog was gone before the second dispatcher joined"

    assert wait_for(lambda: ids <= delivered_ids(r), timeout=90), \
        f"{len(ids - delivered_ids(r))} events never arrived"
    time.sleep(1.5)  # anything still on its way
    got = [q.json()["id"] for q in r.snapshot()]
    repeats = len(got) - len(set(got))
    handed = dp_metric(hookline, 0, "hookline_dispatcher_deliveries_handed_over_total") or 0.0
    # at most the attempts on the wire at the rebalance (2), and a few finished ones whose
    # offsets were not committed yet
    assert repeats <= 8, f"{repeats} events arrived twice ({handed:.0f} handed over)"
    assert handed >= 1, "the first dispatcher dropped nothing of the partitions it gave up"


@pytest.mark.dispatchers(1)
@pytest.mark.service_env(HOOKLINE_BULK_LINGER_MS="1000")
def test_a_task_leaves_at_once_while_the_attempt_records_are_gathered(hookline, receiver):
    # A webhook with a max_concurrency of its own gets a task on <prefix>.deliveries (one
    # Kafka hop more). The attempt records go through the producer that gathers them for
    # bulk_linger_ms, here a whole second; the task must not wait for that.
    w = hookline.create_webhook(receiver.url, ["order.created"], max_concurrency=4)
    hops = []
    for n in range(5):
        sent = time.monotonic()
        ev = hookline.post_event("order.created", {"n": n})
        got = wait_for(lambda ev=ev: [q for q in receiver.snapshot() if q.json()["id"] == ev],
                       timeout=30, what=f"event {n}")
        hops.append(round(got[0].arrived - sent, 3))
    assert sorted(hops)[2] < 0.6, f"POST to receipt, seconds: {hops}"

    # and the gathered records still reach the delivery log
    def logged() -> bool:
        r = hookline.api("GET", f"/api/v1/deliveries?webhook_id={w['id']}&limit=10")
        return r.status_code == 200 and sum(
            d["status"] == "succeeded" for d in r.json()["data"]) == 5
    assert wait_for(logged, timeout=30)


@pytest.mark.dispatchers(1)
@pytest.mark.service_env(HOOKLINE_DEFAULT_MAX_CONCURRENCY="50", HOOKLINE_RETRY_TIERS_MS="500,2000",
                         HOOKLINE_RETRY_JITTER_PCT="0", HOOKLINE_BREAKER_MIN_REQUESTS="1000")
def test_an_attempt_that_ends_after_its_partition_moved_leaves_the_retry_to_the_new_owner(
        hookline, make_receiver):
    # 20 events for a failing webhook, 2 attempts each. The first dispatcher's first
    # attempts are on the wire (the receiver holds them until the group has rebalanced)
    # when a second dispatcher joins and takes some of the events partitions. It reads their events again and makes both
    # attempts itself. Had the first dispatcher also scheduled the retry of the attempt it
    # had on the wire, those events would arrive a fourth time, and be dead-lettered twice.
    # (The breaker stays closed: its deferrals would only slow the test down.)
    release = threading.Event()

    def failing(req):
        release.wait(30)
        return 500

    r = make_receiver(responder=failing)
    wh = hookline.create_webhook(r.url, ["order.created"], retry_policy={
        "strategy": "fixed", "max_attempts": 2, "initial_delay_ms": 1000,
        "max_delay_ms": 1000})
    ids = {hookline.post_event("order.created", {"n": n}) for n in range(20)}
    assert wait_for(lambda: r.open_now >= 20, timeout=20), f"{r.open_now} attempts on the wire"
    hookline.start_dispatcher()  # returns once both are in the group
    time.sleep(1)
    release.set()  # the held attempts end now, and the ones after them at once

    def failed() -> set[str]:
        resp = hookline.api("GET", f"/api/v1/deliveries?webhook_id={wh['id']}&status=failed"
                                   "&limit=100")
        return {d["event_id"] for d in resp.json()["data"]} if resp.status_code == 200 else set()
    def statuses() -> Counter:
        resp = hookline.api("GET", f"/api/v1/deliveries?webhook_id={wh['id']}&limit=100")
        return Counter((d["status"], d["attempts"]) for d in resp.json()["data"])
    try:
        wait_for(lambda: failed() == ids, timeout=60, what="all 20 deliveries to fail")
    except AssertionError as e:
        raise AssertionError(f"{e}: (status, attempts): {statuses()}; requests per event: "
                             f"{sorted(Counter(q.json()['id'] for q in r.snapshot()).values())}")
    time.sleep(3)  # a second chain's retry would come 1 s after the held attempts ended
    per_event = Counter(q.json()["id"] for q in r.snapshot())
    assert set(per_event) == ids
    # each event: its 2 attempts, and the attempt on the wire again when its partition moved
    assert max(per_event.values()) <= 3, sorted(per_event.values())
    assert 3 in per_event.values(), \
        f"no partition moved with an attempt on the wire: {sorted(per_event.values())}"
