"""Gateway hardening: body size, JSON depth and body-time limits, per-key rate limits (429
with Retry-After), and HTTPS on the gateway's own listener."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import free_port, tail

PROBLEM = "application/problem+json"


def problem(r: requests.Response, status: int, slug: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["type"].endswith("/" + slug), body
    return body


def webhook_count(hookline) -> int:
    return len(hookline.api("GET", "/api/v1/webhooks").json()["data"])


# --- body size and JSON depth ------------------------------------------------------------


@pytest.mark.dispatchers(0)
def test_oversized_bodies_get_413_and_change_nothing(hookline):
    too_big = {"url": "http://127.0.0.1:65000/x", "events": ["*"], "description": "x" * 1_100_000}
    problem(hookline.api("POST", "/api/v1/webhooks", json=too_big), 413, "payload-too-large")

    # The same without Content-Length (chunked): the limit applies while reading.
    def chunks():
        yield b'{"url":"http://127.0.0.1:65000/x","events":["*"],"description":"'
        for _ in range(80):
            yield b"y" * 16384
        yield b'"}'

    r = hookline.session.post(hookline.base_url + "/api/v1/webhooks", data=chunks(),
                              headers={**hookline.default_headers,
                                       "Content-Type": "application/json"}, timeout=10)
    problem(r, 413, "payload-too-large")
    assert webhook_count(hookline) == 0


@pytest.mark.dispatchers(0)
def test_json_nested_deeper_than_the_limit_gets_400(hookline):
    def nested(depth: int) -> str:  # depth counts the outer object
        inner = "[" * (depth - 1) + "1" + "]" * (depth - 1)
        return '{"url":"http://127.0.0.1:65000/x","events":["*"],"metadata":{"a":%s}}' % inner

    r = hookline.api("POST", "/api/v1/webhooks", data=nested(33),
                     headers={"Content-Type": "application/json"})
    body = problem(r, 400, "json-too-deep")
    assert "32" in body["detail"]
    # Brackets inside strings are text, not nesting.
    r = hookline.api("POST", "/api/v1/webhooks", json={
        "url": "http://127.0.0.1:65000/x", "events": ["*"], "description": "[" * 500})
    assert r.status_code == 201, r.text

    # A hostile million levels: refused as quickly as a small body, before jansson sees it.
    hostile = b"[" * 1_000_000
    t0 = time.monotonic()
    r = hookline.api("POST", "/api/v1/events", data=hostile,
                     headers={"Content-Type": "application/json"})
    problem(r, 400, "json-too-deep")
    assert time.monotonic() - t0 < 2.0
    assert webhook_count(hookline) == 1


@pytest.mark.dispatchers(0)
def test_depth_limit_is_configurable(hookline):
    hookline.restart_gateway({"HOOKLINE_MAX_JSON_DEPTH": "3"})
    ok = {"url": "http://127.0.0.1:65000/x", "events": ["*"], "metadata": {"a": "b"}}
    assert hookline.api("POST", "/api/v1/webhooks", json=ok).status_code == 201
    deep = {**ok, "metadata": {"a": [[1]]}}
    problem(hookline.api("POST", "/api/v1/webhooks", json=deep), 400, "json-too-deep")


# --- slow clients ---------------------------------------------------------------------------


def answer_complete(answer: bytes) -> bool:
    """Whether answer holds a whole response: its headers and as many body bytes as they
    announce (the body may come in a later segment than the headers)."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"^content-length:\s*(\d+)\s*$", head, re.I | re.M)
    return m is None or len(body) >= int(m.group(1))


def slow_post(hookline, key: str, pace_s: float | None, stop: threading.Event) -> tuple[float, bytes]:
    """Sends the headers of a POST announcing 1000 body bytes, then one byte every pace_s
    (None: nothing at all) until the server answers or closes. Returns (seconds until the
    answer, the answer)."""
    s = socket.create_connection(("127.0.0.1", hookline.http_port), timeout=30)
    try:
        s.sendall((f"POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                   "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{").encode())
        t0 = time.monotonic()
        s.settimeout(pace_s or 30)
        answer = b""
        while not stop.is_set():
            try:
                data = s.recv(65536)
                if not data:
                    break
                answer += data
                if answer_complete(answer):
                    break
            except socket.timeout:
                if pace_s is None:
                    break
                try:
                    s.sendall(b" ")
                except OSError:  # cut off: the answer may still be waiting to be read
                    s.settimeout(1)
                    try:
                        answer += s.recv(65536)
                    except OSError:
                        pass
                    break
            except OSError:  # reset by the server
                break
        return time.monotonic() - t0, answer
    finally:
        s.close()


@pytest.mark.dispatchers(0)
def test_client_that_stalls_mid_body_gets_408(hookline):
    hookline.restart_gateway({"HOOKLINE_REQUEST_TIMEOUT_MS": "1500"})
    took, answer = slow_post(hookline, hookline.tenant_key, None, threading.Event())
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert PROBLEM.encode() in answer and b"request-timeout" in answer
    assert 1.0 < took < 4.0, took
    assert webhook_count(hookline) == 0


@pytest.mark.dispatchers(0)
def test_trickling_clients_cannot_hold_the_workers(hookline):
    """A byte every 0.3 s never trips civetweb's per-read timeout; the body deadline still
    cuts each client off, and with both workers taken by such clients a normal request is
    served as soon as they are."""
    hookline.restart_gateway({"HOOKLINE_REQUEST_TIMEOUT_MS": "2000", "HOOKLINE_HTTP_THREADS": "2"})
    hookline.session.close()  # an idle keep-alive connection would hold a worker too
    results: list[tuple[float, bytes]] = []
    threads = [threading.Thread(target=lambda: results.append(
        slow_post(hookline, hookline.tenant_key, 0.3, threading.Event()))) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # both workers are now reading trickling bodies
    t0 = time.monotonic()
    r = requests.get(hookline.base_url + "/api/v1/webhooks", timeout=20,
                     headers={**hookline.default_headers, "Connection": "close"})
    waited = time.monotonic() - t0
    for t in threads:
        t.join(timeout=10)
    assert r.status_code == 200
    # Each is cut off 2 s after a worker started reading it (a worker may still be busy
    # with the session's connection when the second arrives, hence 2 x 2 s + slack).
    assert 0.5 < waited < 5.0, f"a normal request waited {waited:.1f} s behind two slow clients"
    assert len(results) == 2
    for took, answer in results:
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert 1.5 < took < 5.0, took


# --- rate limits ----------------------------------------------------------------------------


def make_key(hookline, role: str = "viewer", **fields) -> dict:
    r = hookline.api("POST", "/api/v1/api-keys",
                     json={"role": role, "tenant_id": hookline.tenant, **fields},
                     headers=hookline.admin_headers())
    assert r.status_code == 201, r.text
    return r.json()


def get_as(hookline, key: str) -> requests.Response:
    return hookline.api("GET", "/api/v1/webhooks", headers={"Authorization": f"Bearer {key}"})


@pytest.mark.dispatchers(0)
def test_key_over_its_rate_gets_429_with_retry_after(hookline):
    slow = make_key(hookline, rate_limit_per_s=1)
    other = make_key(hookline)
    assert slow["rate_limit_per_s"] == 1 and other["rate_limit_per_s"] is None
    got = hookline.api("GET", f"/api/v1/api-keys/{slow['id']}", headers=hookline.admin_headers())
    assert got.json()["rate_limit_per_s"] == 1

    statuses = [get_as(hookline, slow["key"]).status_code for _ in range(20)]
    assert statuses == [200] * 20  # the burst (api_key_rate_burst, 20)
    r = get_as(hookline, slow["key"])
    limited_at = time.monotonic()
    problem(r, 429, "rate-limited")
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= 2
    # Other keys are not affected.
    assert all(get_as(hookline, other["key"]).status_code == 200 for _ in range(30))
    # After the advertised wait the key works again, at its rate: one request a second
    # since it was limited (however long the 30 requests above took), then 429 again.
    time.sleep(retry_after)
    ok = 0
    while get_as(hookline, slow["key"]).status_code == 200:
        ok += 1
        assert ok <= time.monotonic() - limited_at + 1, f"{ok} requests passed at 1/s"
    assert ok >= 1, "the key did not work again after Retry-After"


@pytest.mark.dispatchers(0)
def test_gateway_default_rate_and_per_key_exemption(hookline):
    unlimited = make_key(hookline, rate_limit_per_s=0)
    plain = make_key(hookline)
    hookline.restart_gateway({"HOOKLINE_API_KEY_RATE_LIMIT_PER_S": "1",
                              "HOOKLINE_API_KEY_RATE_BURST": "3"})
    assert [get_as(hookline, plain["key"]).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert all(get_as(hookline, unlimited["key"]).status_code == 200 for _ in range(30))


@pytest.mark.dispatchers(0)
def test_invalid_rate_limit_is_refused(hookline):
    for bad in (-1, 1.5, "10", 2_000_000):
        r = hookline.api("POST", "/api/v1/api-keys",
                         json={"role": "viewer", "tenant_id": hookline.tenant, "rate_limit_per_s": bad},
                         headers=hookline.admin_headers())
        body = problem(r, 400, "invalid-request")
        assert any(e["pointer"] == "/rate_limit_per_s" for e in body["errors"]), body


# --- TLS ---------------------------------------------------------------------------------------


def self_signed(tmp_path) -> tuple[str, str]:
    cert, key = tmp_path / "gw-cert.pem", tmp_path / "gw-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.dispatchers(0)
def test_gateway_serves_https_with_its_certificate(hookline, tmp_path):
    cert, key = self_signed(tmp_path)
    hookline.restart_gateway({"HOOKLINE_TLS_CERT_FILE": cert, "HOOKLINE_TLS_KEY_FILE": key},
                             ca_file=cert)
    assert hookline.base_url.startswith("https://")
    r = hookline.api("GET", "/healthz")  # verified against the test's certificate
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = hookline.api("POST", "/api/v1/webhooks",
                     json={"url": "http://127.0.0.1:65000/x", "events": ["*"]})
    assert r.status_code == 201, r.text
    # An unverified client is refused by its own TLS check; plain HTTP gets no answer.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(hookline.base_url + "/healthz", timeout=5)
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{hookline.http_port}/healthz", timeout=5)


@pytest.mark.dispatchers(0)
def test_gateway_refuses_to_start_with_a_bad_key(hookline, tmp_path):
    cert, _ = self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    _, other_key = self_signed(tmp_path / "other")  # a key that does not match
    svc = hookline._spawn("gateway-badtls", [str(hookline.gateway.proc.args[0]), "serve"], {
        "HOOKLINE_HTTP_HOST": "127.0.0.1", "HOOKLINE_HTTP_PORT": str(free_port()),
        "HOOKLINE_TLS_CERT_FILE": cert, "HOOKLINE_TLS_KEY_FILE": other_key,
    })
    assert svc.proc.wait(timeout=15) != 0
    log = tail(svc.log)
    assert "cannot use tls_cert_file" in log, log
