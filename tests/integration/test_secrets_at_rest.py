"""Secrets at rest and outgoing signatures: every stored secret is sealed under the master
key ring; `rotate-master-key` moves them to a new key while deliveries keep their secrets
and credentials; a dispatcher that cannot open a secret fails that webhook's deliveries with
`secret_unavailable`; `migrate` seals plain text left by older versions; v1a (ed25519)
signatures verify with the webhook's public key, both keys signing during a rotation.

Signatures are checked from first principles (hmac, hashlib, and the `cryptography`
package for ed25519), not with Hookline's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import time

import requests
import waiting
from conftest import GATEWAY
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SEALED_COLUMNS = ("secret", "previous_secret", "signing_key", "previous_signing_key",
                  "auth->>'password'", "auth->>'token'", "auth->>'value'", "auth->>'secret'",
                  "format->>'secret'")


def new_key(kid: str) -> str:
    return f"{kid}:" + base64.b64encode(os.urandom(32)).decode()


def whsec_key(secret: str) -> bytes:
    assert secret.startswith("whsec_")
    return base64.b64decode(secret[len("whsec_"):])


def signed_content(req) -> bytes:
    return f"{req.headers['webhook-id']}.{req.headers['webhook-timestamp']}.".encode() + req.body


def entries(req, version: str) -> list[str]:
    return [e.split(",", 1)[1] for e in req.headers["webhook-signature"].split(" ")
            if e.split(",", 1)[0] == version]


def v1_valid(req, secret: str) -> bool:
    want = base64.b64encode(hmac.new(whsec_key(secret), signed_content(req), hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(want, s) for s in entries(req, "v1"))


def v1a_valid(req, public_key: str) -> bool:
    assert public_key.startswith("whpk_"), public_key
    pk = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key[len("whpk_"):]))
    for s in entries(req, "v1a"):
        try:
            pk.verify(base64.b64decode(s), signed_content(req))
            return True
        except InvalidSignature:
            pass
    return False


def sealed_values(hookline) -> list[str]:
    rows = hookline.sql("SELECT " + ", ".join(SEALED_COLUMNS) + " FROM webhooks")
    return [v for row in rows for v in row if v is not None]


def restart_services(hookline, ring: str) -> None:
    """Restarts the gateway and the dispatcher with master key ring `ring`."""
    hookline.env["HOOKLINE_MASTER_KEY"] = ring
    hookline.gateway.signalled = True
    hookline.gateway.proc.send_signal(signal.SIGTERM)
    hookline.gateway.proc.wait(timeout=10)
    hookline.start_gateway()
    for i, d in enumerate(hookline.dispatchers):
        if d.proc.poll() is None:
            hookline.kill_dispatcher(i, sig=signal.SIGTERM)
    hookline.start_dispatcher()


def gateway_tool(hookline, command: str) -> tuple[int, str]:
    p = subprocess.run([str(GATEWAY), command], env=hookline.env, capture_output=True,
                       timeout=60, text=True)
    with open(hookline.tmp_path / f"gateway-{command}.log", "a") as f:
        f.write(p.stdout + p.stderr)
    return p.returncode, p.stdout


def test_master_key_rotation_reseals_everything_and_deliveries_keep_their_secrets(hookline, make_receiver):
    hookline.ensure_event_types(["order.created"])
    rcv = {k: make_receiver() for k in ("basic", "bearer", "api_key", "hmac", "v1a", "format")}
    auths = {
        "basic": {"type": "basic", "username": "hook", "password": "pw-" + os.urandom(8).hex()},
        "bearer": {"type": "bearer", "token": "tok-" + os.urandom(12).hex()},
        "api_key": {"type": "api_key", "header": "X-Api-Key", "value": "key-" + os.urandom(12).hex()},
        "hmac": {"type": "hmac", "secret": "hmac-" + os.urandom(12).hex()},
        "v1a": {"type": "none"},
        "format": {"type": "none"},
    }
    format_secret = "fmt-" + os.urandom(12).hex()  # a delivery format's shared secret
    hooks, secrets_now, old_secret = {}, {}, {}
    for name, auth in auths.items():
        extra = {"signature": {"standard": True, "legacy": True, "legacy_header": "x-stacksos-signature"}} \
            if name == "basic" else {"signature": {"v1a": True}} if name == "v1a" \
            else {"format": {"name": "xavyo", "secret": format_secret}} if name == "format" else {}
        hooks[name] = hookline.create_webhook(rcv[name].url, ["order.created"], auth=auth, **extra)
        secrets_now[name] = hooks[name]["secret"]
    # Rotations leave sealed previous secrets (and a previous v1a key) behind too.
    for name in ("basic", "v1a"):
        r = hookline.api("POST", f"/api/v1/webhooks/{hooks[name]['id']}/rotate-secret",
                         json={"overlap_seconds": 3600})
        assert r.status_code == 200, r.text
        old_secret[name], secrets_now[name] = secrets_now[name], r.json()["secret"]
        hooks[name] = r.json()
    stored = sealed_values(hookline)
    # 6 secrets, 2 previous ones, 2 v1a keys, 4 credentials, 1 format shared secret
    assert len(stored) == 15, stored
    assert all(v.startswith("hlenc:v1:t1:") for v in stored), stored
    # An incoming-webhook source's credential is sealed too, and must survive the rotation.
    source_key = "src-" + os.urandom(12).hex()
    r = hookline.api("POST", "/api/v1/sources", json={
        "name": "partner", "verification": {"type": "api_key", "header": "X-Key", "value": source_key},
        "event_type": {"from": "fixed", "value": "order.created"}})
    assert r.status_code == 201, r.text
    source = r.json()
    [(source_sealed,)] = hookline.sql("SELECT secret FROM sources")
    assert source_sealed.startswith("hlenc:v1:t1:")

    # Step 1: every service gets the ring "k2,t1" (k2 seals, both open) and keeps working.
    t1 = hookline.master_key
    k2 = new_key("k2")
    restart_services(hookline, f"{k2},{t1}")
    hookline.post_event("order.created", {"phase": "both keys"})
    for r in rcv.values():
        r.wait_for(1, timeout=15)

    # Step 2: re-seal. Idempotent: a second run finds nothing to do.
    rc, out = gateway_tool(hookline, "rotate-master-key")
    assert rc == 0, out
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["resealed"] == len(stored) + 1 and counts["sealed_plaintext"] == 0, counts
    assert counts["complete"] is True and counts["primary"] == "k2"
    rc, out = gateway_tool(hookline, "rotate-master-key")
    assert rc == 0 and json.loads(out.strip().splitlines()[-1])["resealed"] == 0, out

    rows = "\n".join(r[0] for r in hookline.sql("SELECT webhooks::text FROM webhooks"))
    assert "hlenc:v1:t1:" not in rows
    after = sealed_values(hookline)
    assert len(after) == len(stored) and all(v.startswith("hlenc:v1:k2:") for v in after)
    [(source_sealed,)] = hookline.sql("SELECT secret FROM sources")
    assert source_sealed.startswith("hlenc:v1:k2:")

    # Step 3: the old key is gone from the ring; every secret and credential still works.
    restart_services(hookline, k2)
    hookline.post_event("order.created", {"phase": "new key only"})
    got = {name: r.wait_for(2, timeout=15)[1] for name, r in rcv.items()}
    for name, req in got.items():
        assert req.json()["data"] == {"phase": "new key only"}
        assert v1_valid(req, secrets_now[name]), name
    assert v1_valid(got["basic"], old_secret["basic"]), "old secret signs during the overlap"
    user_pw = f"hook:{auths['basic']['password']}".encode()
    assert got["basic"].headers["Authorization"] == "Basic " + base64.b64encode(user_pw).decode()
    assert got["basic"].headers["x-stacksos-signature"] == "sha256=" + hmac.new(
        whsec_key(secrets_now["basic"]), got["basic"].body, hashlib.sha256).hexdigest()
    assert got["basic"].headers["X-Webhook-Event"] == "order.created"
    assert got["basic"].headers["X-Webhook-Id"] == got["basic"].headers["webhook-id"]
    assert got["basic"].headers["X-Webhook-Timestamp"] == got["basic"].headers["webhook-timestamp"]
    assert got["bearer"].headers["Authorization"] == f"Bearer {auths['bearer']['token']}"
    assert got["api_key"].headers["X-Api-Key"] == auths["api_key"]["value"]
    assert got["hmac"].headers["X-Hookline-Hmac"] == "sha256=" + hmac.new(
        auths["hmac"]["secret"].encode(), got["hmac"].body, hashlib.sha256).hexdigest()
    assert got["format"].headers["X-Webhook-Signature"] == "sha256=" + hmac.new(
        format_secret.encode(), got["format"].body, hashlib.sha256).hexdigest()
    assert v1a_valid(got["v1a"], hooks["v1a"]["public_key"])
    assert v1a_valid(got["v1a"], hooks["v1a"]["previous_public_key"])
    # The source's credential still opens under the new key only: right key 202, wrong 401.
    url = hookline.base_url + f"/api/v1/incoming/{source['id']}"
    ok = requests.post(url, json={"from": "partner"}, headers={"X-Key": source_key}, timeout=10)
    assert ok.status_code == 202, ok.text
    bad = requests.post(url, json={"from": "partner"}, headers={"X-Key": "wrong"}, timeout=10)
    assert bad.status_code == 401, bad.text


def test_dispatcher_without_the_key_fails_deliveries_with_secret_unavailable(hookline, receiver):
    wh = hookline.create_webhook(receiver.url, ["*"], retry_policy={
        "max_attempts": 2, "initial_delay_ms": 500, "max_delay_ms": 1000})
    hookline.kill_dispatcher(0, sig=signal.SIGTERM)
    hookline.start_dispatcher(HOOKLINE_MASTER_KEY=new_key("other"), HOOKLINE_RETRY_TIERS_MS="200,1000")
    hookline.post_event("order.created", {"n": 1})

    def failed():
        page = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}/deliveries").json()["data"]
        return page if page and page[0]["status"] == "failed" else None

    d = waiting.wait_for(failed, timeout=30, what="the delivery to fail")[0]
    assert d["last_error_class"] == "secret_unavailable" and d["attempts"] == 2, d
    detail = hookline.api("GET", f"/api/v1/deliveries/{d['id']}").json()
    assert [a["error_class"] for a in detail["attempts"]] == ["secret_unavailable"] * 2
    assert "master key id 't1'" in detail["attempts"][0]["error"]
    assert receiver.snapshot() == [], "nothing is sent unsigned"
    log = hookline.dispatchers[-1].log.read_text()
    lines = [json.loads(x) for x in log.splitlines() if "secret_unavailable" in x]
    assert any(wh["id"] in x["msg"] and "'t1'" in x["msg"] for x in lines), log[-2000:]
    assert wh["secret"] not in log and wh["secret"][6:] not in log


def test_migrate_seals_secrets_left_in_plain_text(hookline, receiver):
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    wh = hookline.create_webhook(receiver.url, ["*"])
    # What an older version left behind: plain text, written before the constraints existed.
    hookline.sql("ALTER TABLE webhooks DROP CONSTRAINT webhooks_secrets_sealed,"
                 " DROP CONSTRAINT webhooks_auth_sealed")
    hookline.sql("UPDATE webhooks SET secret = %s, auth = %s::jsonb WHERE id = %s", secret,
                 json.dumps({"type": "bearer", "token": "plain-token-1234"}), wh["id"])
    hookline.sql("ALTER TABLE webhooks ADD CONSTRAINT webhooks_secrets_sealed CHECK ("
                 " secret LIKE 'hlenc:v1:%') NOT VALID,"
                 " ADD CONSTRAINT webhooks_auth_sealed CHECK ("
                 " coalesce(auth->>'token', 'hlenc:v1:') LIKE 'hlenc:v1:%') NOT VALID")

    rc, out = gateway_tool(hookline, "migrate")
    assert rc == 0, out
    row = hookline.sql("SELECT secret, auth->>'token' FROM webhooks WHERE id = %s", wh["id"])[0]
    assert all(v.startswith("hlenc:v1:t1:") for v in row), row
    valid = hookline.sql("SELECT bool_and(convalidated) FROM pg_constraint"
                         " WHERE conname IN ('webhooks_secrets_sealed', 'webhooks_auth_sealed')")
    assert valid == [(True,)], "the constraints hold for the old rows too"

    hookline.settle(sql_change=True)
    hookline.post_event("order.created", {"n": 1})
    req = receiver.wait_for(1, timeout=15)[0]
    assert v1_valid(req, secret) and req.headers["Authorization"] == "Bearer plain-token-1234"


def test_v1a_signs_with_the_public_key_shown_and_both_keys_sign_during_rotation(hookline, receiver):
    hookline.ensure_event_types(["order.created"])
    wh = hookline.create_webhook(receiver.url, ["order.created"], signature={"v1a": True})
    pk = wh["public_key"]
    assert pk.startswith("whpk_") and wh["signature"]["v1a"] is True
    assert hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json()["public_key"] == pk
    stored = hookline.sql("SELECT signing_key, public_key FROM webhooks WHERE id = %s", wh["id"])[0]
    assert stored[0].startswith("hlenc:v1:") and stored[1] == pk
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})
    req = receiver.wait_for(1, timeout=15)[0]
    assert v1a_valid(req, pk) and v1_valid(req, wh["secret"])
    assert len(entries(req, "v1a")) == 1 and len(entries(req, "v1")) == 1

    overlap = 8
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/rotate-secret",
                     json={"overlap_seconds": overlap})
    assert r.status_code == 200, r.text
    rotated_at = time.monotonic()
    new = r.json()
    assert new["public_key"] != pk and new["previous_public_key"] == pk
    hookline.settle()
    hookline.post_event("order.created", {"n": 2})
    req = receiver.wait_for(2, timeout=15)[1]
    assert time.monotonic() - rotated_at < overlap, "still within the overlap"
    assert len(entries(req, "v1a")) == 2 and len(entries(req, "v1")) == 2
    assert v1a_valid(req, new["public_key"]) and v1a_valid(req, pk)
    assert v1_valid(req, new["secret"]) and v1_valid(req, wh["secret"])

    time.sleep(max(0.0, overlap + 1 - (time.monotonic() - rotated_at)))
    hookline.post_event("order.created", {"n": 3})
    req = receiver.wait_for(3, timeout=15)[2]
    assert len(entries(req, "v1a")) == 1 and len(entries(req, "v1")) == 1
    assert v1a_valid(req, new["public_key"]) and not v1a_valid(req, pk)
    assert v1_valid(req, new["secret"]) and not v1_valid(req, wh["secret"])
    assert hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json()["previous_public_key"] is None

    # v1a alone is enough to sign; turning every form off is refused and changes nothing.
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}",
                     json={"signature": {"standard": False, "legacy": False}})
    assert r.status_code == 200, r.text
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}", json={"signature": {"v1a": False}})
    assert r.status_code == 400 and r.json()["errors"][0]["pointer"] == "/signature", r.text
    hookline.settle()
    hookline.post_event("order.created", {"n": 4})
    req = receiver.wait_for(4, timeout=15)[3]
    assert entries(req, "v1") == [] and v1a_valid(req, new["public_key"])
    assert "X-Webhook-Signature" not in req.headers


def test_webhooks_recover_after_the_master_key_is_lost(hookline, receiver):
    wh = hookline.create_webhook(receiver.url, ["*"], auth={"type": "bearer", "token": "old-token-123"},
                                 signature={"v1a": True})
    restart_services(hookline, new_key("fresh"))
    # An overlap would need the old secret: refused, nothing changes.
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/rotate-secret", json={"overlap_seconds": 60})
    assert r.status_code == 503 and r.json()["type"].endswith("/secret-unavailable"), r.text
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/rotate-secret", json={"overlap_seconds": 0})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["public_key"] != wh["public_key"] and new["previous_public_key"] is None
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}",
                     json={"auth": {"type": "bearer", "token": "new-token-456"}})
    assert r.status_code == 200, r.text
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})
    req = receiver.wait_for(1, timeout=15)[0]
    assert v1_valid(req, new["secret"]) and v1a_valid(req, new["public_key"])
    assert len(entries(req, "v1")) == 1 and req.headers["Authorization"] == "Bearer new-token-456"
