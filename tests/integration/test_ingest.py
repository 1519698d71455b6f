"""Event ingest: batches answered per event, idempotent client ids, typed events checked
against their catalog schema, envelope fields, limits. What reached Kafka is read back from
the events topic itself."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest


def topic_events(hookline, kafka_consumer_factory, duration: float = 2.0,
                 want: int | None = None) -> list[dict]:
    msgs = kafka_consumer_factory(hookline.topic("events")).messages(duration=duration,
                                                                     want=want)
    return [json.loads(m.value()) for m in msgs]


@pytest.mark.dispatchers(0)
def test_envelope_carries_every_field(hookline, kafka_consumer_factory):
    r = hookline.api("POST", "/api/v1/events",
                     json={"event": "order.created", "data": {"n": 1}, "id": "ord-1",
                           "metadata": {"src": "shop"}, "occurred_at": "2026-11-01T10:00:00Z",
                           "actor_id": 42},
                     headers={"X-Request-Id": "req-77"})
    assert r.status_code == 202, r.text
    assert r.json()["id"] == "ord-1" and r.json()["duplicate"] is False
    [env] = topic_events(hookline, kafka_consumer_factory)
    assert env == {"id": "ord-1", "event": "order.created", "tenant": hookline.tenant,
                   "timestamp": r.json()["timestamp"], "occurred_at": "2026-11-01T10:00:00Z",
                   "request_id": "req-77", "actor_id": 42, "data": {"n": 1},
                   "metadata": {"src": "shop"}}


@pytest.mark.dispatchers(0)
def test_repeated_client_id_returns_original_and_produces_once(hookline, kafka_consumer_factory):
    first = hookline.api("POST", "/api/v1/events", json={"event": "a.b", "data": 1, "id": "dup-1"})
    again = hookline.api("POST", "/api/v1/events", json={"event": "a.c", "data": 2, "id": "dup-1"})
    assert first.status_code == again.status_code == 202
    assert again.json()["duplicate"] is True
    assert again.json()["event"] == "a.b", "a duplicate answers as the original did"
    assert again.json()["timestamp"] == first.json()["timestamp"]
    # Another tenant may use the same id independently.
    other = hookline.tenant + "-o"
    hookline.create_tenant(other)
    key = hookline.make_key("publisher", tenant=other)
    r = hookline.api("POST", "/api/v1/events", json={"event": "a.b", "data": 3, "id": "dup-1"},
                     headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 202 and r.json()["duplicate"] is False
    envs = topic_events(hookline, kafka_consumer_factory)
    assert sorted((e["tenant"], e["data"]) for e in envs) == sorted(
        [(hookline.tenant, 1), (other, 3)])


@pytest.mark.dispatchers(0)
def test_batch_answers_each_event_and_produces_only_valid_ones(hookline, kafka_consumer_factory):
    batch = {"events": [
        {"event": "a.one", "data": {}},
        {"event": "bad type!", "data": {}},
        {"event": "a.two"},
        "not an object",
        {"event": "a.three", "data": [1, 2], "id": "b-3"},
        {"event": "a.three", "data": [1, 2], "id": "b-3"},
    ]}
    r = hookline.api("POST", "/api/v1/events/batch", json=batch)
    assert r.status_code == 207, r.text
    res = r.json()
    # The repeated id within the batch meets its twin's claim still in flight: 409.
    assert [x["status"] for x in res["data"]] == [202, 400, 400, 400, 202, 409]
    assert [x["index"] for x in res["data"]] == list(range(6))
    assert res["data"][1]["errors"][0]["pointer"].startswith("/events/1")
    assert res["accepted"] + res["rejected"] == 6
    types = sorted(e["event"] for e in topic_events(hookline, kafka_consumer_factory))
    assert types == ["a.one", "a.three"], types

    for bad in ({"events": []}, {"events": [{}] * 1001}, {"nope": 1}):
        r = hookline.api("POST", "/api/v1/events/batch", json=bad)
        assert r.status_code == 400, r.text


@pytest.mark.dispatchers(0)
def test_typed_event_is_checked_against_its_schema(hookline, kafka_consumer_factory):
    schema = {"type": "object", "required": ["order_id"],
              "properties": {"order_id": {"type": "integer", "minimum": 1}}}
    r = hookline.api("POST", "/api/v1/event-types", json={"name": "order.paid", "schema": schema})
    assert r.status_code == 201, r.text

    r = hookline.api("POST", "/api/v1/events", json={"event": "order.paid", "data": {"order_id": "x"}})
    assert r.status_code == 422, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["pointer"] == "/data/order_id"
    r = hookline.api("POST", "/api/v1/events", json={"event": "order.paid", "data": {}})
    assert r.status_code == 422 and r.json()["errors"][0]["keyword"] == "required"
    assert hookline.api("POST", "/api/v1/events",
                        json={"event": "order.paid", "data": {"order_id": 7}}).status_code == 202

    # A schema change applies to the very next event.
    r = hookline.api("PATCH", "/api/v1/event-types/order.paid", json={"schema": None})
    assert r.status_code == 200, r.text
    assert hookline.api("POST", "/api/v1/events",
                        json={"event": "order.paid", "data": {"order_id": "x"}}).status_code == 202
    datas = [e["data"] for e in topic_events(hookline, kafka_consumer_factory)]
    assert sorted(map(json.dumps, datas)) == sorted(map(json.dumps, [{"order_id": 7}, {"order_id": "x"}]))


@pytest.mark.dispatchers(0)
def test_size_limits(hookline, kafka_consumer_factory):
    big = "x" * 300_000
    r = hookline.api("POST", "/api/v1/events", json={"event": "a.b", "data": big})
    assert r.status_code == 413, r.text
    r = hookline.api("POST", "/api/v1/events", data=b"{" + b" " * 2_000_000 + b"}",
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert topic_events(hookline, kafka_consumer_factory, duration=1.5) == []


def _raw_request(sock, body: bytes, key: str, version: str = "1.1", extra: str = "") -> bytes:
    sock.sendall((f"POST /api/v1/events HTTP/{version}\r\nHost: 127.0.0.1\r\n"
                  f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a full answer: {buf!r}"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    while len(rest) < int(headers["Content-Length"]):
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    return lines[0], headers, rest


@pytest.mark.dispatchers(0)
def test_accepted_answer_headers_and_keep_alive(hookline):
    """The 202 is written in one piece: every header civetweb used to send is there, the
    connection stays open for the next request unless the client asked to close it."""
    import socket

    key = hookline.default_headers["Authorization"].split(" ", 1)[1]
    body = json.dumps({"event": "conn.test", "data": {"s": "caf\u00e9 \"q\" \\ \u0001"}}).encode()
    with socket.create_connection(("127.0.0.1", hookline.http_port), timeout=15) as s:
        for _ in range(2):  # the same connection carries both
            status, headers, payload = _raw_request(s, body, key)
            assert status == "HTTP/1.1 202 Accepted"
            assert headers["Content-Type"] == "application/json"
            assert headers["Cache-Control"] == "no-store"
            assert headers["Connection"] == "keep-alive"
            assert headers["Date"].endswith(" GMT")
            assert int(headers["Content-Length"]) == len(payload)
            answer = json.loads(payload)
            assert answer["status"] == "accepted" and answer["duplicate"] is False
            assert answer["event"] == "conn.test"
        status, headers, _ = _raw_request(s, body, key, extra="Connection: close\r\n")
        assert status == "HTTP/1.1 202 Accepted" and headers["Connection"] == "close"
        assert s.recv(1) == b"", "the gateway closes after 'Connection: close'"
    with socket.create_connection(("127.0.0.1", hookline.http_port), timeout=15) as s:
        status, headers, _ = _raw_request(s, body, key, version="1.0")
        assert status == "HTTP/1.0 202 Accepted" and headers["Connection"] == "close"
        assert s.recv(1) == b""
    # A refused event on a kept-alive connection: problem+json, and the connection lives on.
    with socket.create_connection(("127.0.0.1", hookline.http_port), timeout=15) as s:
        status, headers, payload = _raw_request(s, b'{"event":"x"}', key)
        assert status == "HTTP/1.1 400 Bad Request"
        assert headers["Content-Type"] == "application/problem+json"
        assert headers["Connection"] == "keep-alive"
        status, _, _ = _raw_request(s, body, key)
        assert status == "HTTP/1.1 202 Accepted"


def produced_by(hookline) -> dict[str, float]:
    """hookline_gateway_produced_messages_total by producer, from the gateway's /metrics."""
    text = hookline.api("GET", "/metrics").text
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^hookline_gateway_produced_messages_total\{producer="(\w+)"\} (\S+)$', text, re.M)}


def post_spaced(hookline, n: int, gap: float) -> list[str]:
    ids = []
    for i in range(n):
        ids.append(hookline.post_event("quiet.tick", {"i": i}))
        time.sleep(gap)
    return ids


def post_burst(hookline, n: int, threads: int = 16) -> list[str]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda i: hookline.post_event("busy.tick", {"i": i}), range(n)))


@pytest.mark.dispatchers(0)
@pytest.mark.service_env(HOOKLINE_BUSY_RATE_PER_S=50, HOOKLINE_BUSY_LINGER_MS=20)
def test_events_of_a_busy_gateway_take_the_lingering_producer_and_none_is_lost(
        hookline, kafka_consumer_factory):
    """Events accepted while the gateway takes at least busy_rate_per_s a second go through
    the second producer, which lingers (here 20 ms) so that they share produce requests;
    below that rate every event leaves at once. Either way each is in Kafka exactly once."""
    quiet = post_spaced(hookline, 5, 0.3)  # about 3/s
    assert produced_by(hookline) == {"prompt": 5, "busy": 0}
    burst = post_burst(hookline, 800)
    counts = produced_by(hookline)
    assert counts["prompt"] + counts["busy"] == 805
    # All but the burst's first window (100-200 ms: at most a few hundred events from here)
    assert counts["busy"] >= 400, counts
    time.sleep(0.5)  # a few windows without an event: the gateway is quiet again
    quiet += post_spaced(hookline, 3, 0.3)
    assert produced_by(hookline) == {"prompt": counts["prompt"] + 3, "busy": counts["busy"]}
    ids = [e["id"] for e in topic_events(hookline, kafka_consumer_factory, duration=20.0,
                                         want=len(quiet) + len(burst))]
    assert sorted(ids) == sorted(quiet + burst), "each accepted event in Kafka"
    assert hookline.topic_records("events") == len(quiet) + len(burst), "and only once"


@pytest.mark.dispatchers(0)
@pytest.mark.service_env(HOOKLINE_BUSY_RATE_PER_S=50, HOOKLINE_BUSY_LINGER_MS=0)
def test_without_a_busy_linger_every_event_leaves_at_once(hookline, kafka_consumer_factory):
    burst = post_burst(hookline, 200)
    assert produced_by(hookline) == {"prompt": 200, "busy": 0}
    ids = [e["id"] for e in topic_events(hookline, kafka_consumer_factory, duration=20.0,
                                         want=len(burst))]
    assert sorted(ids) == sorted(burst)
    assert hookline.topic_records("events") == len(burst)
