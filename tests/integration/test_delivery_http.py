"""The dispatcher's HTTP/1.1 on the wire: keep-alive, a kept connection the receiver
dropped, every way a response may be framed, and answers that are not HTTP or never end.

The dispatcher opens connections with libcurl and speaks HTTP on them itself
(dispatcher/src/dp_conn.c, dp_http.c). These receivers are raw sockets on 127.0.0.1, so
each test decides byte for byte what the dispatcher reads, and sees every connection it
opens.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Callable

import pytest
from waiting import wait_for

ONE_ATTEMPT = {"strategy": "fixed", "max_attempts": 1, "initial_delay_ms": 1000,
               "max_delay_ms": 1000}


@dataclass
class Seen:
    conn: int          # the connection's number at this receiver, from 0
    index: int         # the request's number on its connection, from 0
    head: str
    body: bytes


# answer(seen) -> bytes to send; None to close the connection without a word; "hang" to
# keep it open and silent; (bytes, "hang") to send the bytes, then hang.
Answer = Callable[[Seen], "bytes | str | tuple | None"]


@dataclass
class RawReceiver:
    answer: Answer
    sock: socket.socket = field(default_factory=lambda: socket.socket())
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "RawReceiver":
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def requests(self) -> list[Seen]:
        with self.lock:
            return list(self.seen)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with self.lock:
                n = self.connections
                self.connections += 1
            threading.Thread(target=self._serve, args=(c, n), daemon=True).start()

    def _serve(self, c: socket.socket, n: int) -> None:
        buf = b""
        index = 0
        c.settimeout(30)
        try:
            while not self.stop.is_set():
                while b"\r\n\r\n" not in buf:
                    chunk = c.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, buf = buf.split(b"\r\n\r\n", 1)
                text = head.decode("latin-1")
                length = 0
                for line in text.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                while len(buf) < length:
                    chunk = c.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                s = Seen(n, index, text, body)
                with self.lock:
                    self.seen.append(s)
                index += 1
                out = self.answer(s)
                if out is None:
                    return
                if isinstance(out, tuple):
                    c.sendall(out[0])
                    out = out[1]
                if out == "hang":
                    self.stop.wait(60)
                    return
                c.sendall(out)
                if b"Connection: close" in out or out.startswith(b"HTTP/1.0"):
                    return
        except OSError:
            return
        finally:
            c.close()


@pytest.fixture
def raw_receiver():
    made: list[RawReceiver] = []

    def make(answer: Answer) -> RawReceiver:
        r = RawReceiver(answer).start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def dp_counter(hookline, series: str) -> float:
    value = hookline.dispatcher_metric(series)
    assert value is not None, f"{series} is not exported"
    return value


def ok(body: bytes = b"ok") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def deliveries_of(hookline, webhook_id: str, n: int, status: str | None = "succeeded"):
    """The webhook's n deliveries (the list's entries) and their attempts (from each
    delivery's own page), once all n are there, with the status and an attempt each."""
    def all_there():
        r = hookline.api("GET", f"/api/v1/deliveries?webhook_id={webhook_id}&limit=100")
        assert r.status_code == 200, r.text
        data = [d for d in r.json()["data"] if d["webhook_id"] == webhook_id]
        if len(data) != n or any(status and d["status"] != status for d in data):
            return None
        out = []
        for d in data:
            r = hookline.api("GET", f"/api/v1/deliveries/{d['id']}")
            assert r.status_code == 200, r.text
            if not r.json()["attempts"]:
                return None
            out.append((d, r.json()["attempts"]))
        return out
    return wait_for(all_there, timeout=60, what=f"{n} deliveries {status or ''}")


def test_deliveries_share_one_kept_alive_connection(hookline, raw_receiver):
    """Twenty deliveries, one at a time, go over a single connection, each a well-formed
    HTTP/1.1 request: Host, the signature headers, the exact body and its length."""
    rcv = raw_receiver(lambda s: ok())
    wh = hookline.create_webhook(rcv.url, ["http.kept"], max_concurrency=1)
    ids = [hookline.post_event("http.kept", {"n": i}) for i in range(20)]
    wait_for(lambda: len(rcv.requests()) >= 20, timeout=60, what="20 requests")
    reqs = rcv.requests()
    assert len(reqs) == 20
    assert rcv.connections == 1, f"{rcv.connections} connections for 20 deliveries"
    port = rcv.sock.getsockname()[1]
    for s in reqs:
        lines = s.head.split("\r\n")
        assert lines[0] == "POST /hook HTTP/1.1"
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (ln.partition(":") for ln in lines[1:])}
        assert headers["host"] == f"127.0.0.1:{port}"
        assert headers["content-type"] == "application/json"
        assert headers["content-length"] == str(len(s.body))
        assert headers["webhook-id"] and headers["webhook-signature"].startswith("v1,")
    assert sorted(json.loads(s.body)["data"]["n"] for s in reqs) == list(range(20))
    got = deliveries_of(hookline, wh["id"], 20)
    assert {d["event_id"] for d, _ in got} == set(ids)
    assert all(d["attempts"] == 1 for d, _ in got)
    assert dp_counter(hookline, "hookline_dispatcher_connections_opened_total") == 1
    assert dp_counter(hookline, "hookline_dispatcher_connections_idle") == 1


def test_a_kept_connection_dropped_as_the_next_request_comes_costs_no_attempt(
        hookline, raw_receiver):
    """The receiver drops each kept-alive connection, without a word, when the second
    request arrives on it (as a server whose idle timeout just fired does). The request
    goes again on a new connection: every delivery succeeds at its first attempt."""
    rcv = raw_receiver(lambda s: ok() if s.index == 0 else None)
    wh = hookline.create_webhook(rcv.url, ["http.dropped"], max_concurrency=1)
    for i in range(6):
        hookline.post_event("http.dropped", {"n": i})
    got = deliveries_of(hookline, wh["id"], 6)
    assert all(d["attempts"] == 1 for d, _ in got), [d["attempts"] for d, _ in got]
    reqs = rcv.requests()
    answered = [s for s in reqs if s.index == 0]
    assert len(answered) == 6
    assert len(reqs) > len(answered), "no request was sent on a kept connection"
    assert dp_counter(hookline, "hookline_dispatcher_requests_resent_total") == \
        len(reqs) - len(answered)


@pytest.mark.parametrize("name,answer,excerpt", [
    ("chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"7\r\nchunked\r\n3;x=y\r\n-ok\r\n0\r\n\r\n", "chunked-ok"),
    ("until-close", b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nclosed-ok",
     "closed-ok"),
    ("interim", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\n"
                b"Content-Length: 11\r\n\r\nafter-100ok", "after-100ok"),
    ("close", b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 8\r\n\r\n"
              b"close-ok", "close-ok"),
])
def test_every_response_framing_is_read_to_its_end(hookline, raw_receiver, name, answer,
                                                   excerpt):
    """Chunked, to the close, after an interim 100, with Connection: close: each delivery
    succeeds at once and its attempt keeps the body as the receiver meant it. A
    connection is used again only when its response allowed it."""
    rcv = raw_receiver(lambda s: answer)
    wh = hookline.create_webhook(rcv.url, ["http.framed"], max_concurrency=1)
    for i in range(3):
        hookline.post_event("http.framed", {"n": i})
    got = deliveries_of(hookline, wh["id"], 3)
    for d, attempts in got:
        assert d["attempts"] == 1
        (a,) = attempts
        assert a["response_excerpt"] == excerpt, (name, a)
        assert a["error_class"] is None and a["http_status"] in (200, 201, 202)
    assert rcv.connections == (3 if name in ("close", "until-close") else 1)


def test_answers_that_are_not_http_or_never_end_fail_with_their_reason(hookline, raw_receiver):
    """A receiver answering with something else than HTTP fails the attempt as a network
    error that says so; one that stops halfway through its body times out at the
    webhook's timeout."""
    garbage = raw_receiver(lambda s: b"SSH-2.0-OpenSSH_9.2\r\n")
    stall = raw_receiver(lambda s: (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", "hang"))
    wg = hookline.create_webhook(garbage.url, ["http.garbage"], retry_policy=ONE_ATTEMPT)
    ws = hookline.create_webhook(stall.url, ["http.stall"], retry_policy=ONE_ATTEMPT,
                                 timeout_ms=1500)
    hookline.post_event("http.garbage", {"n": 1})
    hookline.post_event("http.stall", {"n": 1})
    ((_, (a,)),) = deliveries_of(hookline, wg["id"], 1, status=None)
    assert a["error_class"] == "network", a
    assert "status line" in a["error"], a
    ((_, (a,)),) = deliveries_of(hookline, ws["id"], 1, status=None)
    assert a["error_class"] == "timeout", a
    assert "timed out" in a["error"] and a["http_status"] == 200, a
    assert 1300 <= a["duration_ms"] <= 10000, a
