"""/readyz of the gateway follows its dependencies: 503 problem+json while Kafka or
PostgreSQL is gone, 200 again once it is back, without a restart of the gateway.

The outage must not disturb other tests, so this test runs on a Kafka and a PostgreSQL of
its own (scripts/stack infra-up in a private HOOKLINE_STACK_DIR, torn down afterwards) and
stops them with `scripts/stack stop`. It costs a second JVM for a minute or two.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
from conftest import REPO, Hookline, Infra

STACK = REPO / "scripts" / "stack"


class PrivateInfra:
    def __init__(self) -> None:
        # Under /tmp (world-searchable), not pytest's 0700 tmp_path: PostgreSQL runs as
        # another user when the tests run as root.
        self.dir = Path(tempfile.mkdtemp(prefix="hl-readyz-"))
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("HOOKLINE_") or k in ("HOOKLINE_BUILD_DIR",)}
        self.env["HOOKLINE_STACK_DIR"] = str(self.dir)
        self.env["HOOKLINE_SKIP_INSTALL"] = "1"
        self.ports: dict[str, str] = {}

    def run(self, *args: str, timeout: float = 240) -> None:
        env = {**self.env, **self.ports}
        p = subprocess.run([str(STACK), *args], env=env, capture_output=True, text=True,
                           timeout=timeout)
        if p.returncode != 0:
            pytest.fail(f"scripts/stack {' '.join(args)} failed ({p.returncode}):\n{p.stderr}",
                        pytrace=False)

    def up(self) -> Infra:
        self.run("infra-up")
        env = {}
        for line in (self.dir / "env").read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                k, v = line[len("export "):].split("=", 1)
                env[k] = v
        # Restarts keep the ports the services were configured with.
        self.ports = {"HOOKLINE_KAFKA_PORT": env["HOOKLINE_KAFKA_PORT"],
                      "HOOKLINE_PG_PORT": env["HOOKLINE_PG_PORT"]}
        return Infra(brokers=env["HOOKLINE_BROKERS"], pg_admin_dsn=env["HOOKLINE_PG_ADMIN_DSN"])

    def down(self) -> None:
        subprocess.run([str(STACK), "down", "--purge"], env=self.env, capture_output=True,
                       timeout=180)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_hookline(tmp_path: Path, request: pytest.FixtureRequest):
    if not os.access(STACK, os.X_OK):
        pytest.fail("scripts/stack is missing", pytrace=False)
    pi = PrivateInfra()
    hl = None
    try:
        infra = pi.up()
        hl = Hookline(infra, tmp_path)
        hl.setup(dispatchers=0)
        yield hl, pi
    finally:
        if hl is not None:
            rep = getattr(request.node, "rep_call", None)
            pi.run("infra-up")  # the teardown drops the test's database and topics
            hl.teardown(rep is None or rep.failed)
        pi.down()


def readyz(hl: Hookline) -> requests.Response:
    return hl.session.get(hl.base_url + "/readyz", timeout=10)


def wait_readyz(hl: Hookline, status: int, timeout: float) -> requests.Response:
    deadline = time.monotonic() + timeout
    r = None
    while time.monotonic() < deadline:
        try:
            r = readyz(hl)
            if r.status_code == status:
                return r
        except requests.RequestException as e:
            pytest.fail(f"the gateway stopped answering /readyz: {e}", pytrace=False)
        time.sleep(0.5)
    raise AssertionError(f"/readyz not {status} within {timeout} s: "
                         f"{r.status_code if r is not None else '-'} {r.text if r is not None else ''}")


def test_readyz_is_503_while_kafka_or_postgresql_is_gone(private_hookline):
    hl, infra = private_hookline
    assert readyz(hl).status_code == 200
    # a pooled database connection exists (as after any API call)
    assert hl.api("GET", "/api/v1/webhooks").status_code == 200

    infra.run("stop", "kafka")
    r = wait_readyz(hl, 503, timeout=60)
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    assert "kafka" in r.json()["detail"].lower(), r.text
    assert "postgres" not in r.json()["detail"].lower(), r.text
    assert r.json()["checks"] == {"kafka": "unreachable", "postgresql": "ok"}, r.text
    infra.run("infra-up")
    wait_readyz(hl, 200, timeout=120)

    assert hl.api("GET", "/api/v1/webhooks").status_code == 200
    infra.run("stop", "postgresql")
    r = wait_readyz(hl, 503, timeout=30)
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    assert "postgres" in r.json()["detail"].lower(), r.text
    assert "kafka" not in r.json()["detail"].lower(), r.text
    assert r.json()["checks"] == {"kafka": "ok", "postgresql": "unreachable"}, r.text
    infra.run("infra-up")
    r = wait_readyz(hl, 200, timeout=60)
    assert r.json()["checks"] == {"kafka": "ok", "postgresql": "ok"}, r.text
    assert hl.gateway.proc.poll() is None, "the gateway lived through both outages"
