"""Operations: Prometheus metrics on both services, the dispatcher's /healthz and /readyz.

A real Prometheus (Debian's package, installed by scripts/install-deps) is started on a
free loopback port and scrapes the gateway and two dispatchers every second; after a
scripted load of deliveries that succeed, fail and dead-letter, its HTTP API must show the
counts the load produced. promtool checks each service's exposition, and the dashboard and
alert rules may name only metrics the services export.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import BUILD, REPO, free_port
from waiting import wait_for

FAST = {"HOOKLINE_RETRY_TIERS_MS": "200,1000", "HOOKLINE_RETRY_JITTER_PCT": "0"}
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


def scrape(url: str) -> str:
    r = requests.get(url, timeout=5)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    return r.text


def exported_names(text: str) -> set[str]:
    """Family names from # TYPE lines, plus the series names histograms expand to."""
    names = set()
    for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names.add(m.group(1))
        if m.group(2) == "histogram":
            names.update(m.group(1) + s for s in ("_bucket", "_sum", "_count"))
    return names


def dp_url(hookline, i: int, path: str) -> str:
    return f"http://127.0.0.1:{hookline.dispatcher_ports[i]}{path}"


class Prometheus:
    def __init__(self, tmp_path: Path, targets: dict[str, list[str]]):
        assert PROMETHEUS, "prometheus is missing: run scripts/install-deps"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        jobs = "".join(
            f"  - job_name: {job}\n    static_configs:\n      - targets: {json.dumps(t)}\n"
            for job, t in targets.items())
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                       f"scrape_configs:\n{jobs}")
        self.log = tmp_path / "prometheus.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("prometheus not ready within 30 s")

    def query(self, q: str) -> float | None:
        r = requests.get(self.url + "/api/v1/query", params={"query": q}, timeout=5).json()
        assert r["status"] == "success", r
        res = r["data"]["result"]
        return float(res[0]["value"][1]) if res else None

    def wait_value(self, q: str, want: float, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = self.query(q)
            if got == want:
                return
            time.sleep(0.5)
        raise AssertionError(f"{q}: {got}, want {want}")

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.mark.dispatchers(0)
def test_prometheus_finds_the_counts_a_scripted_load_produced(hookline, make_receiver, tmp_path):
    for _ in range(2):
        hookline.start_dispatcher(wait=False, **FAST)
    hookline.wait_dispatchers_ready()
    ok = make_receiver(status=200)
    bad = make_receiver(status=500)
    wh_ok = hookline.create_webhook(ok.url, ["m.ok"])
    wh_bad = hookline.create_webhook(bad.url, ["m.bad"])
    hookline.sql("UPDATE webhooks SET retry_policy = retry_policy || %s::jsonb WHERE id = %s",
                 json.dumps({"max_attempts": 2, "initial_delay_ms": 200, "max_delay_ms": 200}),
                 wh_bad["id"])
    assert wh_ok["id"] != wh_bad["id"]
    hookline.settle(sql_change=True)

    gw = f"127.0.0.1:{hookline.http_port}"
    dps = [f"127.0.0.1:{p}" for p in hookline.dispatcher_ports]
    prom = Prometheus(tmp_path, {"gateway": [gw], "dispatcher": dps})
    try:
        for n in range(5):
            hookline.post_event("m.ok", {"n": n})
        for n in range(3):
            hookline.post_event("m.bad", {"n": n})
        # one refused: an unknown field the event schema does not allow
        r = hookline.api("POST", "/api/v1/events", json={"event": "m.ok", "data": {}, "bogus": 1})
        assert r.status_code in (400, 422), r.text
        ok.wait_for(5, timeout=30)
        bad.wait_for(6, timeout=30)  # two attempts each

        prom.wait_value('count(up{job="dispatcher"} == 1)', 2)
        prom.wait_value('up{job="gateway"}', 1)
        prom.wait_value('sum(hookline_dispatcher_deliveries_total{outcome="succeeded"})', 5)
        prom.wait_value('sum(hookline_dispatcher_deliveries_total{outcome="retried",'
                        'error_class="http_status"})', 3)
        prom.wait_value('sum(hookline_dispatcher_deliveries_total{outcome="dead_lettered",'
                        'error_class="http_status"})', 3)
        prom.wait_value('sum(hookline_dispatcher_attempt_duration_seconds_count)', 11)
        prom.wait_value('sum(hookline_dispatcher_delivery_latency_seconds_count)', 5)
        prom.wait_value('sum(hookline_gateway_events_total{outcome="accepted"})', 8)
        prom.wait_value('sum(hookline_gateway_events_total{outcome="refused"})', 1)
        prom.wait_value('sum(hookline_gateway_requests_total{method="POST",'
                        'route="/api/v1/events",code="2xx"})', 8)
        prom.wait_value('hookline_gateway_produce_ack_seconds_count', 8)
        prom.wait_value('sum(hookline_dispatcher_webhooks{status="active"})', 4)  # 2 each
        prom.wait_value('count(hookline_dispatcher_ready == 1)', 2)
        # consumer lag arrives with librdkafka's statistics (every 10 s) and drains to 0
        prom.wait_value('count(hookline_dispatcher_consumer_lag) > bool 0', 1)
        prom.wait_value('sum(hookline_dispatcher_consumer_lag)', 0)
        prom.wait_value('hookline_build_info{job="gateway",service="gateway"}', 1)
    finally:
        prom.close()


def test_each_exposition_passes_promtool_check_metrics(hookline, receiver):
    assert PROMTOOL, "promtool is missing: run scripts/install-deps"
    wh = hookline.create_webhook(receiver.url, ["x.y"])
    assert wh["id"]
    hookline.settle()
    hookline.post_event("x.y", {})
    receiver.wait_for(1, timeout=20)
    hookline.api("GET", "/api/v1/webhooks")
    for url in (hookline.base_url + "/metrics", dp_url(hookline, 0, "/metrics")):
        text = scrape(url)
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, f"{url}:\n{p.stdout}{p.stderr}"


def linked_malloc(binary: Path) -> str:
    """The malloc a binary's dynamic section brings in: mimalloc, or glibc's own."""
    out = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True,
                         check=True).stdout
    return "mimalloc" if "libmimalloc" in out else "glibc"


def test_build_info_names_the_malloc_each_service_runs_with(hookline):
    cache = (BUILD / "CMakeCache.txt").read_text()
    sanitized = "HL_ASAN:BOOL=ON" in cache
    for url, binary in ((hookline.base_url + "/metrics", BUILD / "gateway/hookline-gateway"),
                        (dp_url(hookline, 0, "/metrics"),
                         BUILD / "dispatcher/hookline-dispatcher")):
        m = re.search(r'^hookline_build_info\{[^}]*allocator="([^"]+)"\} 1$', scrape(url), re.M)
        assert m, f"{url}: no allocator label on hookline_build_info"
        linked = linked_malloc(binary)
        assert m.group(1).split()[0] == linked, (url, m.group(1))
        if linked == "mimalloc":
            assert re.fullmatch(r"mimalloc \d+\.\d+\.\d+", m.group(1)), m.group(1)
        # The default build links mimalloc (CMake option HL_MIMALLOC); the sanitizers'
        # build keeps their own malloc.
        if "HL_MIMALLOC:BOOL=OFF" not in cache:
            assert linked == ("glibc" if sanitized else "mimalloc"), (binary, linked)


def test_gateway_route_labels_are_templates_not_ids(hookline):
    wh = hookline.create_webhook("http://127.0.0.1:1999/x", ["a.b"])
    hookline.api("GET", f"/api/v1/webhooks/{wh['id']}")
    hookline.api("GET", "/api/v1/webhooks/not-a-real-id-at-all")
    requests.get(hookline.base_url + "/no/such/path/at/all", timeout=5)
    text = scrape(hookline.base_url + "/metrics")
    assert wh["id"] not in text
    assert "not-a-real-id" not in text and "/no/such" not in text
    assert 'route="/api/v1/webhooks/{id}",code="2xx"' in text
    assert 'route="other",code="4xx"' in text


def test_dispatcher_healthz_and_readyz(hookline):
    assert requests.get(dp_url(hookline, 0, "/healthz"), timeout=5).status_code == 200
    r = requests.get(dp_url(hookline, 0, "/readyz"), timeout=5)
    assert r.status_code == 200, r.text
    r = requests.post(dp_url(hookline, 0, "/readyz"), timeout=5)
    assert r.status_code == 405
    r = requests.get(dp_url(hookline, 0, "/nope"), timeout=5)
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json"


@pytest.mark.dispatchers(0)
def test_dispatcher_without_postgresql_is_alive_but_not_ready(hookline):
    i = hookline.start_dispatcher(wait=False, HOOKLINE_PG_DSN="postgresql://nobody@127.0.0.1:1/x")
    deadline = time.monotonic() + 15
    while True:
        try:
            h = requests.get(dp_url(hookline, i, "/healthz"), timeout=1)
            break
        except requests.RequestException:
            assert time.monotonic() < deadline, "no /healthz within 15 s"
            time.sleep(0.2)
    assert h.status_code == 200
    r = requests.get(dp_url(hookline, i, "/readyz"), timeout=5)
    assert r.status_code == 503, r.text
    body = r.json()
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "no webhook snapshot" in body["detail"] and "consumer group" in body["detail"], body
    hookline.kill_dispatcher(i, sig=signal.SIGTERM)


def test_dispatcher_is_not_ready_while_shutting_down(hookline, make_receiver):
    arrived, release = threading.Event(), threading.Event()

    def hold(req):  # the attempt stays in flight until the test releases it
        arrived.set()
        release.wait(20)
        return 200

    slow = make_receiver(responder=hold)
    hookline.create_webhook(slow.url, ["s.low"])
    hookline.settle()
    hookline.post_event("s.low", {})
    try:
        assert arrived.wait(20), "the attempt did not arrive"
        # Ready before the signal. The consumer group as Kafka reports it can be stable a
        # moment before each consumer's assignment has reached the dispatcher (CI once saw
        # 503 here), so wait for it, and say why if it never comes.
        ready_by = time.monotonic() + 15
        while (r := requests.get(dp_url(hookline, 0, "/readyz"), timeout=5)).status_code != 200:
            assert time.monotonic() < ready_by, f"not ready before the signal: {r.text}"
            time.sleep(0.2)
        hookline.dispatchers[0].signalled = True
        hookline.dispatchers[0].proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while True:  # the signal handler's flag, seen by the listener's thread
            r = requests.get(dp_url(hookline, 0, "/readyz"), timeout=5)
            if r.status_code != 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert r.status_code == 503 and "shutting down" in r.json()["detail"], r.text
        assert requests.get(dp_url(hookline, 0, "/healthz"), timeout=5).status_code == 200
    finally:
        release.set()
    hookline.dispatchers[0].proc.wait(timeout=15)
    slow.wait_for(1, timeout=5)


def cdc_exposition(hookline, tmp_path: Path) -> str:
    """The exposition of a hookline-cdc worker (which holds no table source here: its
    families are declared all the same)."""
    port = free_port()
    with open(tmp_path / "cdc.log", "wb") as out:
        p = subprocess.Popen([str(BUILD / "cdc" / "hookline-cdc")], stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env={**hookline.env, "HOOKLINE_HTTP_HOST": "127.0.0.1",
                                  "HOOKLINE_HTTP_PORT": str(port)})
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                return scrape(f"http://127.0.0.1:{port}/metrics")
            except requests.ConnectionError:
                assert p.poll() is None and time.monotonic() < deadline, \
                    (tmp_path / "cdc.log").read_text()[-3000:]
                time.sleep(0.1)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=15)


def test_dashboard_and_alerts_name_only_exported_metrics(hookline, tmp_path):
    exported = exported_names(scrape(hookline.base_url + "/metrics"))
    exported |= exported_names(scrape(dp_url(hookline, 0, "/metrics")))
    exported |= exported_names(cdc_exposition(hookline, tmp_path))
    exported.add("up")  # Prometheus's own, per target
    documented = set(re.findall(r"`((?:hookline|process)_[a-z_]+)`",
                                (REPO / "docs/operations.md").read_text()))
    used = set()
    for f in (REPO / "deploy/grafana/hookline.json", REPO / "deploy/prometheus/alerts.yml"):
        used |= set(re.findall(r"\b((?:hookline|process)_[a-z_]+)\b", f.read_text()))
    assert used, "no metric names found"
    assert not used - exported, f"not exported: {sorted(used - exported)}"
    families = {n for n in exported if n.startswith("hookline_") and not
                re.search(r"_(bucket|sum|count)$", n)}
    assert not families - documented, f"undocumented: {sorted(families - documented)}"
    assert not documented - exported, f"documented, not exported: {sorted(documented - exported)}"


def test_metrics_port_moves_gateway_metrics_off_the_api_listener(hookline):
    port = free_port()
    hookline.restart_gateway(extra_env={"HOOKLINE_METRICS_PORT": str(port)})
    assert "hookline_gateway_requests_total" in scrape(f"http://127.0.0.1:{port}/metrics")
    r = requests.get(hookline.base_url + "/metrics", timeout=5)
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json"
    r = requests.get(f"http://127.0.0.1:{port}/api/v1/webhooks", timeout=5)
    assert r.status_code == 404


def dp_metric(hookline, i: int, series: str) -> float | None:
    m = re.search(rf"^{re.escape(series)} (\S+)$", scrape(dp_url(hookline, i, "/metrics")), re.M)
    return float(m.group(1)) if m else None


def wait_metric(hookline, series: str, want: float, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = dp_metric(hookline, 0, series)
        if got == want:
            return
        time.sleep(0.3)
    raise AssertionError(f"{series}: {got}, want {want}")


@pytest.mark.dispatchers(0)
def test_breaker_gauge_and_auto_disable_counter_follow_the_endpoints(hookline, make_receiver):
    hookline.start_dispatcher(HOOKLINE_BREAKER_MIN_REQUESTS="2", HOOKLINE_BREAKER_FAILURE_PCT="50",
                              HOOKLINE_BREAKER_OPEN_MS="60000", **FAST)
    failing = make_receiver(status=500)
    gone = make_receiver(status=410)
    hookline.create_webhook(failing.url, ["b.fail"])
    hookline.create_webhook(gone.url, ["b.gone"])
    hookline.settle()
    wait_metric(hookline, "hookline_dispatcher_breakers_open", 0)
    for n in range(3):
        hookline.post_event("b.fail", {"n": n})
    failing.wait_for(2, timeout=30)
    wait_metric(hookline, "hookline_dispatcher_breakers_open", 1)
    hookline.post_event("b.gone", {})
    gone.wait_for(1, timeout=30)
    wait_metric(hookline, "hookline_dispatcher_webhooks_auto_disabled_total", 1)
    wait_metric(hookline, 'hookline_dispatcher_deliveries_total{outcome="dead_lettered",'
                          'error_class="gone"}', 1)
    # the log writer disables the row; the next snapshot counts it
    wait_metric(hookline, 'hookline_dispatcher_webhooks{status="disabled"}', 1)


@pytest.mark.dispatchers(2)
def test_delivering_does_not_make_dispatchers_reload_webhooks(hookline, receiver):
    """The attempt log changes no webhook, so writing it must not advance the subscription
    version: every advance makes every dispatcher load every webhook again."""
    hookline.create_webhook(receiver.url, ["order.created"])
    hookline.settle()
    loads = "hookline_dispatcher_snapshot_loads_total"
    assert dp_metric(hookline, 0, loads) >= 1
    time.sleep(1.0)  # the creation's reload is behind us
    before = [dp_metric(hookline, i, loads) for i in range(len(hookline.dispatchers))]
    for n in range(40):  # over about two seconds: a dozen attempt-log batches
        hookline.post_event("order.created", {"n": n})
        time.sleep(0.05)
    receiver.wait_for(40, timeout=30)

    def logged() -> bool:
        r = hookline.api("GET", "/api/v1/deliveries?status=succeeded&limit=250")
        return len(r.json()["data"]) == 40
    wait_for(logged, what="40 logged successes")
    time.sleep(1.0)  # a reload the last batch set off would be done by now
    assert [dp_metric(hookline, i, loads) for i in range(len(hookline.dispatchers))] == before


@pytest.mark.dispatchers(2)
def test_requests_that_change_no_webhook_do_not_make_dispatchers_reload(hookline, receiver):
    """A 404 on a webhook that does not exist changes nothing, so no dispatcher may load
    its webhooks again for it: a client repeating such requests must not keep every
    dispatcher reloading. A change that does happen still reaches them."""
    hook = hookline.create_webhook(receiver.url, ["order.created"])
    hookline.settle()
    loads = "hookline_dispatcher_snapshot_loads_total"
    time.sleep(1.0)  # the creation's reload is behind us
    n = len(hookline.dispatchers)
    before = [dp_metric(hookline, i, loads) for i in range(n)]
    missing = "0191f0c2-7a35-7c3e-9b3a-3d2f4c1e8a77"
    for _ in range(5):
        for method, path, body in [
            ("PATCH", f"/api/v1/webhooks/{missing}", {"description": "nobody"}),
            ("PUT", f"/api/v1/webhooks/{missing}",
             {"url": receiver.url, "events": ["order.created"]}),
            ("DELETE", f"/api/v1/webhooks/{missing}", None),
            ("POST", f"/api/v1/webhooks/{missing}/pause", None),
            ("POST", f"/api/v1/webhooks/{missing}/resume", None),
            ("POST", f"/api/v1/webhooks/{missing}/rotate-secret", None),
        ]:
            r = hookline.api(method, path, json=body)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
    time.sleep(1.0)  # a reload would have started 50 ms after its notification
    assert [dp_metric(hookline, i, loads) for i in range(n)] == before

    # The same dispatchers do reload for a change that happens, and deliver by it.
    hookline.ensure_event_types(["order.shipped"])
    r = hookline.api("PATCH", f"/api/v1/webhooks/{hook['id']}",
                     json={"events": ["order.shipped"]})
    assert r.status_code == 200, r.text
    wait_for(lambda: all(dp_metric(hookline, i, loads) > before[i] for i in range(n)),
             what="a reload after a real change")
    hookline.post_event("order.shipped", {"n": 1})
    got = receiver.wait_for(1, timeout=30)
    assert got[0].json()["event"] == "order.shipped"
