"""Secrets never leak: a full scenario (webhooks with secrets and every auth type, v1a keys,
rotations, deliveries that succeed, retry and fail, the read APIs, the seed 000 route, and
bad requests that carry secrets), then a scan of every log line the gateway and the
dispatchers wrote, every API response (body and headers), every Kafka topic of the test
and every database row for each secret and credential and for the master key, in plain,
base64 (any alignment), base64url and hex forms.

A webhook's signing secret may appear only in the responses that hand it out: the create
and rotate-secret responses for that webhook (the API has no other "show secret" route).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import signal

import psycopg
import requests
import waiting
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FAST = {"HOOKLINE_RETRY_TIERS_MS": "200,1000", "HOOKLINE_RETRY_JITTER_PCT": "0"}


def forms(raw: bytes) -> set[str]:
    """The ways raw could show up in text: as is (if text), hex, base64 (with and without
    padding, standard and url-safe) and the middle of its base64 at each of the three
    alignments it can have inside a longer base64 string."""
    out = {raw.hex(), raw.hex().upper()}
    try:
        out.add(raw.decode())
    except UnicodeDecodeError:
        pass
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        out.add(enc(raw).decode())
        out.add(enc(raw).decode().rstrip("="))
        for shift in range(3):
            mid = enc(b"\0" * shift + raw).decode()[4:-4]
            out.add(mid)
    return {f for f in out if len(f) >= 12}


def whsec_forms(secret: str) -> set[str]:
    return {secret} | forms(base64.b64decode(secret[len("whsec_"):]))


def open_sealed(master_key: str, aad: str, sealed: str) -> bytes:
    """Opens "hlenc:v1:<id>:<base64 nonce|ciphertext|tag>" with AES-256-GCM, independently
    of Hookline's code."""
    prefix, version, kid, payload = sealed.split(":", 3)
    assert (prefix, version) == ("hlenc", "v1") and kid == master_key.split(":")[0]
    raw = base64.b64decode(payload)
    key = base64.b64decode(master_key.split(":", 1)[1])
    return AESGCM(key).decrypt(raw[:12], raw[12:], aad.encode())


def test_no_secret_reaches_logs_responses_topics_or_database_rows(hookline, make_receiver,
                                                                   kafka_consumer_factory):
    hookline.kill_dispatcher(0, sig=signal.SIGTERM)
    hookline.start_dispatcher(**FAST)
    hookline.ensure_event_types(["order.created"])
    responses: list[tuple[str, object]] = []  # (what, requests.Response)

    def call(method: str, path: str, **kw):
        r = hookline.api(method, path, **kw)
        responses.append((f"{method} {path}", r))
        return r

    # -- secrets: ours, and the ones the gateway generates ------------------------------
    given = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    creds = {
        "password": "pw-" + os.urandom(12).hex(),
        "token": "tok-" + os.urandom(16).hex(),
        "value": "key-" + os.urandom(16).hex(),
        "hmac": "hmac-" + os.urandom(16).hex(),
        "short": "s-" + os.urandom(7).hex(),  # 16 characters: parsers quote short tokens
    }
    handed_out: dict[str, set[str]] = {}  # webhook id -> secrets shown for it

    ok, flaky, dead = make_receiver(), make_receiver(), make_receiver(status=500)
    first = {"n": 0}

    def flaky_responder(req) -> int:
        first["n"] += 1
        return 500 if first["n"] == 1 else 200
    flaky.responder = flaky_responder
    retry = {"max_attempts": 2, "initial_delay_ms": 200, "max_delay_ms": 1000}
    specs = [
        (ok, {"secret": given, "auth": {"type": "basic", "username": "hook", "password": creds["password"]},
              "signature": {"v1a": True, "legacy_header": "x-stacksos-signature"}}),
        (flaky, {"auth": {"type": "bearer", "token": creds["token"]}, "retry_policy": retry}),
        (dead, {"auth": {"type": "api_key", "header": "X-Api-Key", "value": creds["value"]},
                "retry_policy": retry}),
        (ok, {"auth": {"type": "hmac", "secret": creds["hmac"]}}),
    ]
    hooks = []
    for rcv, extra in specs:
        r = call("POST", "/api/v1/webhooks", json={"url": rcv.url, "events": ["order.created"], **extra})
        assert r.status_code == 201, r.text
        hooks.append(r.json())
        handed_out[r.json()["id"]] = {r.json()["secret"]}
    assert hooks[0]["secret"] == given

    # Rotations: one to a secret we choose, one generated; the seed 000 route's rotation.
    rotated_to = "whsec_" + base64.b64encode(os.urandom(40)).decode()
    for wh, body in ((hooks[0], {"secret": rotated_to, "overlap_seconds": 3600}), (hooks[1], {})):
        r = call("POST", f"/api/v1/webhooks/{wh['id']}/rotate-secret", json=body)
        assert r.status_code == 200, r.text
        handed_out[wh["id"]].add(r.json()["secret"])
    dev_secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    dev_secret2 = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    r = call("POST", "/api/admin/developer/webhooks",
             json={"action": "create", "url": ok.url, "events": ["order.created"], "secret": dev_secret})
    assert r.status_code == 201, r.text
    dev = r.json()
    handed_out[dev["id"]] = {dev_secret}
    assert call("PUT", "/api/admin/developer/webhooks",
                json={"id": dev["id"], "secret": dev_secret2}).status_code == 200

    # Bad requests that carry secrets are refused without echoing them.
    wid = hooks[1]["id"]
    bad = [
        ("PATCH", f"/api/v1/webhooks/{wid}", {"auth": {"type": "bearer", "token": creds["token"], "x": 1}}),
        ("PATCH", f"/api/v1/webhooks/{wid}", {"secret": given}),
        ("PATCH", f"/api/v1/webhooks/{wid}", {"auth": {"type": "basic", "username": "u", "password": creds["password"]},
                                              "url": "ftp://nope"}),
        ("PUT", f"/api/v1/webhooks/{wid}", {"url": ok.url, "events": ["*"], "secret": given}),
        ("POST", "/api/v1/webhooks", {"url": "https://user:" + creds["password"] + "@example.com/",
                                      "events": ["*"], "auth": {"type": "api_key", "header": "X-K", "value": creds["value"]}}),
        ("POST", f"/api/v1/webhooks/{wid}/rotate-secret", {"secret": given + "x", "overlap_seconds": -1}),
        ("POST", "/api/admin/developer/webhooks", {"action": "create", "url": "nope", "events": ["*"], "secret": given}),
    ]
    for method, path, body in bad:
        r = call(method, path, json=body)
        assert r.status_code == 400, f"{method} {path}: {r.status_code} {r.text}"
    # Malformed JSON: the parser's complaint must not quote the text around the error.
    for text in ('{"auth": {"type": "bearer", "token": "' + creds["token"] + '"',
                 '{"auth": {"type": "bearer", "token": "' + creds["token"],
                 '{"auth": {"type": "bearer", "token": ' + creds["token"] + '}}',
                 '{"auth": {"type": "bearer", "token": "' + creds["short"],
                 '{"auth": {"type": "bearer", "token": ' + creds["short"] + '}}'):
        r = call("PATCH", f"/api/v1/webhooks/{wid}", data=text,
                 headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text

    # -- incoming-webhook sources: a credential we give, one the gateway generates ----------
    src_key = "srckey-" + os.urandom(12).hex()
    r = call("POST", "/api/v1/sources", json={
        "name": "given", "verification": {"type": "api_key", "header": "X-Key", "value": src_key},
        "event_type": {"from": "fixed", "value": "order.created"}})
    assert r.status_code == 201, r.text
    src_given = r.json()
    r = call("POST", "/api/v1/sources", json={
        "name": "generated", "verification": {"type": "github"},
        "event_type": {"from": "header", "header": "X-GitHub-Event", "default": "push"}})
    assert r.status_code == 201, r.text
    src_generated = r.json()
    src_secret = src_generated["verification"]["secret"]
    assert src_secret and src_given["verification"]["value"] == src_key
    r = call("PATCH", f"/api/v1/sources/{src_given['id']}",
             json={"verification": {"type": "api_key", "header": "X-Key", "value": src_key, "bogus": 1}})
    assert r.status_code == 400, r.text
    for src in (src_given, src_generated):
        call("GET", f"/api/v1/sources/{src['id']}")
    call("GET", "/api/v1/sources")
    # The sources' events are fanned out like any other: the webhooks made above must have
    # reached the dispatchers first (the documented 2 s bound), or those two events find
    # none of them.
    hookline.settle()
    incoming = hookline.base_url + f"/api/v1/incoming/{src_given['id']}"
    for key, status in ((src_key, 202), (src_key + "x", 401)):
        r = requests.post(incoming, json={"via": "source"}, headers={"X-Key": key}, timeout=10,
                          verify=hookline.verify)
        responses.append((f"POST incoming ({status})", r))
        assert r.status_code == status, r.text
    body = b'{"ref": "main"}'
    r = requests.post(hookline.base_url + f"/api/v1/incoming/{src_generated['id']}", data=body,
                      headers={"Content-Type": "application/json", "X-GitHub-Event": "order.created",
                               "X-Hub-Signature-256": "sha256=" + hmac.new(
                                   src_secret.encode(), body, hashlib.sha256).hexdigest()},
                      timeout=10, verify=hookline.verify)
    responses.append(("POST incoming github", r))
    assert r.status_code == 202, r.text

    # -- deliveries: successes, a retry, a failure ----------------------------------------
    for n in range(3):
        hookline.post_event("order.created", {"n": n})
    events = 3 + 2  # and the two accepted by the sources
    ok.wait_for(events * 3, timeout=30)
    dead_id = hooks[2]["id"]

    def settled():
        page = call("GET", "/api/v1/deliveries?limit=100").json()["data"]
        dead_failed = [d for d in page if d["webhook_id"] == dead_id and d["status"] == "failed"]
        flaky_ok = [d for d in page if d["webhook_id"] == wid and d["status"] == "succeeded"]
        return page if len(dead_failed) == events and len(flaky_ok) == events else None
    page = waiting.wait_for(settled, timeout=30, what="retries and failures to settle")
    for d in page[:6]:
        call("GET", f"/api/v1/deliveries/{d['id']}")
    for wh in hooks + [dev]:
        call("GET", f"/api/v1/webhooks/{wh['id']}")
        call("GET", f"/api/v1/webhooks/{wh['id']}/deliveries")
        call("GET", f"/api/v1/webhooks/{wh['id']}/stats")
    call("GET", "/api/v1/webhooks")
    call("GET", "/api/admin/developer/webhooks")
    # The deliveries carried the credentials: proof that the needles below are the real ones.
    # (hook 0's legacy header is x-stacksos-signature; the seed 000 route's webhook, in the
    # stacksos format, sends it too, with x-stacksos-event and without auth)
    basic = {q.headers.get("Authorization") for q in ok.snapshot()
             if "x-stacksos-signature" in q.headers and "x-stacksos-event" not in q.headers}
    assert basic == {"Basic " + base64.b64encode(f"hook:{creds['password']}".encode()).decode()}

    # -- the needles ------------------------------------------------------------------------
    needles: dict[str, set[str]] = {}
    for wh_id, shown in handed_out.items():
        for s in shown:
            needles[f"secret of {wh_id}"] = needles.get(f"secret of {wh_id}", set()) | whsec_forms(s)
    needles["dev secret 2"] = whsec_forms(dev_secret2)
    needles["source key"] = forms(src_key.encode())
    needles["source secret"] = forms(src_secret.encode())
    for name, c in creds.items():
        needles[f"credential {name}"] = forms(c.encode())
    needles["basic header"] = forms(f"hook:{creds['password']}".encode())
    mk = hookline.master_key
    needles["master key"] = {mk, mk.split(":", 1)[1]} | forms(base64.b64decode(mk.split(":", 1)[1]))
    # The v1a private keys, opened from the database with the master key (the sealed form is
    # checked independently of Hookline's code on the way).
    for wh_id, sk, psk in hookline.sql("SELECT id::text, signing_key, previous_signing_key FROM webhooks"
                                       " WHERE signing_key IS NOT NULL"):
        for field, sealed in (("signing_key", sk), ("previous_signing_key", psk)):
            if sealed:
                whsk = open_sealed(mk, f"webhook.{field}:{wh_id}", sealed).decode()
                assert whsk.startswith("whsk_")
                needles[f"{field} of {wh_id}"] = {whsk} | forms(base64.b64decode(whsk[5:]))
    for wh_id, sealed in hookline.sql("SELECT id::text, secret FROM webhooks"):
        plain = open_sealed(mk, f"webhook.secret:{wh_id}", sealed).decode()
        assert plain.startswith("whsec_") and plain in {s for v in handed_out.values() for s in v} | {dev_secret2}

    def leaks(text: str, allowed: set[str] = frozenset()) -> list[str]:
        return sorted({name for name, fs in needles.items()
                       for f in fs if f in text and f not in allowed})

    # -- responses --------------------------------------------------------------------------
    problems = []
    for what, r in responses:
        body = r.text
        allowed: set[str] = set()
        if r.status_code in (200, 201) and ("rotate-secret" in what or what == "POST /api/v1/webhooks"
                                            or (what == "POST /api/admin/developer/webhooks")):
            j = r.json()
            assert j["secret"] in handed_out[j["id"]]
            allowed = whsec_forms(j["secret"])
        if r.status_code == 201 and what == "POST /api/v1/sources":
            cred = r.json()["verification"]
            allowed = forms((cred.get("value") or cred.get("secret")).encode())
        found = leaks(body + "\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items()), allowed)
        if found:
            problems.append(f"response to {what} ({r.status_code}) holds {found}: {body[:300]}")

    # -- Kafka: every topic of this test ------------------------------------------------------
    topics = [t for t in hookline.admin().list_topics(timeout=10).topics if t.startswith(hookline.prefix + ".")]
    assert len(topics) >= 5, topics
    for t in topics:
        for m in kafka_consumer_factory(t).messages(2):
            found = leaks((m.value() or b"").decode("utf-8", "replace") + (m.key() or b"").decode("utf-8", "replace"))
            if found:
                problems.append(f"topic {t} holds {found}")

    # -- database: every row of every table ---------------------------------------------------
    with psycopg.connect(hookline.pg_dsn, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
        for t in tables:
            for (row,) in conn.execute(f'SELECT t::text FROM "{t}" t').fetchall():
                found = leaks(row)
                if found:
                    problems.append(f"table {t} holds {found}: {row[:200]}")

    # -- logs: every line of every service (stopped first, so every line is written) ----------
    hookline.stop_all()
    logs = sorted(hookline.tmp_path.glob("*.log"))
    assert any(p.name == "gateway.log" for p in logs) and any(p.name.startswith("dispatcher") for p in logs)
    nlines = 0
    for p in logs:
        for line in p.read_text(errors="replace").splitlines():
            nlines += 1
            found = leaks(line)
            if found:
                problems.append(f"{p.name} holds {found}: {line[:300]}")
    assert nlines > 50, f"only {nlines} log lines: the scan would prove little"
    print(f"scanned {len(responses)} responses, {len(topics)} topics, {len(tables)} tables, "
          f"{nlines} log lines for {sum(len(f) for f in needles.values())} needle forms")
    assert not problems, "\n".join(problems)
