"""Delivery history, manual retry, replay, test sends and stats, through the gateway, over
deliveries made by real dispatchers to real receivers."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from waiting import wait_for

# Retry tiers of a few hundred ms so that a webhook exhausts its attempts in seconds.
FAST = {"HOOKLINE_RETRY_TIERS_MS": "200,1000", "HOOKLINE_RETRY_JITTER_PCT": "0"}
FAST_POLICY = {"strategy": "fixed", "max_attempts": 2, "initial_delay_ms": 200,
               "max_delay_ms": 200}



def deliveries(hookline, query: str = "") -> list[dict]:
    r = hookline.api("GET", "/api/v1/deliveries" + query)
    assert r.status_code == 200, r.text
    return r.json()["data"]


@pytest.mark.dispatchers(0)
def test_failed_delivery_is_logged_and_manual_retry_succeeds(hookline, make_receiver):
    hookline.start_dispatcher(**FAST)
    rcv = make_receiver(status=500)
    wh = hookline.create_webhook(rcv.url, ["order.created"], retry_policy=FAST_POLICY)
    hookline.settle()
    event_id = hookline.post_event("order.created", {"n": 1})

    [d] = wait_for(lambda: deliveries(hookline, "?status=failed"), what="a failed delivery")
    assert d["webhook_id"] == wh["id"] and d["event_id"] == event_id
    assert d["attempts"] == 2 and d["last_status_code"] == 500
    detail = hookline.api("GET", f"/api/v1/deliveries/{d['id']}").json()
    assert [a["attempt"] for a in detail["attempts"]] == [1, 2]
    assert all(a["http_status"] == 500 for a in detail["attempts"])
    assert detail["event"]["id"] == event_id
    assert len(rcv.snapshot()) == 2

    rcv.status = 200
    r = hookline.api("POST", f"/api/v1/deliveries/{d['id']}/retry")
    assert r.status_code == 202, r.text
    wait_for(lambda: hookline.api("GET", f"/api/v1/deliveries/{d['id']}").json()["status"]
             == "succeeded", what="the retried delivery to succeed")
    reqs = rcv.snapshot()
    assert len(reqs) == 3
    assert reqs[-1].headers["webhook-id"] == reqs[0].headers["webhook-id"] == d["id"]

    # Filters and 404s.
    assert deliveries(hookline, f"?webhook_id={wh['id']}&event_type=order.created")[0]["id"] == d["id"]
    assert deliveries(hookline, "?event_type=other.type") == []
    assert hookline.api("GET", "/api/v1/deliveries/msg_00000000000000000000000000000000").status_code == 404
    assert hookline.api("GET", "/api/v1/deliveries?status=lost").status_code == 400


@pytest.mark.dispatchers(0)
def test_replay_resends_failures_in_the_window(hookline, make_receiver):
    hookline.start_dispatcher(**FAST)
    rcv = make_receiver(status=503)
    wh = hookline.create_webhook(rcv.url, ["job.done"], retry_policy=FAST_POLICY)
    hookline.settle()
    since = (datetime.now(timezone.utc) - timedelta(seconds=5)).isoformat()
    ids = {hookline.post_event("job.done", {"i": i}) for i in range(3)}
    wait_for(lambda: len(deliveries(hookline, "?status=failed")) == 3, what="3 failed deliveries")

    rcv.status = 200
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/replay", json={"since": since})
    assert r.status_code == 202, r.text
    assert r.json()["replayed"] == 3
    wait_for(lambda: len(deliveries(hookline, "?status=succeeded")) == 3, what="3 successes")
    # Each event: 2 failed attempts, then the replayed one.
    seen = [req.json()["id"] for req in rcv.snapshot()]
    assert set(seen) == ids and len(seen) == 9, seen
    bad = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/replay", json={"since": "yesterday"})
    assert bad.status_code == 400


@pytest.mark.dispatchers(0)
def test_test_send_waits_for_outcome_and_stats_count_it(hookline, make_receiver):
    hookline.start_dispatcher(**FAST)
    rcv = make_receiver(status=200)
    wh = hookline.create_webhook(rcv.url, ["order.created"])
    hookline.settle()
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/test?wait=true", timeout=40)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "succeeded" and r.json()["event_type"] == "system.webhook.test"
    [req] = rcv.snapshot()
    assert req.json()["event"] == "system.webhook.test"
    assert req.json()["data"]["webhook_id"] == wh["id"]

    for i in range(4):
        hookline.post_event("order.created", {"i": i})
    wait_for(lambda: len(deliveries(hookline, "?status=succeeded")) == 5, what="5 successes")
    s = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}/stats").json()
    assert s["deliveries"] == 5 and s["succeeded"] == 5 and s["failed"] == 0
    assert s["success_rate"] == 1 and s["average_attempts"] == 1 and s["attempts"] == 5
    assert s["latency_ms"]["p50"] is not None and s["latency_ms"]["p99"] >= s["latency_ms"]["p50"]
    assert hookline.api("GET", f"/api/v1/webhooks/{wh['id']}/stats?window_hours=0").status_code == 400


@pytest.mark.dispatchers(0)
def test_delivery_list_pagination(hookline, make_receiver):
    hookline.start_dispatcher(**FAST)
    rcv = make_receiver(status=200)
    hookline.create_webhook(rcv.url, ["page.item"])
    hookline.settle()
    for i in range(7):
        hookline.post_event("page.item", {"i": i})
    wait_for(lambda: len(deliveries(hookline)) == 7, what="7 deliveries")
    seen, cursor = [], None
    while True:
        q = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = hookline.api("GET", "/api/v1/deliveries" + q).json()
        seen += [d["id"] for d in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and len(set(seen)) == 7
    assert hookline.api("GET", "/api/v1/deliveries?cursor=nope").status_code == 400


@pytest.mark.dispatchers(0)
def test_paused_webhook_keeps_events_as_skipped_and_replays_them_after_resume(hookline, make_receiver):
    hookline.start_dispatcher(**FAST)
    rcv = make_receiver(status=200)
    wh = hookline.create_webhook(rcv.url, ["order.created"])
    since = (datetime.now(timezone.utc) - timedelta(seconds=5)).isoformat()
    assert hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/pause").status_code == 200
    hookline.settle()
    ids = {hookline.post_event("order.created", {"i": i}) for i in range(3)}

    wait_for(lambda: len(deliveries(hookline, "?status=skipped")) == 3, what="3 skipped deliveries")
    time.sleep(1.0)
    assert rcv.snapshot() == [], "a paused webhook gets no attempts"

    assert hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/resume").status_code == 200
    hookline.settle()
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/replay", json={"since": since})
    assert r.status_code == 202 and r.json()["replayed"] == 3, r.text
    reqs = rcv.wait_for(3, timeout=20)
    assert {q.json()["id"] for q in reqs} == ids
    wait_for(lambda: len(deliveries(hookline, "?status=succeeded")) == 3, what="3 successes")


@pytest.mark.dispatchers(0)
def test_attempt_records_that_are_not_records_do_not_hold_up_the_delivery_log(hookline, receiver):
    """The log writer checks each record before it joins a batch and skips those that are
    not records; a record PostgreSQL still refuses fails only itself (the batch is then
    written a record at a time). The good records of the same batch reach the log."""
    from confluent_kafka import Producer

    # one long batch, so that the bad records and the deliveries' records share it
    hookline.start_dispatcher(HOOKLINE_LOG_FLUSH_MS="2000")
    hookline.create_webhook(receiver.url, ["order.created"])
    hookline.settle()
    p = Producer({"bootstrap.servers": hookline.infra.brokers})
    record = {"delivery_id": "msg_" + "ab" * 16, "tenant": "t", "event_id": "evt_x",
              "webhook_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "event_type": "order.created",
              "status": "succeeded", "attempt_no": 1, "started_ms": 1, "finished_ms": 2,
              "event": {"id": "evt_x"}}
    not_records = [
        {k: v for k, v in record.items() if k != "tenant"},        # a NOT NULL column missing
        {**record, "attempt_no": "1"},                              # of another type
        {**record, "started_ms": 999999999999999999},               # a time PostgreSQL refuses
    ]
    for bad in (b"{not json}", b"[1]", b'{"delivery_id": "\xff"}', b"42", b"",
                *(json.dumps(r).encode() for r in not_records)):
        p.produce(hookline.topic("attempts"), key=b"junk", value=bad)
    assert p.flush(10) == 0
    ids = {hookline.post_event("order.created", {"n": i}) for i in range(3)}
    receiver.wait_for(3, timeout=20)
    logged = wait_for(lambda: (d := deliveries(hookline, "?status=succeeded")) and len(d) == 3 and d,
                      what="3 logged successes")
    assert {d["event_id"] for d in logged} == ids


DIRECT = 'hookline_dispatcher_attempt_records_total{path="direct"}'
VIA_KAFKA = 'hookline_dispatcher_attempt_records_total{path="kafka"}'


@pytest.mark.dispatchers(0)
def test_the_delivery_log_is_written_without_a_round_trip_through_kafka(hookline, make_receiver):
    """While PostgreSQL keeps up, a dispatcher hands its attempt records to its own log
    writer: none crosses <prefix>.attempts, and the log still holds every delivery and
    attempt, successes and retried failures alike."""
    hookline.start_dispatcher(**FAST)
    ok, failing = make_receiver(), make_receiver(status=500)
    hookline.create_webhook(ok.url, ["direct.ok"])
    hookline.create_webhook(failing.url, ["direct.fail"], retry_policy=FAST_POLICY)
    hookline.settle()
    for i in range(20):
        hookline.post_event("direct.ok", {"i": i})
    for i in range(5):
        hookline.post_event("direct.fail", {"i": i})
    ok.wait_for(20, timeout=20)
    failing.wait_for(10, timeout=30)
    wait_for(lambda: len(deliveries(hookline, "?status=succeeded&limit=100")) == 20 and
             len(deliveries(hookline, "?status=failed&limit=100")) == 5,
             what="20 successes and 5 failures in the log")
    attempts = hookline.sql("SELECT count(*) FROM delivery_attempts")[0][0]
    assert attempts == 30  # one per success, two per failure
    assert hookline.dispatcher_counter(DIRECT) == 30
    assert hookline.dispatcher_counter(VIA_KAFKA) == 0
    assert hookline.topic_records("attempts") == 0


@pytest.mark.dispatchers(0)
def test_without_direct_writes_every_record_goes_through_kafka(hookline, receiver):
    """attempt_log_direct=false: the records cross <prefix>.attempts, as with a dispatcher
    that runs no log writer, and the log is the same."""
    hookline.start_dispatcher(HOOKLINE_ATTEMPT_LOG_DIRECT="false")
    hookline.create_webhook(receiver.url, ["direct.off"])
    hookline.settle()
    for i in range(10):
        hookline.post_event("direct.off", {"i": i})
    receiver.wait_for(10, timeout=20)
    wait_for(lambda: len(deliveries(hookline, "?status=succeeded&limit=100")) == 10,
             what="10 successes in the log")
    assert hookline.topic_records("attempts") == 10
    assert hookline.dispatcher_counter(VIA_KAFKA) == 10
    assert hookline.dispatcher_counter(DIRECT) == 0


@pytest.mark.dispatchers(0)
def test_records_the_writer_does_not_keep_up_with_go_through_kafka_and_the_log_is_whole(
        hookline, receiver):
    """With one record per transaction the writer falls behind a burst: the records it
    does not take go through <prefix>.attempts, which its Kafka consumer writes, and the log
    ends up with every delivery once, succeeded, whichever way its record came."""
    hookline.start_dispatcher(HOOKLINE_LOG_BATCH_MAX="1")
    hookline.create_webhook(receiver.url, ["burst.ping"])
    hookline.settle()
    n = 400
    r = hookline.api("POST", "/api/v1/events/batch",
                     json={"events": [{"event": "burst.ping", "data": {"i": i}} for i in range(n)]})
    assert r.status_code == 207, r.text
    receiver.wait_for(n, timeout=30)
    wait_for(lambda: hookline.sql("SELECT count(*) FROM deliveries WHERE status = 'succeeded'")
             [0][0] == n, timeout=60, what=f"{n} successes in the log")
    assert hookline.sql("SELECT count(*) FROM deliveries")[0][0] == n
    assert hookline.sql("SELECT count(*) FROM delivery_attempts")[0][0] == n
    via_kafka, direct = hookline.dispatcher_counter(VIA_KAFKA), hookline.dispatcher_counter(DIRECT)
    print(f"{direct:.0f} records written directly, {via_kafka:.0f} through Kafka")
    assert via_kafka > 0 and direct > 0 and via_kafka + direct == n
    assert hookline.topic_records("attempts") == via_kafka
