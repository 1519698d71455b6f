"""Integration harness: real Kafka, real PostgreSQL, real HTTP receivers.

scripts/test starts a private Kafka + PostgreSQL (scripts/stack infra-up) and exports
HOOKLINE_BROKERS and HOOKLINE_PG_ADMIN_DSN; everything else is per test, so tests are
independent and may run in any order:

- ``hookline``: a fresh database ``hl_t_<random>`` (migrated), a topic prefix ``t<random>``
  (topics created), one gateway and N dispatchers (default 1, or
  ``@pytest.mark.dispatchers(n)``), all logging into pytest's tmp_path.
  ``@pytest.mark.service_env(NAME=value, ...)`` changes the environment of every service
  the test starts (e.g. ``HOOKLINE_SSRF_ALLOWLIST=""`` to run without the loopback
  allow-list); ``start_dispatcher(prefix=[...])`` runs a dispatcher under a wrapper command
  such as ``ip netns exec NS``.
- ``receiver`` / ``make_receiver``: in-process HTTP servers on 127.0.0.1 that record every
  request (HTTPS with ``make_receiver(ssl_context=...)``).
- ``kafka_consumer_factory``: reads a topic from the beginning, to prove what did or did not
  reach Kafka.

Binaries come from HOOKLINE_BUILD_DIR (default <repo>/build).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import psycopg
import pytest
import requests
from psycopg import sql
from requests.structures import CaseInsensitiveDict

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("HOOKLINE_BUILD_DIR", REPO / "build"))
GATEWAY = BUILD / "gateway" / "hookline-gateway"
DISPATCHER = BUILD / "dispatcher" / "hookline-dispatcher"

# Every receiver in these tests listens on 127.0.0.1, which SSRF protection blocks by
# default; this allow-list is the services' way to permit it for tests.
SERVICE_TEST_ENV = {"HOOKLINE_SSRF_ALLOWLIST": "127.0.0.0/8,::1/128"}

STARTUP_TIMEOUT_S = 15.0
SHUTDOWN_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "dispatchers(n): number of dispatchers the hookline fixture starts (default 1)"
    )
    config.addinivalue_line(
        "markers", "service_env(**env): environment overrides for every service of the test"
    )
    config.addinivalue_line(
        "markers", "serial: runs alone, after the tests that run side by side (scripts/test): "
        "it stops the shared Kafka or PostgreSQL, loads the machine on purpose, or prints "
        "to the terminal while it runs"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # Lets fixtures see at teardown whether the test failed (to print service logs).
    rep = yield
    setattr(item, "rep_" + rep.when, rep)
    return rep


# --- infra ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Infra:
    brokers: str
    pg_admin_dsn: str

    def dsn_for(self, dbname: str) -> str:
        u = urllib.parse.urlsplit(self.pg_admin_dsn)
        return urllib.parse.urlunsplit(u._replace(path="/" + dbname))


@pytest.fixture(scope="session")
def infra() -> Infra:
    brokers = os.environ.get("HOOKLINE_BROKERS")
    dsn = os.environ.get("HOOKLINE_PG_ADMIN_DSN")
    if not brokers or not dsn:
        pytest.skip(
            "HOOKLINE_BROKERS / HOOKLINE_PG_ADMIN_DSN are not set: run the integration tests "
            "with scripts/test (or `scripts/stack infra-up && source .stack/env` first)"
        )
    return Infra(brokers=brokers, pg_admin_dsn=dsn)


# --- the services -----------------------------------------------------------------------


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    log: Path
    # Set when the test signalled the process itself: its exit is then expected.
    signalled: bool = False


def thread_stacks(pid: int) -> str:
    """Every thread's backtrace of a live process (gdb, when installed), to name a hang."""
    gdb = shutil.which("gdb")
    if not gdb:
        return "(gdb is not installed)"
    r = subprocess.run([gdb, "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt"],
                       capture_output=True, text=True, timeout=60)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(("Thread ", "#"))]
    return "\n".join(lines[-200:]) or r.stderr[-2000:]


class Hookline:
    """One isolated Hookline deployment (database, topics, gateway, dispatchers)."""

    def __init__(self, infra: Infra, tmp_path: Path):
        for binary in (GATEWAY, DISPATCHER):
            if not os.access(binary, os.X_OK):
                pytest.fail(f"{binary} is missing: build with scripts/build", pytrace=False)
        self.infra = infra
        self.tmp_path = tmp_path
        tag = secrets.token_hex(4)
        self.dbname = f"hl_t_{tag}"
        self.prefix = f"t{tag}"
        self.group_id = f"{self.prefix}-dispatchers"
        self.pg_dsn = infra.dsn_for(self.dbname)
        self.http_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        self.default_headers: dict[str, str] = {}
        # The bootstrap admin key; setup() makes a tenant and a tenant_admin key with it,
        # and api() sends that tenant key unless a test passes its own Authorization.
        self.admin_key = "hl_admin_" + secrets.token_urlsafe(24)
        self.tenant = f"tenant-{tag}"
        self.tenant_key = ""
        # The master key ring sealing secrets at rest; tests that rotate it change env.
        self.master_key = "t1:" + base64.b64encode(os.urandom(32)).decode()
        self.gateway: Service | None = None
        self.dispatchers: list[Service] = []
        # dispatcher i's operations listener (/metrics, /healthz, /readyz)
        self.dispatcher_ports: list[int] = []
        self.session = requests.Session()
        # No idle keep-alive connection is left to the gateway: civetweb's stop waits up to
        # 2 s for a worker holding one (about 2 s a test, minutes a suite).
        self.session.headers["Connection"] = "close"
        self._db_created = False
        self._admin_client = None

        # Inherited HOOKLINE_* variables (e.g. from a sourced .stack/env) must not leak
        # into the services: each test's services see only their own settings.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        self.env.update(SERVICE_TEST_ENV)
        self.env.update(
            HOOKLINE_BROKERS=infra.brokers,
            HOOKLINE_TOPIC_PREFIX=self.prefix,
            HOOKLINE_PG_DSN=self.pg_dsn,
            HOOKLINE_LOG_LEVEL="debug",
            HOOKLINE_GROUP_ID=self.group_id,
            HOOKLINE_REFRESH_INTERVAL_MS="500",
            HOOKLINE_ADMIN_API_KEY=self.admin_key,
            HOOKLINE_MASTER_KEY=self.master_key,
        )

    # -- lifecycle ---------------------------------------------------------------------

    def setup(self, dispatchers: int) -> None:
        with psycopg.connect(self.infra.pg_admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
        self._db_created = True
        self._run_tool("migrate")
        self._run_tool("create-topics")
        self.start_gateway()
        self._bootstrap_tenant()
        for _ in range(dispatchers):
            self.start_dispatcher(wait=False)
        if dispatchers:
            self.wait_dispatchers_ready()

    def _run_tool(self, command: str) -> None:
        log = self.tmp_path / f"gateway-{command}.log"
        with open(log, "wb") as out:
            try:
                rc = subprocess.run(
                    [str(GATEWAY), command], env=self.env, stdout=out,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60,
                ).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout (60 s)"
        if rc != 0:
            pytest.fail(f"hookline-gateway {command} failed ({rc}):\n{tail(log)}", pytrace=False)

    def _spawn(self, name: str, argv: list[str], extra_env: dict[str, str]) -> Service:
        log = self.tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv, env={**self.env, **extra_env}, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return Service(name=name, proc=proc, log=log)

    def start_gateway(self, extra_env: dict[str, str] | None = None, ca_file: str | None = None,
                      name: str = "gateway") -> None:
        """Starts the gateway; extra_env adds settings, ca_file means it serves HTTPS with a
        certificate that CA file verifies (base_url and api() follow)."""
        self.base_url = f"{'https' if ca_file else 'http'}://127.0.0.1:{self.http_port}"
        # Per request, because requests lets REQUESTS_CA_BUNDLE override a session's verify.
        self.verify: str | bool = ca_file or True
        self.gateway = self._spawn(
            name, [str(GATEWAY), "serve"],
            {"HOOKLINE_HTTP_HOST": "127.0.0.1", "HOOKLINE_HTTP_PORT": str(self.http_port),
             **(extra_env or {})},
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if self.gateway.proc.poll() is not None:
                pytest.fail(
                    f"gateway exited with {self.gateway.proc.returncode} during startup:\n"
                    f"{tail(self.gateway.log)}", pytrace=False,
                )
            try:
                r = self.session.get(self.base_url + "/healthz", timeout=1, verify=self.verify)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except requests.RequestException as e:
                last = type(e).__name__
            time.sleep(0.1)
        pytest.fail(
            f"gateway /healthz not 200 within {STARTUP_TIMEOUT_S:.0f} s ({last}):\n"
            f"{tail(self.gateway.log)}", pytrace=False,
        )

    def restart_gateway(self, extra_env: dict[str, str] | None = None,
                        ca_file: str | None = None) -> None:
        """Stops the gateway and starts another on the same port and database with
        extra_env (its log is gateway-<n>.log)."""
        old = self.gateway
        old.signalled = True
        old.proc.send_signal(signal.SIGTERM)
        old.proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
        n = sum(1 for p in self.tmp_path.glob("gateway*.log") if "-migrate" not in p.name
                and "-create-topics" not in p.name) + 1
        self.start_gateway(extra_env, ca_file, name=f"gateway-{n}")

    def start_dispatcher(self, wait: bool = True, prefix: list[str] | None = None,
                         **extra_env: str) -> int:
        """Starts one more dispatcher and returns its index.

        With wait=True, returns once the consumer group is stable with every live
        dispatcher holding an assignment (so events posted next are consumed at once).
        prefix is a command that execs the dispatcher (e.g. ``ip netns exec NS``).
        """
        i = len(self.dispatchers)
        self.dispatcher_ports.append(free_port())
        self.dispatchers.append(
            self._spawn(f"dispatcher-{i}", [*(prefix or []), str(DISPATCHER)],
                        {"HOOKLINE_HTTP_HOST": "127.0.0.1",
                         "HOOKLINE_HTTP_PORT": str(self.dispatcher_ports[i]),
                         **{k: str(v) for k, v in extra_env.items()}})
        )
        if wait:
            self.wait_dispatchers_ready()
        return i

    def kill_dispatcher(self, i: int, sig: int = signal.SIGKILL, wait: float = SHUTDOWN_TIMEOUT_S) -> int | None:
        """Sends sig to dispatcher i and waits for it to exit; returns its exit code."""
        svc = self.dispatchers[i]
        svc.signalled = True
        if svc.proc.poll() is None:
            svc.proc.send_signal(sig)
        try:
            return svc.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return None

    def live_dispatchers(self) -> list[Service]:
        return [d for d in self.dispatchers if d.proc.poll() is None]

    def admin(self):
        """A confluent_kafka AdminClient on the test broker (one per test)."""
        if self._admin_client is None:
            from confluent_kafka.admin import AdminClient

            # log_level 4: librdkafka's info lines (queue purges at exit) are noise here.
            self._admin_client = AdminClient({"bootstrap.servers": self.infra.brokers, "log_level": 4})
        return self._admin_client

    def wait_dispatchers_ready(self, timeout: float = 30.0) -> None:
        """Waits until the dispatchers' consumer group is stable, has one live-topics
        member per live dispatcher (each also has a retry tiers' member, client id
        hookline-dispatcher-tiers), and every partition of <prefix>.events is assigned."""
        from confluent_kafka import ConsumerGroupState, KafkaException

        admin = self.admin()
        events = self.topic("events")
        deadline = time.monotonic() + timeout
        state = "unknown"
        while time.monotonic() < deadline:
            for d in self.dispatchers:
                if d.proc.poll() is not None and not d.signalled:
                    pytest.fail(f"{d.name} exited with {d.proc.returncode}:\n{tail(d.log)}",
                                pytrace=False)
            try:
                md = admin.list_topics(events, timeout=5)
                want = set(md.topics[events].partitions)
                desc = admin.describe_consumer_groups([self.group_id])[self.group_id].result(timeout=5)
                have = {
                    tp.partition
                    for m in desc.members
                    for tp in (m.assignment.topic_partitions if m.assignment else [])
                    if tp.topic == events
                }
                live = sum(1 for m in desc.members if m.client_id == "hookline-dispatcher")
                state = (f"{desc.state}, {len(desc.members)} members ({live} of live topics), "
                         f"partitions {sorted(have)}")
                if (desc.state == ConsumerGroupState.STABLE
                        and live == len(self.live_dispatchers())
                        and want and want <= have):
                    return
            except (KafkaException, TimeoutError) as e:
                # A freshly started broker may answer the group query late: retry until
                # the deadline instead of failing the test on the first slow answer.
                state = f"{type(e).__name__}: {e}"
            time.sleep(0.2)
        logs = "\n".join(f"--- {d.name}\n{tail(d.log, 30)}" for d in self.dispatchers)
        pytest.fail(f"dispatchers of group {self.group_id} not ready within {timeout:.0f} s "
                    f"({state}):\n{logs}", pytrace=False)

    def stop_all(self) -> list[str]:
        """SIGTERMs every process, SIGKILLs what is still alive after 10 s.

        Returns the problems seen: a process the test did not signal that had already
        died, or one that ignored SIGTERM."""
        problems: list[str] = []
        services = self.dispatchers + ([self.gateway] if self.gateway else [])
        for s in services:
            if s.proc.poll() is not None:
                if not s.signalled:
                    problems.append(f"{s.name} died during the test (exit {s.proc.returncode})")
                continue
            s.proc.send_signal(signal.SIGTERM)
        for s in services:
            try:
                s.proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                stacks = thread_stacks(s.proc.pid)
                s.proc.kill()
                s.proc.wait()
                problems.append(f"{s.name} ignored SIGTERM for {SHUTDOWN_TIMEOUT_S:.0f} s "
                                f"(SIGKILLed); where its threads were:\n{stacks}")
            if not s.signalled and s.proc.returncode not in (0, None):
                print(f"note: {s.name} exited with {s.proc.returncode} after SIGTERM")
            s.signalled = True
        return problems

    def teardown(self, failed: bool) -> list[str]:
        self.session.close()
        problems = self.stop_all()
        if failed or problems:
            for s in ([self.gateway] if self.gateway else []) + self.dispatchers:
                print(f"\n----- {s.name} ({s.log}), last {LOG_TAIL_LINES} lines -----")
                print(tail(s.log))
        self._delete_topics()
        if self._db_created:
            with psycopg.connect(self.infra.pg_admin_dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.dbname)))
        return problems

    def _delete_topics(self) -> None:
        # Keeps the shared broker small over a long run; failures here do not matter.
        try:
            admin = self.admin()
            mine = [t for t in admin.list_topics(timeout=5).topics if t.startswith(self.prefix + ".")]
            if mine:
                for f in admin.delete_topics(mine, operation_timeout=10).values():
                    f.result(timeout=15)
        except Exception as e:  # noqa: BLE001
            print(f"note: could not delete topics of {self.prefix}: {e}")

    # -- helpers for tests -------------------------------------------------------------

    def topic(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def topic_records(self, name: str) -> int:
        """Records ever produced to <prefix>.<name> (the partitions' end offsets; nothing
        here is deleted by retention within a test)."""
        from confluent_kafka import Consumer, TopicPartition
        topic = self.topic(name)
        c = Consumer({"bootstrap.servers": self.infra.brokers, "group.id": f"{self.prefix}-wm"})
        try:
            parts = c.list_topics(topic, timeout=10).topics[topic].partitions
            return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                       for p in parts)
        finally:
            c.close()

    def dispatcher_counter(self, series: str) -> float:
        """One counter series (name and labels, as exposed) summed over the running
        dispatchers' /metrics."""
        total = 0.0
        for d, port in zip(self.dispatchers, self.dispatcher_ports):
            if d.proc.poll() is not None:
                continue
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            for line in text.splitlines():
                if line.startswith(series + " "):
                    total += float(line.split()[-1])
        return total

    def admin_headers(self, tenant: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.admin_key}"}
        if tenant:
            h["X-Hookline-Tenant"] = tenant
        return h

    def create_tenant(self, tenant_id: str, name: str = "test tenant") -> None:
        r = self.api("POST", "/api/v1/tenants", json={"id": tenant_id, "name": name},
                     headers=self.admin_headers())
        assert r.status_code == 201, r.text

    def make_key(self, role: str, tenant: str | None = None) -> str:
        """Creates an API key of the role in tenant (default: the test's tenant)."""
        body: dict[str, Any] = {"role": role, "name": f"test {role}"}
        if role != "admin":
            body["tenant_id"] = tenant or self.tenant
        r = self.api("POST", "/api/v1/api-keys", json=body, headers=self.admin_headers())
        assert r.status_code == 201, r.text
        return r.json()["key"]

    def _bootstrap_tenant(self) -> None:
        self.create_tenant(self.tenant)
        self.tenant_key = self.make_key("tenant_admin")
        self.default_headers["Authorization"] = f"Bearer {self.tenant_key}"

    def dispatcher_metric(self, series: str, i: int = 0) -> float | None:
        """The value of one sample (its name and labels as exported, e.g.
        'x_total{path="direct"}') on dispatcher i's /metrics; None when it is not there."""
        text = requests.get(f"http://127.0.0.1:{self.dispatcher_ports[i]}/metrics",
                            timeout=5).text
        m = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
        return float(m.group(1)) if m else None

    def api(self, method: str, path: str, json: Any = None, data: Any = None,
            headers: dict[str, str] | None = None, timeout: float = 10) -> requests.Response:
        return self.session.request(
            method, self.base_url + path, json=json, data=data,
            headers={**self.default_headers, **(headers or {})}, timeout=timeout,
            verify=self.verify,
        )

    def ensure_event_types(self, names: list[str]) -> None:
        """Registers the catalog entries a subscription needs (wildcards need none)."""
        for name in names:
            if "*" in name:
                continue
            r = self.api("POST", "/api/v1/event-types", json={"name": name})
            assert r.status_code in (201, 409), f"create event type: {r.status_code} {r.text}"

    def create_webhook(self, url: str, events: list[str], **fields: Any) -> dict:
        self.ensure_event_types(events)
        r = self.api("POST", "/api/v1/webhooks", json={"url": url, "events": events, **fields})
        assert r.status_code == 201, f"create webhook: {r.status_code} {r.text}"
        return r.json()

    def post_event(self, event: str, data: Any, **fields: Any) -> str:
        r = self.api("POST", "/api/v1/events", json={"event": event, "data": data, **fields})
        assert r.status_code == 202, f"post event: {r.status_code} {r.text}"
        return r.json()["id"]

    @staticmethod
    def settle(sql_change: bool = False, direct_events: bool = False) -> None:
        """A change made through the API is matched by the very next event posted through
        the gateway (the read-your-writes fence, test_fence.py), so there is nothing to
        wait for. Two things the fence does not cover wait out 2 s for the dispatchers'
        reload: a change written straight into the database (sql_change: it reaches the
        gateways' fence only through their change listener), and events produced straight
        to Kafka (direct_events: they carry no stamp unless their producer sets one)."""
        if sql_change or direct_events:
            time.sleep(2.0)

    def sql(self, query: str, *params: Any) -> list[tuple]:
        """Runs one statement on this test's database and returns its rows (if any)."""
        with psycopg.connect(self.pg_dsn, autocommit=True) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []


@pytest.fixture
def hookline(infra: Infra, tmp_path: Path, request: pytest.FixtureRequest):
    marker = request.node.get_closest_marker("dispatchers")
    n = marker.args[0] if marker else 1
    hl = Hookline(infra, tmp_path)
    env_marker = request.node.get_closest_marker("service_env")
    if env_marker:
        hl.env.update({k: str(v) for k, v in env_marker.kwargs.items()})
    try:
        hl.setup(dispatchers=n)
        yield hl
    finally:
        rep = getattr(request.node, "rep_call", None)
        failed = rep is None or rep.failed
        problems = hl.teardown(failed)
    if problems:
        pytest.fail("services did not shut down cleanly: " + "; ".join(problems), pytrace=False)


# --- receivers --------------------------------------------------------------------------


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: CaseInsensitiveDict
    body: bytes
    arrived: float  # time.monotonic()
    arrived_wall: float  # time.time()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records every request.

    ``status`` is the answer to every request; ``responder`` (if set) overrides it per
    request: it gets the ReceivedRequest and returns a status code, or a status code and a
    dict of extra response headers (e.g. Retry-After). A responder may sleep to make a
    slow endpoint: each request has its own thread. ``open_now`` counts requests being
    answered at this moment, and ``max_open`` the most seen at once."""

    status: int = 200
    responder: Callable[[ReceivedRequest], int] | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self.open_now = 0
        self.max_open = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 so libcurl can keep connections alive, as with real endpoints.
            protocol_version = "HTTP/1.1"
            # The answer leaves in one write, flushed once the handler returns. Written
            # unbuffered, its head and its body were two small segments: Nagle held the
            # body until the client acknowledged the head, which the client delays by
            # 40 ms, so every answer took about 44 ms and a receiver managed about 22
            # requests per second per connection.
            wbufsize = 64 * 1024
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                body = self._read_body()
                req = ReceivedRequest(
                    method=self.command, path=self.path,
                    headers=CaseInsensitiveDict(self.headers.items()), body=body,
                    arrived=time.monotonic(), arrived_wall=time.time(),
                )
                with receiver._cond:
                    receiver.open_now += 1
                    receiver.max_open = max(receiver.max_open, receiver.open_now)
                try:
                    answer = receiver.responder(req) if receiver.responder else receiver.status
                finally:
                    with receiver._cond:
                        receiver.open_now -= 1
                status, extra = answer if isinstance(answer, tuple) else (answer, {})
                with receiver._cond:
                    receiver.requests.append(req)
                    receiver._cond.notify_all()
                reply = b"ok\n"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(reply)

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # bursts of concurrent deliveries

            def handle_error(self, request, client_address) -> None:
                # A SIGKILLed dispatcher resets its keep-alive connections, and a client
                # that rejects our certificate aborts the handshake: not news.
                if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
                    return
                super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        if self.ssl_context:
            # The handshake happens in the request's thread, not in accept().
            self._server.socket = self.ssl_context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False)
            self.url = f"https://127.0.0.1:{self.port}/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"receiver-{self.port}")
        self._thread.start()

    def wait_for(self, n: int, timeout: float) -> list[ReceivedRequest]:
        """Waits until at least n requests arrived; returns a snapshot of all of them.
        Fails the test if fewer than n arrived within timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"receiver {self.url}: {len(self.requests)} of {n} requests "
                        f"within {timeout} s")
                self._cond.wait(left)
            return list(self.requests)

    def wait_until(self, predicate: Callable[[list[ReceivedRequest]], bool], timeout: float) -> bool:
        """Waits until predicate(requests) is true; returns False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def snapshot(self) -> list[ReceivedRequest]:
        with self._cond:
            return list(self.requests)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def make_receiver():
    made: list[Receiver] = []

    def make(status: int = 200, responder: Callable[[ReceivedRequest], int] | None = None,
             ssl_context: ssl.SSLContext | None = None) -> Receiver:
        r = Receiver(status=status, responder=responder, ssl_context=ssl_context)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


@pytest.fixture
def receiver(make_receiver) -> Receiver:
    return make_receiver()


# --- Kafka ------------------------------------------------------------------------------


class TopicReader:
    """Reads a whole topic from the beginning, without joining a consumer group."""

    def __init__(self, brokers: str, topic: str):
        from confluent_kafka import Consumer

        self.topic = topic
        self._consumer = Consumer({
            "bootstrap.servers": brokers,
            # assign() needs no group coordination, but librdkafka wants an id
            "group.id": f"hl-test-reader-{secrets.token_hex(4)}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "log_level": 4,
        })

    def messages(self, duration: float = 3.0, want: int | None = None) -> list:
        """Every message in the topic, polling for `duration` seconds (so messages still
        in flight when called are seen too), or until `want` messages were read."""
        from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

        # A topic just created may be unknown to this client's broker for a moment (seen
        # in a test that produced nothing to it under load): ask again for up to 10 s.
        deadline = time.monotonic() + 10
        while True:
            t = self._consumer.list_topics(self.topic, timeout=10).topics[self.topic]
            if t.error is None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if t.error is not None:
            raise AssertionError(f"topic {self.topic}: {t.error}")
        self._consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in t.partitions])
        out = []
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            m = self._consumer.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consuming {self.topic}: {m.error()}")
            out.append(m)
            if want is not None and len(out) >= want:
                break
        self._consumer.unassign()
        return out

    def close(self) -> None:
        self._consumer.close()


@pytest.fixture
def kafka_consumer_factory(infra: Infra):
    readers: list[TopicReader] = []

    def make(topic: str) -> TopicReader:
        r = TopicReader(infra.brokers, topic)
        readers.append(r)
        return r

    yield make
    for r in readers:
        r.close()
