"""Issue 16 without delivery formats: explicit retry schedules, seed 003's `active` flag,
payload filters, the built-in event-type catalogs with their import, the tenant option for
event types outside the catalog, and seed 003's curl examples run unchanged.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from test_cli import ctl  # noqa: F401  (the hooklinectl fixture)
from waiting import wait_for

DATA = Path(__file__).parent / "data"


def problem(r, status: int, pointer: str) -> dict:
    """Asserts r is an RFC 9457 problem of that status naming pointer; returns it."""
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    p = r.json()
    pointers = [e.get("pointer") for e in p.get("errors", [])]
    assert pointer in pointers, p
    return p


# --- retry schedules ------------------------------------------------------------------


@pytest.mark.service_env(HOOKLINE_RETRY_TIERS_MS="2500,60000", HOOKLINE_RETRY_JITTER_PCT="20")
def test_explicit_schedule_retries_arrive_on_time_and_bad_schedules_are_refused(
        hookline, make_receiver):
    # 3 failures, then success: the retries wait 1 s, 3 s (a 2.5 s tier hop, then 0.5 s in
    # memory) and 2 s, whatever the jitter setting says (schedules are not jittered).
    answers = iter([500, 500, 500])
    rcv = make_receiver(responder=lambda req: next(answers, 200))
    schedule = [1000, 3000, 2000]
    wh = hookline.create_webhook(rcv.url, ["order.created"],
                                 retry_policy={"schedule_ms": schedule})
    assert wh["retry_policy"]["schedule_ms"] == schedule
    hookline.post_event("order.created", {"n": 1})
    reqs = rcv.wait_for(4, timeout=30)
    gaps = [b.arrived - a.arrived for a, b in zip(reqs, reqs[1:])]
    for gap, want in zip(gaps, schedule):
        # never early; late by at most 10 % (plus a margin for a loaded machine)
        assert want / 1000 * 0.99 <= gap <= want / 1000 * 1.1 + 0.4, (gaps, schedule)
    assert len({r.headers["webhook-id"] for r in reqs}) == 1
    def logged():
        d = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}/deliveries").json()["data"]
        return d if d and d[0]["status"] == "succeeded" else None
    d = wait_for(logged, timeout=15, what="the delivery logged as succeeded")
    assert len(d) == 1 and d[0]["attempts"] == 4, d

    # Bad schedules: problem+json naming the field, and the webhook unchanged.
    before = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json()
    bad = [
        ({"schedule_ms": []}, "/retry_policy/schedule_ms"),
        ({"schedule_ms": [1000] * 21}, "/retry_policy/schedule_ms"),
        ({"schedule_ms": [50]}, "/retry_policy/schedule_ms/0"),
        ({"schedule_ms": [1000, 86400001]}, "/retry_policy/schedule_ms/1"),
        ({"schedule_ms": [1000, "5m"]}, "/retry_policy/schedule_ms/1"),
        ({"schedule_ms": [1000], "max_attempts": 3}, "/retry_policy/max_attempts"),
    ]
    for policy, pointer in bad:
        problem(hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}",
                             json={"retry_policy": policy}), 400, pointer)
        problem(hookline.api("POST", "/api/v1/webhooks",
                             json={"url": rcv.url, "events": ["order.created"],
                                   "retry_policy": policy}), 400, pointer)
    assert hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json() == before
    assert len(hookline.api("GET", "/api/v1/webhooks").json()["data"]) == 1

    # Setting a strategy again drops the schedule, so that what was set is what applies.
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}",
                     json={"retry_policy": {"strategy": "fixed", "initial_delay_ms": 500}})
    assert r.status_code == 200, r.text
    assert "schedule_ms" not in r.json()["retry_policy"], r.json()
    assert r.json()["retry_policy"]["strategy"] == "fixed"


# --- active ---------------------------------------------------------------------------


@pytest.mark.dispatchers(0)
def test_active_is_an_alias_of_status_on_create_patch_and_put(hookline, ctl):
    hookline.ensure_event_types(["user.created"])
    base = {"url": "http://127.0.0.1:9999/hook", "events": ["user.created"]}
    r = hookline.api("POST", "/api/v1/webhooks", json={**base, "active": True})
    assert r.status_code == 201, r.text
    wh = r.json()
    assert (wh["status"], wh["active"]) == ("active", True)
    path = f"/api/v1/webhooks/{wh['id']}"

    r = hookline.api("PATCH", path, json={"active": False})
    assert (r.json()["status"], r.json()["active"]) == ("paused", False), r.text
    r = hookline.api("PUT", path, json={**base, "active": True, "status": "active"})
    assert (r.json()["status"], r.json()["active"]) == ("active", True), r.text
    r = hookline.api("POST", "/api/v1/webhooks", json={**base, "active": False})
    assert (r.status_code, r.json()["status"], r.json()["active"]) == (201, "paused", False)
    # every representation carries it: the list and GET
    listed = {w["id"]: w for w in hookline.api("GET", "/api/v1/webhooks").json()["data"]}
    assert listed[wh["id"]]["active"] is True and listed[r.json()["id"]]["active"] is False
    assert hookline.api("GET", path).json()["active"] is True

    # contradictions and wrong types are refused and change nothing
    before = hookline.api("GET", path).json()
    problem(hookline.api("PATCH", path, json={"active": True, "status": "paused"}), 400, "/active")
    problem(hookline.api("PATCH", path, json={"active": False, "status": "disabled"}), 400,
            "/active")
    problem(hookline.api("PUT", path, json={**base, "active": False, "status": "active"}), 400,
            "/active")
    problem(hookline.api("PATCH", path, json={"active": "yes"}), 400, "/active")
    problem(hookline.api("POST", "/api/v1/webhooks", json={**base, "active": 1}), 400, "/active")
    assert hookline.api("GET", path).json() == before
    assert len(hookline.api("GET", "/api/v1/webhooks").json()["data"]) == 2

    # hooklinectl: the catalogs, their import, and the new webhook fields
    p = ctl.run("event-types:catalogs")
    assert p.returncode == 0 and "epic81" in p.stdout and "xavyo" in p.stdout, p.stderr
    p = ctl.run("event-types:import", "--catalog", "xavyo", "--format", "json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)  # user.created was made above
    assert (len(report["created"]), report["existing"]) == (10, ["user.created"]), report
    p = ctl.run("webhooks:create", "--url", "http://127.0.0.1:9999/x", "--events", "role.assigned",
                "--retry-schedule", "[60000,300000]", "--filter",
                '{"path":"/data/role","op":"eq","value":"admin"}', "--format", "json")
    assert p.returncode == 0, p.stderr
    made = json.loads(p.stdout)
    assert made["retry_policy"]["schedule_ms"] == [60000, 300000], made
    assert made["filter"] == {"path": "/data/role", "op": "eq", "value": "admin"}, made


# --- payload filters and unlisted event types -----------------------------------------


def test_filter_decides_which_webhooks_get_an_event_and_unlisted_types_need_the_option(
        hookline, make_receiver):
    filtered, plain = make_receiver(), make_receiver()
    flt = {"all": [{"path": "/data/amount", "op": "gte", "value": 100},
                   {"any": [{"path": "/data/currency", "op": "in", "value": ["EUR", "USD"]},
                            {"path": "/data/vip", "op": "eq", "value": True}]},
                   {"path": "/data/region", "op": "prefix", "value": "eu-"}]}
    wf = hookline.create_webhook(filtered.url, ["order.created"], filter=flt)
    assert wf["filter"] == flt
    wp = hookline.create_webhook(plain.url, ["order.created"])
    assert wp["filter"] is None

    events = [
        {"amount": 50, "currency": "EUR", "region": "eu-west"},    # too small
        {"amount": 150, "currency": "GBP", "region": "eu-west"},   # currency, not vip
        {"amount": 150, "currency": "GBP", "vip": True, "region": "eu-west", "n": "vip"},
        {"amount": 150.5, "currency": "USD", "region": "us-east"}, # region
        {"amount": 100, "currency": "EUR", "region": "eu-north", "n": "eur"},
    ]
    for data in events:
        hookline.post_event("order.created", data)
    plain.wait_for(len(events), timeout=20)  # every event's fan-out is done by now
    got = [r.json()["data"]["n"] for r in filtered.wait_for(2, timeout=10)]
    assert sorted(got) == ["eur", "vip"], got
    # no delivery, not even a skipped one, for the events the filter did not match
    d = wait_for(lambda: (lambda d: d if len(d) >= 2 else None)(
        hookline.api("GET", f"/api/v1/webhooks/{wf['id']}/deliveries").json()["data"]),
        timeout=15, what="two deliveries logged")
    assert len(d) == 2, d

    # Bad filters name the path inside the filter and change nothing.
    path = f"/api/v1/webhooks/{wf['id']}"
    before = hookline.api("GET", path).json()
    bad = [
        ({"all": [{"path": "/data/a", "op": "eq", "value": 1},
                  {"any": [{"path": "/data/b", "op": "like", "value": 1}]}]},
         "/filter/all/1/any/0/op"),
        ({"path": "data/amount", "op": "gt", "value": 1}, "/filter/path"),
        ({"path": "/data/amount", "op": "gt", "value": "100"}, "/filter/value"),
        ({"path": "/data/c", "op": "in", "value": []}, "/filter/value"),
        ({"any": []}, "/filter/any"),
        ({"all": [{"path": "/a", "op": "exists"}], "any": [{"path": "/a", "op": "exists"}]},
         "/filter"),
    ]
    for spec, pointer in bad:
        problem(hookline.api("PATCH", path, json={"filter": spec}), 400, pointer)
    problem(hookline.api("PATCH", path, json={"filter": [1]}), 400, "/filter")
    assert hookline.api("GET", path).json() == before

    # filter: null removes it; the next event reaches the webhook again
    r = hookline.api("PATCH", path, json={"filter": None})
    assert r.status_code == 200 and r.json()["filter"] is None, r.text
    hookline.post_event("order.created", {"amount": 1, "n": "unfiltered"})
    assert filtered.wait_until(lambda rs: any(x.json()["data"].get("n") == "unfiltered"
                                              for x in rs), timeout=20)

    # An event type outside the catalog: refused in subscriptions until the tenant allows
    # it; events of it are accepted either way, and delivered once subscribed.
    body = {"url": plain.url, "events": ["made.up"]}
    problem(hookline.api("POST", "/api/v1/webhooks", json=body), 422, "/events/0")
    t = hookline.api("GET", f"/api/v1/tenants/{hookline.tenant}").json()
    assert t["allow_unlisted_event_types"] is False
    r = hookline.api("PATCH", f"/api/v1/tenants/{hookline.tenant}",
                     json={"allow_unlisted_event_types": True},
                     headers=hookline.admin_headers())
    assert r.status_code == 200 and r.json()["allow_unlisted_event_types"] is True, r.text
    r = hookline.api("POST", "/api/v1/webhooks", json=body)
    assert r.status_code == 201, r.text
    hookline.post_event("made.up", {"n": "unlisted"})
    assert plain.wait_until(lambda rs: any(x.json()["event"] == "made.up" for x in rs), timeout=20)


# --- catalogs and seed 003 ------------------------------------------------------------


def run_seed003(hookline, tmp_path: Path, token: str, webhook_id: str = "") -> list:
    """Runs seed 003's curl examples with only the server address changed; returns the
    JSON answers the commands printed, in order."""
    seed = (DATA / "seed003_curl.sh").read_text()
    assert seed.count("http://localhost:8084") == 5
    script = tmp_path / "seed003.sh"
    script.write_text(seed.replace("http://localhost:8084", hookline.base_url)
                      .replace("{webhook_id}", webhook_id))
    p = subprocess.run(["bash", str(script)], env={"TOKEN": token, "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


@pytest.mark.dispatchers(0)  # nothing is delivered: the examples subscribe public URLs
def test_catalogs_import_once_and_seed003_curl_examples_run_unchanged(hookline, tmp_path):
    cats = hookline.api("GET", "/api/v1/event-type-catalogs").json()["data"]
    sizes = {c["name"]: len(c["event_types"]) for c in cats}
    assert sizes == {"stacksos": 8, "systemprompt": 15, "epic81": 30, "xavyo": 11}
    epic = hookline.api("GET", "/api/v1/event-type-catalogs/epic81").json()
    assert len({e["category"] for e in epic["event_types"]}) == 6
    assert hookline.api("GET", "/api/v1/event-type-catalogs/nope").status_code == 404

    # Before the import, seed 003's create example is refused (its types are unknown).
    answers = run_seed003(hookline, tmp_path, hookline.tenant_key)
    assert answers[0]["status"] == 422, answers[0]

    r = hookline.api("POST", "/api/v1/event-types/import", json={"catalog": "epic81"})
    assert r.status_code == 200, r.text
    assert (len(r.json()["created"]), r.json()["existing"]) == (30, []), r.json()
    again = hookline.api("POST", "/api/v1/event-types/import", json={"catalog": "epic81"}).json()
    assert (again["created"], len(again["existing"])) == ([], 30), again
    # system.* types stay built in: importing names one reports it, never copies it
    st = hookline.api("POST", "/api/v1/event-types/import", json={"catalog": "stacksos"}).json()
    assert st["builtin"] == ["system.webhook.test"] and len(st["created"]) == 7, st
    names = [t["name"] for t in hookline.api("GET", "/api/v1/event-types").json()["data"]]
    assert names.count("system.webhook.test") == 1 and "device.alert" in names
    problem(hookline.api("POST", "/api/v1/event-types/import", json={"catalog": "nope"}), 400,
            "/catalog")
    problem(hookline.api("POST", "/api/v1/event-types/import", json={}), 400, "")

    # Now the examples run as printed: create (with "active": true), list, test,
    # deliveries, and the webhook.site create without a Content-Type.
    answers = run_seed003(hookline, tmp_path, hookline.tenant_key)
    created = answers[0]
    assert created["status"] == "active" and created["active"] is True, created
    assert created["events"] == ["user.created", "subscription.created"]
    answers = run_seed003(hookline, tmp_path, hookline.tenant_key, created["id"])
    listed, tested, history, testing = answers[1:]
    assert created["id"] in [w["id"] for w in listed["data"]]
    assert tested["status"] == "pending" and tested["id"].startswith("msg_"), tested
    assert history["data"] == [], history  # no dispatcher here: nothing attempted yet
    assert testing["events"] == ["*"] and testing["description"] == "Test webhook", testing

    # The same quick start in a tenant that imported nothing but allows unlisted types.
    hookline.create_tenant("seed003-unlisted")
    r = hookline.api("PATCH", "/api/v1/tenants/seed003-unlisted",
                     json={"allow_unlisted_event_types": True}, headers=hookline.admin_headers())
    assert r.status_code == 200, r.text
    key = hookline.make_key("tenant_admin", tenant="seed003-unlisted")
    first = run_seed003(hookline, tmp_path, key)[0]
    assert first["active"] is True and first["events"] == ["user.created",
                                                           "subscription.created"], first
