"""A webhook's delivery settings, seen from the receiver: the default retry policy, the
request timeout, rate limit and max concurrency, Retry-After, and the linear strategy.

Everything is set through the API and measured at real receivers on 127.0.0.1, with the
dispatchers' default retry tiers (5 s, 60 s, ...). Delays are multiples of 5 s or longer,
so these tests do not depend on how precisely a delay shorter than a tier is kept: a
retry may be late by up to one shortest tier (5 s), never early. Margins are generous
because the machine is loaded; no assertion is a benchmark.
"""

from __future__ import annotations

import email.utils
import time

import pytest
from waiting import wait_for

DEFAULT_JITTER = 0.20  # retry_jitter_pct's default (docs/configuration.md)
TIER_S = 5.0  # the shortest default retry tier: the most a retry may be late
SLACK_S = 1.0  # scheduling, Kafka and the receiver's own latency on a loaded machine


def gaps(reqs) -> list[float]:
    return [b.arrived - a.arrived for a, b in zip(reqs, reqs[1:])]


def delivery(hookline, status: str | None = None) -> dict:
    """The only delivery of the test's tenant (waits until it has the status)."""
    def one():
        r = hookline.api("GET", "/api/v1/deliveries")
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        if len(data) == 1 and (status is None or data[0]["status"] == status):
            return data[0]
        return None
    d = wait_for(one, timeout=30, what=f"one delivery with status {status}")
    r = hookline.api("GET", f"/api/v1/deliveries/{d['id']}")
    assert r.status_code == 200, r.text
    return r.json()


def expected_base_delays_s(policy: dict) -> list[float]:
    """The delays before attempts 2..max_attempts that the policy promises (no jitter)."""
    out = []
    for n in range(1, policy["max_attempts"]):
        d = policy["initial_delay_ms"]
        if policy["strategy"] == "linear":
            d = d * n
        elif policy["strategy"] == "exponential":
            d = d * 2 ** (n - 1)
        out.append(min(d, policy["max_delay_ms"]) / 1000.0)
    return out


def test_default_retry_policy_is_shown_and_applied(hookline, make_receiver):
    """The policy a webhook gets when it names none is shown, and its first three attempts
    keep its spacing. (The whole schedule to the last attempt and the dead letter is
    dp_retry_decide's, unit-tested exhaustively; waiting it out here would take minutes.)"""
    rcv = make_receiver(status=500)
    wh = hookline.create_webhook(rcv.url, ["order.created"])
    policy = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json()["retry_policy"]
    assert policy == wh["retry_policy"]
    assert policy["strategy"] in ("fixed", "linear", "exponential"), policy
    assert policy["max_attempts"] >= 3, policy
    delays = expected_base_delays_s(policy)[:2]
    assert sum(delays) <= 60, f"too long a test for this policy: {policy}"

    hookline.post_event("order.created", {"n": 1})
    budget = sum(d * (1 + DEFAULT_JITTER) + TIER_S + SLACK_S for d in delays) + 30
    reqs = rcv.wait_for(3, timeout=budget)[:3]
    assert len({r.headers["webhook-id"] for r in reqs}) == 1
    for i, (got, want) in enumerate(zip(gaps(reqs), delays)):
        lo, hi = want * (1 - DEFAULT_JITTER) - SLACK_S, want * (1 + DEFAULT_JITTER) + TIER_S + SLACK_S
        assert lo <= got <= hi, f"gap {i + 1}: {got:.1f} s, want {want} s ({lo:.1f}..{hi:.1f}); all {gaps(reqs)}"

    def third_logged():
        d = delivery(hookline)
        return d if d["attempt_count"] >= 3 else None
    d = wait_for(third_logged, timeout=30, what="three attempts in the log")
    assert d["status"] == "retrying", d
    assert [a["attempt"] for a in d["attempts"]][:3] == [1, 2, 3]


def test_attempt_that_outlives_timeout_ms_is_a_timeout_and_retried(hookline, make_receiver):
    calls = []

    def hang_first(req):
        calls.append(req)
        if len(calls) == 1:
            time.sleep(6.0)  # far beyond the webhook's 1 s
        return 200

    rcv = make_receiver(responder=hang_first)
    wh = hookline.create_webhook(rcv.url, ["order.created"], timeout_ms=1000, retry_policy={
        "strategy": "fixed", "max_attempts": 3, "initial_delay_ms": 5000, "max_delay_ms": 5000})
    assert wh["timeout_ms"] == 1000
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})

    d = delivery(hookline, "succeeded")
    first, second = d["attempts"][0], d["attempts"][1]
    assert len(d["attempts"]) == 2, d["attempts"]
    assert first["error_class"] == "timeout" and first["http_status"] is None, first
    # given up after about timeout_ms, not after the receiver's 6 s
    assert first["duration_ms"] < 4000, first
    assert second["error_class"] is None and second["http_status"] == 200, second
    assert len(calls) == 2
    # retried after its delay (5 s, at least throttle_min_delay_ms capped at max_delay_ms);
    # `calls` is in order of arrival (the receiver records a request once answered)
    assert calls[1].arrived - calls[0].arrived >= 1.0 + 5.0 - SLACK_S, gaps(calls)


def test_max_concurrency_caps_open_requests_at_the_receiver(hookline, make_receiver):
    def slow(req):
        time.sleep(1.0)
        return 200

    rcv = make_receiver(responder=slow)
    hookline.create_webhook(rcv.url, ["order.created"], max_concurrency=2)
    hookline.settle()
    r = hookline.api("POST", "/api/v1/events/batch", json={
        "events": [{"event": "order.created", "data": {"n": i}} for i in range(8)]})
    assert r.status_code in (200, 202, 207), r.text
    reqs = rcv.wait_for(8, timeout=60)
    assert rcv.max_open == 2, f"at most 2 at once, and 2 used: saw {rcv.max_open}"
    t = sorted(q.arrived for q in reqs)  # recorded as answered, not as arrived
    span = t[-1] - t[0]
    assert span >= 3.0 - SLACK_S, f"8 one-second requests 2 at a time took {span:.1f} s"


def test_webhooks_sharing_a_host_are_not_queued_behind_each_other(hookline, make_receiver):
    """Many webhooks on one host (a chat service's webhook URLs, one customer's endpoint
    for many tenants) each get their own connections: none waits for another's answer
    and none times out for it. Each is bounded by its own max_concurrency and the
    dispatcher's max_in_flight only. A cap of 64 connections per host held the rest of
    these requests in libcurl, where their timeout ran before they were sent."""
    n = 80
    hold = 2.0  # each answer takes 2 s; the timeout is 3.5 s

    def slow(req):
        time.sleep(hold)
        return 200

    rcv = make_receiver(responder=slow)
    for _ in range(n):
        hookline.create_webhook(rcv.url, ["order.created"], timeout_ms=3500)
    hookline.settle()
    eid = hookline.post_event("order.created", {"n": 1})
    reqs = rcv.wait_for(n, timeout=60)
    assert rcv.max_open == n, f"all {n} requests open at once: saw at most {rcv.max_open}"
    assert len({q.headers["webhook-id"] for q in reqs}) == n, "one request per webhook"

    def logged():
        page = hookline.api("GET", "/api/v1/deliveries?event_type=order.created&limit=250")
        assert page.status_code == 200, page.text
        mine = [d for d in page.json()["data"] if d["event_id"] == eid]
        return mine if len(mine) == n and all(d["status"] == "succeeded" for d in mine) \
            else None

    mine = wait_for(logged, timeout=30, what=f"{n} deliveries logged as succeeded")
    assert all(d["attempts"] == 1 for d in mine), \
        [(d["attempts"], d["last_error_class"]) for d in mine if d["attempts"] != 1]


def test_rate_limit_caps_requests_per_second_at_the_receiver(hookline, make_receiver):
    rate, n = 4, 24
    rcv = make_receiver()
    wh = hookline.create_webhook(rcv.url, ["order.created"], rate_limit_per_s=rate)
    assert wh["rate_limit_per_s"] == rate
    hookline.settle()
    r = hookline.api("POST", "/api/v1/events/batch", json={
        "events": [{"event": "order.created", "data": {"n": i}} for i in range(n)]})
    assert r.status_code in (200, 202, 207), r.text
    reqs = rcv.wait_for(n, timeout=90)
    t = sorted(q.arrived for q in reqs)
    # A bucket of `rate` tokens refilled at `rate` per second: a burst of at most `rate`,
    # so any one-second window sees at most 2 * rate, and all n take (n - rate) / rate s.
    busiest = max(sum(1 for x in t if s <= x < s + 1.0) for s in t)
    assert busiest <= 2 * rate + 1, f"{busiest} requests within one second at {rate}/s"
    span = t[-1] - t[0]
    assert span >= (n - rate) / rate - SLACK_S, f"{n} requests at {rate}/s in {span:.1f} s"
    assert len({q.json()["data"]["n"] for q in reqs}) == n, "every event, once"


def test_retry_after_on_503_and_429_is_honoured(hookline, make_receiver):
    def once(status, retry_after):
        seen = []

        def answer(req):
            seen.append(req)
            if len(seen) == 1:
                return status, {"Retry-After": retry_after()}
            return 200
        return answer

    # 503 with delta-seconds; the policy alone would retry after 1 s (at most 5 s late)
    r503 = make_receiver(responder=once(503, lambda: "9"))
    # 429 with an HTTP date 9 s ahead (whole seconds: at least 8 s)
    r429 = make_receiver(responder=once(429, lambda: email.utils.formatdate(
        time.time() + 9, usegmt=True)))
    policy = {"strategy": "fixed", "max_attempts": 3, "initial_delay_ms": 1000, "max_delay_ms": 2000}
    hookline.create_webhook(r503.url, ["order.created"], retry_policy=policy)
    hookline.create_webhook(r429.url, ["order.created"], retry_policy=policy)
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})

    a = r503.wait_for(2, timeout=40)
    b = r429.wait_for(2, timeout=40)
    assert a[1].arrived - a[0].arrived >= 9.0 - 0.2, f"503 Retry-After: 9 -> {gaps(a)}"
    assert b[1].arrived - b[0].arrived >= 8.0 - 0.2, f"429 Retry-After: date +9 s -> {gaps(b)}"
    # honoured, not padded beyond a tier hop
    assert a[1].arrived - a[0].arrived <= 9.0 + TIER_S + SLACK_S, gaps(a)
    assert b[1].arrived - b[0].arrived <= 9.0 + TIER_S + SLACK_S, gaps(b)


@pytest.mark.service_env(HOOKLINE_RETRY_JITTER_PCT="0")
def test_linear_strategy_end_to_end(hookline, make_receiver):
    rcv = make_receiver(status=500)
    policy = {"strategy": "linear", "max_attempts": 4, "initial_delay_ms": 5000, "max_delay_ms": 60000}
    wh = hookline.create_webhook(rcv.url, ["order.created"], retry_policy=policy)
    assert wh["retry_policy"] == policy
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})

    reqs = rcv.wait_for(4, timeout=5 + 10 + 15 + 3 * (TIER_S + SLACK_S) + 20)
    got = gaps(reqs)
    # 5, 10, 15 s (exponential would be 5, 10, 20)
    for want, g in zip([5.0, 10.0, 15.0], got):
        assert want - SLACK_S <= g <= want + 2.5, f"linear 5 s steps: {got}"
    d = delivery(hookline, "failed")
    assert d["attempt_count"] == 4
    time.sleep(TIER_S + SLACK_S)
    assert len(rcv.snapshot()) == 4
