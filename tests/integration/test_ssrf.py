"""SSRF protection: URLs refused at creation, and the address actually connected checked
by the dispatcher.

The connect-time test runs the dispatcher in a network namespace that has only a loopback
interface, so if the protection ever fails, its connection dies there ("network
unreachable") or reaches a decoy inside the namespace, and never leaves the machine. Kafka
and PostgreSQL reach it over socat bridges through UNIX sockets (the filesystem is shared
across namespaces): in the namespace, 127.0.0.1:<port> forwards to a socket that a
host-side socat connects to the host's 127.0.0.1:<port>.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import DISPATCHER, GATEWAY, free_port
from waiting import wait_for

NO_ALLOWLIST = {"HOOKLINE_SSRF_ALLOWLIST": ""}

# Refused at creation with no allow-list: (url, words the /url error must contain).
REFUSED = [
    ("https://user:pw@hooks.example.com/hook", "credentials"),
    ("https://token@hooks.example.com/hook", "credentials"),
    ("ftp://hooks.example.com/hook", "http or https"),
    ("file:///etc/passwd", "absolute URL"),
    ("gopher://hooks.example.com:70/", "http or https"),
    ("http://hooks.example.com:22/", "port"),
    ("https://hooks.example.com:25/", "port"),
    ("http://hooks.example.com:0/", "port"),
    ("http://hooks.example.com:1023/", "port"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:127.0.0.1]:8080/", "IPv4-mapped 127.0.0.1"),
    ("http://[::ffff:a9fe:a9fe]/", "IPv4-mapped 169.254.169.254"),
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost:8080/hook", "loopback"),
    ("http://app.localhost:8080/hook", "loopback"),
    ("http://[::1]:8080/hook", "loopback"),
    ("http://2130706433:8080/", "loopback"),
    ("http://0x7f.1:8080/", "loopback"),
    ("http://0177.0.0.1:8080/", "loopback"),
    ("http://10.0.0.1/", "private"),
    ("https://192.168.1.10/", "private"),
    ("http://172.16.5.4:8443/", "private"),
    ("http://100.64.1.1/", "CGNAT"),
    ("http://[fd00::1]/", "unique-local"),
    ("http://[fe80::1%25eth0]/", "link-local"),
    ("http://0.0.0.0:8080/", "this network"),
    ("http://224.0.0.1/", "multicast"),
]


def problem_at_url(r) -> str:
    assert r.status_code == 400, f"{r.status_code}: {r.text}"
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = r.json()
    details = [e["detail"] for e in body["errors"] if e["pointer"] == "/url"]
    assert details, body
    return details[0]


@pytest.mark.dispatchers(0)
@pytest.mark.service_env(**NO_ALLOWLIST)
def test_unsafe_urls_are_refused_at_creation_and_nothing_is_stored(hookline):
    hookline.ensure_event_types(["order.created"])
    for url, words in REFUSED:
        r = hookline.api("POST", "/api/v1/webhooks", json={"url": url, "events": ["order.created"]})
        detail = problem_at_url(r)
        assert words in detail, f"{url}: {detail}"
    assert hookline.api("GET", "/api/v1/webhooks").json()["data"] == []

    # Names are not resolved at creation (the dispatcher checks what they resolve to), and
    # public addresses pass. Nothing is delivered: no dispatcher runs in this test.
    for url in ("https://hooks.example.com/hook", "http://hooks.example.com:8080/x",
                "http://93.184.216.34:8080/hook", "https://[2606:4700::1]/hook"):
        r = hookline.api("POST", "/api/v1/webhooks", json={"url": url, "events": ["order.created"]})
        assert r.status_code == 201, f"{url}: {r.status_code} {r.text}"


@pytest.mark.dispatchers(0)
@pytest.mark.service_env(**NO_ALLOWLIST)
def test_unsafe_urls_are_refused_by_put_and_patch(hookline):
    wh = hookline.create_webhook("https://hooks.example.com/hook", ["order.created"])
    path = f"/api/v1/webhooks/{wh['id']}"
    detail = problem_at_url(hookline.api("PATCH", path, json={"url": "http://169.254.169.254/"}))
    assert "link-local" in detail
    detail = problem_at_url(hookline.api(
        "PUT", path, json={"url": "http://[::ffff:10.0.0.1]:8080/", "events": ["order.created"]}))
    assert "private" in detail
    assert hookline.api("GET", path).json()["url"] == "https://hooks.example.com/hook"


@pytest.mark.dispatchers(0)
def test_allowlist_admits_only_what_it_names(hookline, receiver):
    # The harness allows 127.0.0.0/8 and ::1/128: loopback receivers are fine...
    hookline.create_webhook(receiver.url, ["order.created"])
    hookline.create_webhook(f"http://localhost:{receiver.port}/webhook", ["order.created"])
    # ...but not other private ranges, and not privileged ports even on loopback.
    assert "private" in problem_at_url(hookline.api(
        "POST", "/api/v1/webhooks", json={"url": "http://10.1.2.3/", "events": ["order.created"]}))
    assert "port" in problem_at_url(hookline.api(
        "POST", "/api/v1/webhooks", json={"url": "http://127.0.0.1:22/", "events": ["order.created"]}))


@pytest.mark.parametrize("binary,args", [(GATEWAY, ["migrate"]), (DISPATCHER, [])])
def test_malformed_allowlist_stops_the_service_with_a_clear_error(binary, args, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(HOOKLINE_SSRF_ALLOWLIST="127.0.0.0/8,10.0.0.1/8",
               HOOKLINE_PG_DSN="postgresql://nobody@127.0.0.1:1/none",
               HOOKLINE_BROKERS="127.0.0.1:1")
    p = subprocess.run([str(binary), *args], env=env, capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert "ssrf_allowlist" in p.stderr and "10.0.0.1/8" in p.stderr, p.stderr


# --- the connect-time check, in a network namespace ------------------------------------


def _port_of(hostport: str) -> int:
    return int(hostport.rsplit(":", 1)[1])


class Netns:
    """A network namespace with only `lo` up, Kafka and PostgreSQL bridged into it, and
    its own /etc/hosts (ip netns exec bind-mounts /etc/netns/<name>/hosts)."""

    def __init__(self, ports: list[int], hosts: str):
        self.name = f"hlssrf-{secrets.token_hex(4)}"
        self.sockdir = Path(tempfile.mkdtemp(prefix="hlns-"))  # short: UNIX path limit
        self.etc = Path("/etc/netns") / self.name
        self.procs: list[subprocess.Popen] = []
        self.ports = ports
        self.hosts = hosts

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def up(self) -> None:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        self.etc.mkdir(parents=True)
        (self.etc / "hosts").write_text(self.hosts)
        for port in self.ports:
            sock = self.sockdir / f"{port}.sock"
            self._spawn(["socat", f"UNIX-LISTEN:{sock},fork,mode=600", f"TCP:127.0.0.1:{port}"])
            wait_for(sock.exists, timeout=10, what=f"bridge socket {sock}")
            self._spawn([*self.exec_prefix(), "socat",
                         f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
                         f"UNIX-CONNECT:{sock}"])
        for port in self.ports:
            wait_for(lambda p=port: self.run_inside(
                ["python3", "-c", f"import socket; socket.create_connection(('127.0.0.1', {p}), 2)"]
            ).returncode == 0, timeout=10, what=f"port {port} bridged into {self.name}")

    def _spawn(self, argv: list[str], **kw) -> subprocess.Popen:
        kw = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **kw}
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def spawn_inside(self, argv: list[str], **kw) -> subprocess.Popen:
        return self._spawn([*self.exec_prefix(), *argv], **kw)

    def run_inside(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([*self.exec_prefix(), *argv], capture_output=True, timeout=10)

    def down(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.etc, ignore_errors=True)
        try:
            self.etc.parent.rmdir()  # /etc/netns, if we made it and nobody else uses it
        except OSError:
            pass
        shutil.rmtree(self.sockdir, ignore_errors=True)


@pytest.fixture
def netns(infra):
    if os.geteuid() != 0 or not shutil.which("socat") or not shutil.which("ip"):
        pytest.skip("needs root, ip(8) and socat (scripts/install-deps)")
    pg_port = urllib.parse.urlsplit(infra.pg_admin_dsn).port
    ports = [_port_of(infra.brokers.split(",")[0]), pg_port]
    ns = Netns(ports, hosts="127.0.0.1 localhost\n::1 localhost\n"
                            "127.0.0.1 rebind.test\n10.0.0.1 internal.test\n")
    try:
        ns.up()
        yield ns
    finally:
        ns.down()


# The gateway may accept these (its allow-list names them, as an operator's might have when
# the webhooks were made); the dispatcher runs with no allow-list at all.
GATEWAY_ALLOWS = {"HOOKLINE_SSRF_ALLOWLIST": "10.0.0.0/8,169.254.0.0/16,127.0.0.0/8,::1/128"}


@pytest.mark.dispatchers(0)
@pytest.mark.service_env(**GATEWAY_ALLOWS)
def test_dispatcher_refuses_blocked_addresses_it_would_connect_to(hookline, netns, tmp_path):
    # A decoy inside the namespace on loopback: if the check failed for a loopback target,
    # the request would land here (an HTTP answer) instead of being refused.
    decoy_port = free_port()
    decoy_log = tmp_path / "decoy.log"
    with open(decoy_log, "wb") as out:
        netns.spawn_inside(["python3", "-m", "http.server", "--bind", "127.0.0.1",
                            str(decoy_port)], stdout=out, stderr=subprocess.STDOUT)
    wait_for(lambda: netns.run_inside(
        ["python3", "-c",
         f"import socket; socket.create_connection(('127.0.0.1', {decoy_port}), 2)"]
    ).returncode == 0, timeout=10, what="decoy receiver in the namespace")

    hookline.start_dispatcher(prefix=netns.exec_prefix(), HOOKLINE_SSRF_ALLOWLIST="")
    targets = {
        f"http://127.0.0.1:{decoy_port}/hook": "127.0.0.1 is a loopback address",
        f"http://localhost:{decoy_port}/hook": "is a loopback address",
        f"http://rebind.test:{decoy_port}/hook": "127.0.0.1 is a loopback address",  # DNS says 127.0.0.1
        f"http://[::1]:{decoy_port}/hook": "::1 is a loopback address",
        "http://10.0.0.1:8080/hook": "10.0.0.1 is a private address",
        "http://internal.test:8080/hook": "10.0.0.1 is a private address",
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a link-local address",
        "http://[::ffff:10.0.0.1]:8080/hook": "IPv4-mapped 10.0.0.1",
    }
    hooks = {hookline.create_webhook(url, ["order.created"])["id"]: url for url in targets}
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})

    def finished():
        rows = hookline.sql("SELECT webhook_id, status, attempts FROM deliveries")
        return rows if len(rows) == len(hooks) and all(r[1] == "failed" for r in rows) else None

    rows = wait_for(finished, timeout=30, what="every delivery failed")
    # Not retried: one attempt each, straight to failed (and the dead-letter topic).
    assert {r[2] for r in rows} == {1}, rows
    attempts = hookline.sql("SELECT d.webhook_id::text, a.error_class, a.error, a.http_status "
                            "FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id")
    assert len(attempts) == len(hooks), attempts
    for webhook_id, error_class, error, http_status in attempts:
        url = hooks[webhook_id]
        assert error_class == "ssrf_blocked", f"{url}: {error_class} {error}"
        assert error.startswith("blocked by SSRF protection: "), error
        assert targets[url] in error, f"{url}: {error}"
        assert http_status is None
    assert "POST" not in decoy_log.read_text(errors="replace"), decoy_log.read_text()

    # What a tenant sees through the API.
    one = next(iter(hooks))
    d = hookline.api("GET", f"/api/v1/webhooks/{one}/deliveries").json()["data"][0]
    assert d["status"] == "failed" and d["last_error_class"] == "ssrf_blocked", d
    full = hookline.api("GET", f"/api/v1/deliveries/{d['id']}").json()
    assert [a["error_class"] for a in full["attempts"]] == ["ssrf_blocked"], full


@pytest.mark.dispatchers(0)
@pytest.mark.service_env(**GATEWAY_ALLOWS)
def test_dispatcher_allowlist_lets_a_loopback_receiver_through(hookline, netns, tmp_path):
    # The same namespace and decoy, but with the loopback allow-list: delivered.
    port = free_port()
    log = tmp_path / "rcv.log"
    with open(log, "wb") as out:
        netns.spawn_inside(["python3", "-c", RECEIVER_PY, str(port)], stdout=out,
                           stderr=subprocess.STDOUT)
    wait_for(lambda: netns.run_inside(
        ["python3", "-c", f"import socket; socket.create_connection(('127.0.0.1', {port}), 2)"]
    ).returncode == 0, timeout=10, what="receiver in the namespace")
    hookline.start_dispatcher(prefix=netns.exec_prefix(),
                              HOOKLINE_SSRF_ALLOWLIST="127.0.0.0/8,::1/128")
    hookline.create_webhook(f"http://rebind.test:{port}/hook", ["order.created"])
    hookline.settle()
    hookline.post_event("order.created", {"n": 2})
    wait_for(lambda: hookline.sql("SELECT status FROM deliveries") == [("succeeded",)],
             timeout=30, what="delivery succeeded")
    assert "POST /hook" in log.read_text(), log.read_text()


# A minimal receiver answering 200 to POST (http.server's default answers 501).
RECEIVER_PY = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
        print('POST', self.path, flush=True)
    def log_message(self, *a): pass
HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
"""
