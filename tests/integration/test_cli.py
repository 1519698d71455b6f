"""hooklinectl, the built binary, against a real stack (gateway, dispatcher, Kafka,
PostgreSQL, HTTP receivers): every command once in table and JSON form, the exit codes,
pagination across pages, seed 002's credential shapes as a receiver sees them, and seed
002's README script run with only the program name changed."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pty
import re
import select
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import BUILD, REPO, free_port
from waiting import wait_for

# HOOKLINE_CTL runs another build of it, e.g. build-asan/cli/hooklinectl (a leak or a memory
# error then fails the command, and the test).
CTL = Path(os.environ.get("HOOKLINE_CTL", BUILD / "cli" / "hooklinectl")).resolve()


@dataclass
class Ctl:
    """Runs hooklinectl with the test's gateway and tenant key in its environment (and an
    empty HOME, so no profile of the machine leaks in)."""

    url: str
    key: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        env.update(HOME=str(self.home), HOOKLINE_URL=self.url, HOOKLINE_API_KEY=self.key)
        env.pop("XDG_CONFIG_HOME", None)
        env.update(extra)
        return env

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
            **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(CTL), *args], env=env or self.env(**extra_env),
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def ok(self, *args: str, **extra_env: str) -> str:
        p = self.run(*args, **extra_env)
        assert p.returncode == 0, f"{args}: rc {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p.stdout

    def json(self, *args: str, **extra_env: str):
        return json.loads(self.ok(*args, "--format", "json", **extra_env))


@pytest.fixture
def ctl(hookline, tmp_path) -> Ctl:
    if not os.access(CTL, os.X_OK):
        pytest.fail(f"{CTL} is missing: build with scripts/build", pytrace=False)
    home = tmp_path / "home"
    home.mkdir()
    return Ctl(url=hookline.base_url, key=hookline.tenant_key, home=home)


def fields(table_out: str) -> dict[str, str]:
    """The "name  value" lines of a single object's table output."""
    out = {}
    for line in table_out.splitlines():
        name, _, value = line.partition(" ")
        if name:
            out[name] = value.strip()
    return out


def rows(table_out: str) -> list[list[str]]:
    """A table's data rows, split on runs of two or more spaces."""
    lines = table_out.splitlines()
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:] if line.strip()]


# --- webhooks and deliveries -----------------------------------------------------------


def test_webhook_commands_in_table_and_json(hookline, ctl, make_receiver):
    rcv = make_receiver()
    hookline.ensure_event_types(["order.created"])

    # create: JSON is the API's answer (the secret shown once), table shows it too
    wh = ctl.json("webhooks:create", "--url", rcv.url, "--events", "order.created", "--name",
                  "billing", "--auth-type", "bearer", "--auth-credentials",
                  '{"token":"t0ken-value-1"}', "--max-attempts", "2", "--initial-delay-ms", "100")
    wid = wh["id"]
    assert wh["secret"].startswith("whsec_") and wh["auth"] == {"type": "bearer"}, wh
    assert wh["retry_policy"]["max_attempts"] == 2 and wh["name"] == "billing"
    out = ctl.ok("webhooks:create", "--url", rcv.url, "--events", "order.*", "--name", "other")
    f = fields(out)
    other = f["id"]
    assert f["secret"].startswith("whsec_") and f["status"] == "active" and f["events"] == "order.*"

    # list and info: the JSON unchanged from the API, the table with one row per webhook
    listed = ctl.json("webhooks:list")
    assert listed == hookline.api("GET", "/api/v1/webhooks?limit=50").json()
    out = ctl.ok("webhooks:list")
    assert out.splitlines()[0].split() == ["ID", "NAME", "STATUS", "URL", "EVENTS"]
    assert [r[0] for r in rows(out)] == [wid, other]
    assert ctl.json("webhooks:info", wid) == hookline.api("GET", f"/api/v1/webhooks/{wid}").json()
    assert fields(ctl.ok("webhooks:info", wid))["name"] == "billing"

    # update, with seed 002's "inactive"; list --status inactive keeps only that one
    upd = ctl.json("webhooks:update", wid, "--name", "New Name", "--status", "inactive")
    assert upd["name"] == "New Name" and upd["status"] == "paused", upd
    assert [r[0] for r in rows(ctl.ok("webhooks:list", "--status", "inactive"))] == [wid]
    assert [w["id"] for w in ctl.json("webhooks:list", "--status", "active")["data"]] == [other]
    assert fields(ctl.ok("webhooks:resume", wid))["status"] == "active"
    assert ctl.json("webhooks:pause", wid)["status"] == "paused"
    assert fields(ctl.ok("webhooks:pause", wid))["status"] == "paused"
    assert ctl.json("webhooks:resume", wid)["status"] == "active"
    # --limit counts the webhooks shown when hooklinectl filters them itself: the first
    # page (wid, active) shows nothing, so the second is fetched
    ctl.ok("webhooks:pause", other)
    out = ctl.ok("webhooks:list", "--status", "inactive", "--limit", "1", "--page-size", "1")
    assert [r[0] for r in rows(out)] == [other], out
    ctl.ok("webhooks:resume", other)
    assert fields(ctl.ok("webhooks:update", wid, "--timeout-ms", "5000"))["timeout_ms"] == "5000"
    hookline.settle()

    # test: waits for the outcome; the receiver got the test event with the bearer token
    out = ctl.ok("webhooks:test", wid)
    f = fields(out)
    assert f["status"] == "succeeded" and f["event_type"] == "system.webhook.test", out
    assert "ATTEMPT" in out and "200" in out
    got = [r for r in rcv.snapshot() if r.json()["event"] == "system.webhook.test"]
    assert got and got[0].headers["Authorization"] == "Bearer t0ken-value-1"
    d = ctl.json("webhooks:test", wid)
    assert d["status"] == "succeeded" and d["attempts"][0]["http_status"] == 200, d
    # a paused webhook's test is skipped, with no attempt to wait for
    ctl.ok("webhooks:pause", other)
    hookline.settle()
    t0 = time.monotonic()
    d = ctl.json("webhooks:test", other)
    assert d["status"] == "skipped" and d["attempts"] == [], d
    assert time.monotonic() - t0 < 20
    ctl.ok("webhooks:resume", other)
    hookline.settle()

    # trigger: publishes; both webhooks receive it
    ev = ctl.json("webhooks:trigger", "--event", "order.created", "--data", '{"n":1}',
                  "--metadata", '{"source":"cli"}')
    assert ev["status"] == "accepted", ev
    rcv.wait_until(lambda reqs: sum(r.json()["id"] == ev["id"] for r in reqs) == 2, timeout=15)
    got = [r.json() for r in rcv.snapshot() if r.json()["id"] == ev["id"]]
    assert len(got) == 2 and got[0]["data"] == {"n": 1} and got[0]["metadata"] == {"source": "cli"}
    out = ctl.ok("webhooks:trigger", "--event", "order.created", "--id", "cli-ev-1")
    assert fields(out)["id"] == "cli-ev-1" and fields(out)["status"] == "accepted"

    # deliveries of the webhook (and all of them), one delivery in full
    wait_for(lambda: len(hookline.api("GET", f"/api/v1/webhooks/{wid}/deliveries").json()["data"]) >= 4,
             timeout=15, what="four deliveries logged")
    dl = ctl.json("webhooks:deliveries", wid)
    assert dl == hookline.api("GET", f"/api/v1/webhooks/{wid}/deliveries?limit=50").json()
    out = ctl.ok("webhooks:deliveries", wid, "--status", "succeeded")
    assert out.splitlines()[0].split()[:4] == ["ID", "WEBHOOK", "EVENT", "STATUS"]
    assert {r[3] for r in rows(out)} == {"succeeded"} and len(rows(out)) >= 3
    assert ctl.json("deliveries:list", "--webhook", other)["data"][0]["webhook_id"] == other
    assert len(rows(ctl.ok("deliveries:list"))) >= 6
    did = dl["data"][0]["id"]
    full = ctl.json("deliveries:show", did)
    assert full["id"] == did and full["attempts"] and full["event"]["id"], full
    out = ctl.ok("deliveries:show", did)
    assert fields(out)["id"] == did and "ATTEMPT" in out and '"tenant"' in out

    # stats
    st = ctl.json("webhooks:stats", wid, "--window-hours", "1")
    assert st["succeeded"] >= 3, st
    assert "success_rate" in fields(ctl.ok("webhooks:stats", wid))

    # retry: only a delivery of the named webhook; sent again
    before = len(rcv.snapshot())
    assert ctl.json("webhooks:retry", "--webhook", wid, "--delivery", did)["status"] == "pending"
    rcv.wait_for(before + 1, timeout=15)
    out = ctl.ok("webhooks:retry", "--webhook", wid, "--delivery", did)
    assert fields(out)["status"] == "pending"
    p = ctl.run("webhooks:retry", "--webhook", other, "--delivery", did)
    assert p.returncode == 1 and f"is not a delivery of webhook {other}" in p.stderr, p.stderr

    # rotate-secret and replay
    rot = ctl.json("webhooks:rotate-secret", wid, "--overlap-seconds", "60")
    assert rot["secret"].startswith("whsec_") and rot["secret"] != wh["secret"]
    assert rot["previous_secret_expires_at"], rot
    assert fields(ctl.ok("webhooks:rotate-secret", wid))["secret"].startswith("whsec_")
    rp = ctl.json("webhooks:replay", wid, "--since", "2000-01-01T00:00:00Z")
    assert rp == {"replayed": 0, "truncated": False}, rp
    assert fields(ctl.ok("webhooks:replay", wid, "--since", "2000-01-01T00:00:00Z"))["replayed"] == "0"

    # a delivery format, by name or as a JSON object
    assert ctl.json("webhooks:update", other, "--delivery-format", "epic81")["format"] == "epic81"
    custom = {"body": {"e": "{{event}}"}, "user_agent": "Acme/1"}
    assert ctl.json("webhooks:update", other, "--delivery-format",
                    json.dumps(custom))["format"] == custom

    # delete (no prompt: not a terminal, and --force)
    assert ctl.ok("webhooks:delete", other, "--force").strip() == f"deleted webhook {other}"
    assert ctl.run("webhooks:delete", wid, "--force", "--format", "json").stdout == ""
    assert hookline.api("GET", f"/api/v1/webhooks/{wid}").status_code == 404


def test_catalog_sources_tenants_and_keys(hookline, ctl):
    # event types
    et = ctl.json("event-types:create", "--name", "order.created", "--description", "placed",
                  "--schema", '{"type":"object"}')
    assert et["name"] == "order.created" and et["schema"] == {"type": "object"}
    assert fields(ctl.ok("event-types:create", "--name", "order.paid"))["name"] == "order.paid"
    lst = ctl.json("event-types:list")
    assert lst == hookline.api("GET", "/api/v1/event-types").json()
    names = [r[0] for r in rows(ctl.ok("event-types:list"))]
    assert "order.created" in names and "system.webhook.test" in names
    assert fields(ctl.ok("event-types:info", "order.created"))["description"] == "placed"
    assert ctl.json("event-types:info", "order.created") == hookline.api(
        "GET", "/api/v1/event-types/order.created").json()
    assert ctl.json("event-types:update", "order.created", "--deprecated", "true")["deprecated"] is True
    assert fields(ctl.ok("event-types:update", "order.created", "--schema", "null"))["schema"] == "-"
    assert ctl.ok("event-types:delete", "order.paid").strip() == "deleted event type order.paid"
    assert ctl.run("event-types:info", "order.paid").returncode == 1

    # sources: the credential is shown in the create answer only
    src = ctl.json("sources:create", "--name", "github", "--verification",
                   '{"type":"github","secret":"my-github-secret"}', "--event-type",
                   '{"from":"header","header":"X-GitHub-Event","prefix":"github."}')
    sid = src["id"]
    assert src["verification"]["secret"] == "my-github-secret"
    assert src["incoming_path"] == f"/api/v1/incoming/{sid}"
    out = ctl.ok("sources:create", "--verification", '{"type":"api_key","header":"X-K"}')
    sid2 = fields(out)["id"]
    out = ctl.ok("sources:list")
    assert out.splitlines()[0].split()[:4] == ["ID", "NAME", "STATUS", "VERIFICATION"]
    assert [r[0] for r in rows(out)] == [sid, sid2]
    assert ctl.json("sources:list", "--status", "active")["data"][0]["id"] == sid
    info = ctl.json("sources:info", sid)
    assert "secret" not in info["verification"] and info["name"] == "github"
    assert fields(ctl.ok("sources:info", sid))["name"] == "github"
    assert ctl.json("sources:update", sid, "--status", "disabled")["status"] == "disabled"
    assert fields(ctl.ok("sources:update", sid, "--name", "gh"))["name"] == "gh"
    assert ctl.ok("sources:delete", sid2, "--force").strip() == f"deleted source {sid2}"

    # tenants (admin), and the tenant key's own tenant
    admin = {"HOOKLINE_API_KEY": hookline.admin_key}
    t = ctl.json("tenants:create", "--id", "acme", "--name", "Acme", "--metadata",
                 '{"plan":"pro"}', **admin)
    assert t["id"] == "acme" and t["metadata"] == {"plan": "pro"}
    assert fields(ctl.ok("tenants:create", "--id", "beta", "--name", "Beta", **admin))["id"] == "beta"
    assert ctl.json("tenants:list", **admin) == hookline.api(
        "GET", "/api/v1/tenants?limit=50", headers=hookline.admin_headers()).json()
    assert {"acme", "beta", hookline.tenant} <= {r[0] for r in rows(ctl.ok("tenants:list", **admin))}
    assert fields(ctl.ok("tenants:info", hookline.tenant))["id"] == hookline.tenant
    assert ctl.json("tenants:info", hookline.tenant)["id"] == hookline.tenant
    assert ctl.json("tenants:update", "acme", "--name", "Acme Inc", **admin)["name"] == "Acme Inc"
    assert fields(ctl.ok("tenants:info", "acme", **admin))["name"] == "Acme Inc"
    assert ctl.ok("tenants:delete", "beta", "--force", **admin).strip() == "deleted tenant beta"

    # API keys: admin for another tenant (flag and --tenant), tenant_admin for its own
    k = ctl.json("api-keys:create", "--role", "viewer", "--name", "ro", "--tenant-id", "acme",
                 **admin)
    assert k["key"].startswith("hl_") and k["tenant_id"] == "acme" and k["role"] == "viewer"
    out = ctl.ok("--tenant", "acme", "api-keys:create", "--role", "publisher", **admin)
    assert fields(out)["tenant_id"] == "acme" and fields(out)["key"].startswith("hl_")
    mine = ctl.json("api-keys:create", "--role", "publisher", "--rate-limit", "5")
    assert mine["tenant_id"] == hookline.tenant and mine["rate_limit_per_s"] == 5
    keys = ctl.json("api-keys:list", "--tenant", "acme", **admin)
    assert {x["id"] for x in keys["data"]} >= {k["id"]} and all("key" not in x for x in keys["data"])
    out = ctl.ok("api-keys:list")
    assert out.splitlines()[0].split()[:3] == ["ID", "ROLE", "TENANT"] and mine["id"] in out
    assert ctl.json("api-keys:info", k["id"], **admin)["key_prefix"] == k["key"][:11]
    assert fields(ctl.ok("api-keys:info", mine["id"]))["role"] == "publisher"
    # the viewer key works (reads its tenant) until revoked, then 401 (exit 1)
    assert fields(ctl.ok("tenants:info", "acme", HOOKLINE_API_KEY=k["key"]))["id"] == "acme"
    assert ctl.ok("api-keys:revoke", k["id"], **admin).strip() == f"revoked API key {k['id']}"
    p = ctl.run("tenants:info", "acme", HOOKLINE_API_KEY=k["key"])
    assert p.returncode == 1 and "Unauthorized" in p.stderr and k["key"] not in p.stderr + p.stdout

    # an admin key acts on a tenant's webhooks with --tenant (X-Hookline-Tenant)
    assert ctl.json("--tenant", hookline.tenant, "webhooks:list", **admin)["data"] == []
    p = ctl.run("webhooks:list", **admin)
    assert p.returncode == 1 and "X-Hookline-Tenant" in p.stderr, p.stderr


def test_delete_asks_for_confirmation_on_a_terminal(hookline, ctl, receiver):
    wid = hookline.create_webhook(receiver.url, ["*"])["id"]

    def delete_on_a_terminal(answer: bytes) -> tuple[int, str, str]:
        master, slave = pty.openpty()
        p = subprocess.Popen([str(CTL), "webhooks:delete", wid], stdin=slave, stderr=slave,
                             stdout=subprocess.PIPE, env=ctl.env())
        os.close(slave)
        seen = b""
        try:
            deadline = time.monotonic() + 30
            while b"[y/N]" not in seen and time.monotonic() < deadline:
                if select.select([master], [], [], 1)[0]:
                    seen += os.read(master, 1024)
            assert b"[y/N]" in seen, seen
            os.write(master, answer + b"\n")
            out = p.communicate(timeout=30)[0].decode()
        finally:
            os.close(master)
            if p.poll() is None:
                p.kill()
                p.wait()
        return p.returncode, seen.decode(), out

    rc, prompt, out = delete_on_a_terminal(b"n")
    assert rc == 2 and f"delete webhook {wid}?" in prompt and out == "", (rc, prompt, out)
    assert hookline.api("GET", f"/api/v1/webhooks/{wid}").status_code == 200
    rc, prompt, out = delete_on_a_terminal(b"y")
    assert rc == 0 and out.strip() == f"deleted webhook {wid}", (rc, prompt, out)
    assert hookline.api("GET", f"/api/v1/webhooks/{wid}").status_code == 404


# --- exit codes, errors and the key ----------------------------------------------------


def test_exit_codes_and_error_messages(hookline, ctl):
    # 1: an API error, problem title and detail on stderr, one line per invalid field
    p = ctl.run("webhooks:info", "01890a5d-ac96-774b-bcce-b302099a8057")
    assert p.returncode == 1 and p.stdout == ""
    assert "Not found (HTTP 404)" in p.stderr, p.stderr
    problem = hookline.api("GET", "/api/v1/webhooks/01890a5d-ac96-774b-bcce-b302099a8057").json()
    assert problem["detail"] in p.stderr
    p = ctl.run("webhooks:create", "--url", "http://10.0.0.1/hook", "--events", "*",
                "--method", "PUT")
    assert p.returncode == 1 and "Invalid request (HTTP 400)" in p.stderr, p.stderr
    assert "  /url: host '10.0.0.1' is not allowed" in p.stderr, p.stderr
    p = ctl.run("webhooks:create", "--url", "https://example.com/h", "--events", "no.such.type")
    assert p.returncode == 1 and "(HTTP 422)" in p.stderr and "/events/0" in p.stderr, p.stderr
    p = ctl.run("webhooks:create", "--url", "https://example.com/h", "--events", "*",
                "--auth-type", "hmac", "--auth-credentials", '{"secret":"short"}')
    assert p.returncode == 1 and "/auth" in p.stderr, p.stderr
    assert hookline.api("GET", "/api/v1/webhooks").json()["data"] == []  # nothing created

    # 2: usage errors, before anything is sent
    for args in (["webhooks:frobnicate"], ["webhooks:list", "--bogus"], ["webhooks:info"],
                 ["webhooks:list", "--status", "sleeping"], ["webhooks:create", "--url", "x"],
                 ["webhooks:create", "--url", "https://e.com", "--events", "*", "--auth-type",
                  "bearer", "--auth-credentials", '{"tok":"x"}'],
                 ["webhooks:update", "some-id"], []):
        p = ctl.run(*args)
        assert p.returncode == 2 and p.stderr.startswith("hooklinectl: "), (args, p.stderr)
    env = ctl.env()
    del env["HOOKLINE_URL"]
    p = ctl.run("webhooks:list", env=env)
    assert p.returncode == 2 and "no gateway URL" in p.stderr
    p = ctl.run("--profile", "nope", "webhooks:list")
    assert p.returncode == 2 and "profile 'nope'" in p.stderr

    # 3: nothing listens on a closed loopback port
    port = free_port()
    p = ctl.run("webhooks:list", HOOKLINE_URL=f"http://127.0.0.1:{port}")
    assert p.returncode == 3, p
    assert f"cannot connect to 'http://127.0.0.1:{port}'" in p.stderr, p.stderr

    # the key is never printed, not even when it is wrong
    secret_key = "hl_THIS-KEY-MUST-NOT-BE-PRINTED-1234"
    for args in (["webhooks:list"], ["webhooks:info", "x"], ["--url", f"http://127.0.0.1:{port}",
                 "webhooks:list"]):
        p = ctl.run(*args, HOOKLINE_API_KEY=secret_key)
        assert p.returncode in (1, 3) and secret_key not in p.stdout + p.stderr, p

    # help and version
    assert "webhooks:create" in ctl.ok("--help") and "exit codes" in ctl.ok("--help")
    out = ctl.ok("webhooks:list", "--help")
    assert out.startswith("usage: hooklinectl webhooks:list") and "--status" in out
    assert ctl.ok("help", "webhooks:retry").startswith("usage: hooklinectl webhooks:retry")
    assert ctl.ok("--version").startswith("hooklinectl ")


def test_profiles_file(hookline, ctl):
    cfg = ctl.home / ".config" / "hookline"
    cfg.mkdir(parents=True)
    (cfg / "config").write_text(
        f"[default]\nurl = {hookline.base_url}\napi_key = {hookline.tenant_key}\n\n"
        f"[admin]\nurl = {hookline.base_url}\napi_key = {hookline.admin_key}\n"
        f"tenant = {hookline.tenant}\n")
    env = {k: v for k, v in ctl.env().items() if k not in ("HOOKLINE_URL", "HOOKLINE_API_KEY")}
    (cfg / "config").chmod(0o644)
    p = ctl.run("webhooks:list", "--format", "json", env=env)
    assert p.returncode == 0 and "other users may read it (chmod 600" in p.stderr, p.stderr
    assert json.loads(p.stdout)["data"] == []
    (cfg / "config").chmod(0o600)
    assert ctl.run("webhooks:list", env=env).stderr == ""
    p = ctl.run("--profile", "admin", "tenants:list", env=env)
    assert p.returncode == 0 and hookline.tenant in p.stdout, p.stderr
    # the default profile's tenant key may not list tenants
    p = ctl.run("tenants:list", env=env)
    assert p.returncode == 1 and "Forbidden" in p.stderr


# --- pagination --------------------------------------------------------------------------


def test_pagination_follows_cursors(hookline, ctl, receiver):
    ids = [hookline.create_webhook(receiver.url, ["*"], name=f"w{i}")["id"] for i in range(7)]

    # --limit across pages of --page-size: 5 items from 3 requests, the cursor on stderr
    p = ctl.run("webhooks:list", "--limit", "5", "--page-size", "2")
    assert p.returncode == 0
    assert [r[0] for r in rows(p.stdout)] == ids[:5], p.stdout
    assert f"--cursor {ids[4]}" in p.stderr, p.stderr
    # ... and on from there
    p = ctl.run("webhooks:list", "--cursor", ids[4])
    assert [r[0] for r in rows(p.stdout)] == ids[5:] and "--cursor" not in p.stderr

    # --all: every page; with JSON, each page as the API sent it
    assert [r[0] for r in rows(ctl.ok("webhooks:list", "--all", "--page-size", "3"))] == ids
    out = ctl.ok("webhooks:list", "--all", "--page-size", "2", "--format", "json")
    pages = [json.loads(line) for line in out.splitlines()]
    assert [len(pg["data"]) for pg in pages] == [2, 2, 2, 1]
    assert [w["id"] for pg in pages for w in pg["data"]] == ids
    assert pages[0] == hookline.api("GET", "/api/v1/webhooks?limit=2").json()
    assert pages[-1]["next_cursor"] is None

    # the default --limit of 50 is one page here; a bad page size is a usage error
    assert len(rows(ctl.ok("webhooks:list"))) == 7
    assert ctl.run("webhooks:list", "--page-size", "251").returncode == 2
    assert ctl.run("webhooks:list", "--limit", "0").returncode == 2


# --- seed 002's credentials as a receiver sees them --------------------------------------


def test_seed_credentials_reach_the_receiver(hookline, ctl, make_receiver):
    hookline.ensure_event_types(["agent.started"])
    cases = {
        "basic": '{"username":"user","password":"pass"}',
        "bearer": '{"token":"your-token"}',
        "api-key": '{"api_key":"key","header_name":"X-API-Key"}',
        "hmac": '{"secret":"shared-secret-0123456789"}',
    }
    rcvs = {}
    for auth_type, creds in cases.items():
        rcvs[auth_type] = make_receiver()
        ctl.ok("webhooks:create", "--name", auth_type, "--url", rcvs[auth_type].url,
               "--events", "agent.started", "--auth-type", auth_type,
               "--auth-credentials", creds)
    hookline.settle()
    ctl.ok("webhooks:trigger", "--event", "agent.started", "--data", '{"agent_id":"agent_123"}')
    got = {t: r.wait_for(1, timeout=15)[0] for t, r in rcvs.items()}
    assert got["basic"].headers["Authorization"] == "Basic dXNlcjpwYXNz"  # user:pass
    assert got["bearer"].headers["Authorization"] == "Bearer your-token"
    assert got["api-key"].headers["X-API-Key"] == "key"
    # seed 002's HMAC: X-Webhook-Signature: sha256=<hex HMAC-SHA256(shared secret, body)>,
    # alongside its X-Webhook-Event/-Id/-Timestamp headers
    h = got["hmac"]
    want = hmac.new(b"shared-secret-0123456789", h.body, hashlib.sha256).hexdigest()
    assert h.headers["X-Webhook-Signature"] == f"sha256={want}", h.headers
    assert h.headers["X-Webhook-Event"] == "agent.started" and h.headers["X-Webhook-Id"]
    assert h.headers["X-Webhook-Timestamp"]


# --- shell completion ------------------------------------------------------------------


def test_bash_completion_from_the_command_table():
    script = REPO / "cli" / "completion" / "hooklinectl.bash"

    def complete(line: str) -> list[str]:
        p = subprocess.run(["bash", "-c", f'source "{script}"; COMP_LINE="$1"; '
                            'COMP_POINT=${#COMP_LINE}; _hooklinectl; printf "%s\\n" "${COMPREPLY[@]}"',
                            "_", line], capture_output=True, text=True, timeout=10)
        assert p.returncode == 0, p.stderr
        return [w for w in p.stdout.splitlines() if w]

    assert "webhooks:list" in complete("hooklinectl ") and "tenants:create" in complete("hooklinectl t")
    assert complete("hooklinectl webhooks:re") == ["retry", "resume", "replay"]  # after bash's ':' break
    assert complete("hooklinectl webhooks:list --status ") == ["active", "inactive", "paused", "disabled"]
    assert "--auth-credentials" in complete("hooklinectl webhooks:create --auth-c")
    assert complete("hooklinectl --format ") == ["table", "json"]
    assert complete("hooklinectl completion ") == ["bash", "zsh"]


# zsh's completion builtins stubbed: compadd and _describe print what they are offered.
ZSH_HARNESS = r"""
compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }
_describe() { print -rl -- "${(@P)4}"; }
words=(${=1}); [[ $1 == *" " ]] && words+=(""); CURRENT=${#words}; PREFIX=${words[CURRENT]}
source "$2"
"""


def test_zsh_completion_from_the_command_table(tmp_path):
    if not shutil.which("zsh"):
        pytest.skip("zsh is not installed (scripts/install-deps installs it)")
    script = REPO / "cli" / "completion" / "_hooklinectl"
    harness = tmp_path / "harness.zsh"
    harness.write_text(ZSH_HARNESS)

    def complete(line: str) -> list[str]:
        p = subprocess.run(["zsh", "-f", str(harness), line, str(script)], capture_output=True,
                           text=True, timeout=10)
        assert p.returncode == 0, p.stderr
        return p.stdout.splitlines()

    assert "webhooks\\:list:List webhooks" in complete("hooklinectl ")
    assert complete("hooklinectl webhooks:list --status ") == ["active", "inactive", "paused", "disabled"]
    assert complete("hooklinectl --format ") == ["table", "json"]
    assert complete("hooklinectl completion ") == ["bash", "zsh"]
    assert complete("hooklinectl webhooks:retry --")[:2] == ["--webhook", "--delivery"]
    assert complete("hooklinectl --url http://x webhooks:create --method ") == ["POST", "PUT", "PATCH"]


# --- seed 002's README script ------------------------------------------------------------


@pytest.mark.dispatchers(0)
def test_seed002_readme_script_runs_with_only_the_program_name_changed(hookline, ctl, tmp_path,
                                                                        infra):
    # The script subscribes https://example.com/webhook: its dispatcher runs in a network
    # namespace with only loopback (Kafka and PostgreSQL bridged in), so the test delivery
    # fails there without a packet leaving the machine.
    if os.geteuid() != 0 or not shutil.which("socat") or not shutil.which("ip"):
        pytest.skip("needs root, ip(8) and socat (scripts/install-deps)")
    from test_ssrf import Netns, _port_of

    pg_port = urllib.parse.urlsplit(infra.pg_admin_dsn).port
    ns = Netns([_port_of(infra.brokers.split(",")[0]), pg_port],
               hosts="127.0.0.1 localhost\n::1 localhost\n")
    try:
        ns.up()
        hookline.start_dispatcher(prefix=ns.exec_prefix(), HOOKLINE_SSRF_ALLOWLIST="")
        # Seed 002's system has its events built in; here they are in the catalog.
        hookline.ensure_event_types(["agent.started", "agent.failed"])

        seed = (Path(__file__).parent / "data" / "seed002_readme.sh").read_text()
        script = tmp_path / "seed002.sh"
        script.write_text(seed.replace("prompt ", "hooklinectl "))
        assert seed.count("prompt ") == script.read_text().count("hooklinectl ") > 0
        bindir = tmp_path / "bin"
        bindir.mkdir()
        (bindir / "hooklinectl").symlink_to(CTL)
        env = ctl.env(PATH=f"{bindir}:{os.environ['PATH']}")
        p = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True,
                           timeout=180, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, f"{p.stdout}\n{p.stderr}"
    finally:
        ns.down()

    created = [line.split()[1] for line in p.stdout.splitlines() if line.startswith("created ")]
    assert len(created) == 2 and all(created), p.stdout
    first, second = created
    assert "status             paused" in p.stdout or "New Name" in p.stdout, p.stdout
    assert f"deleted webhook {first}" in p.stdout
    assert hookline.api("GET", f"/api/v1/webhooks/{first}").status_code == 404
    wh = hookline.api("GET", f"/api/v1/webhooks/{second}").json()
    assert wh["status"] == "active" and wh["auth"] == {"type": "bearer"}, wh  # paused, resumed
    assert wh["headers"] == {"X-Custom": "value"} and wh["events"] == ["agent.started", "agent.failed"]
    # the test delivery was attempted (and failed: no network), then retried by the script
    d = hookline.api("GET", f"/api/v1/webhooks/{second}/deliveries").json()["data"]
    assert len(d) == 1 and d[0]["event_type"] == "system.webhook.test", d
    assert d[0]["last_error_class"] in ("dns", "connect_failed", "network"), d
    # webhooks:test printed that outcome: the delivery and its first attempt
    assert f"last_error_class  {d[0]['last_error_class']}" in p.stdout, p.stdout
    assert "ATTEMPT" in p.stdout and "system.webhook.test" in p.stdout
    assert '"status":"accepted"' in p.stdout.replace(" ", "") or "accepted" in p.stdout
