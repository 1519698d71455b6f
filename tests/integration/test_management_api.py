"""Management API: tenancy and roles, the full webhook model, the event-type catalog.

Every request here goes through the real gateway to the real PostgreSQL; the dispatchers
are not needed (dispatchers(0)) except where a test says so.
"""

from __future__ import annotations

import pytest

WEBHOOK_ID_PROBE = "01a20000-0000-7000-8000-000000000000"


def problem(r, status: int) -> dict:
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = r.json()
    for k in ("type", "title", "status", "detail"):
        assert k in body, body
    assert body["status"] == status
    return body


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.dispatchers(0)
def test_missing_or_bad_key_is_401(hookline):
    for headers in ({"Authorization": ""}, bearer("hl_not_a_real_key"), {"Authorization": "Basic x"}):
        problem(hookline.api("GET", "/api/v1/webhooks", headers=headers), 401)
    problem(hookline.api("POST", "/api/v1/events", json={"event": "a.b", "data": 1},
                         headers={"Authorization": ""}), 401)
    assert hookline.api("GET", "/healthz", headers={"Authorization": ""}).status_code == 200


@pytest.mark.dispatchers(0)
def test_role_by_route_matrix(hookline, receiver):
    hookline.ensure_event_types(["order.created"])
    wh = hookline.create_webhook(receiver.url, ["order.created"])
    keys = {role: hookline.make_key(role) for role in ("tenant_admin", "publisher", "viewer")}
    keys["admin"] = hookline.admin_key

    routes = [
        # (method, path, body, roles allowed)
        ("GET", "/api/v1/webhooks", None, {"admin", "tenant_admin", "viewer"}),
        ("GET", f"/api/v1/webhooks/{wh['id']}", None, {"admin", "tenant_admin", "viewer"}),
        ("POST", "/api/v1/webhooks", {"url": receiver.url, "events": ["*"]}, {"admin", "tenant_admin"}),
        ("PATCH", f"/api/v1/webhooks/{wh['id']}", {"name": "renamed"}, {"admin", "tenant_admin"}),
        ("POST", f"/api/v1/webhooks/{wh['id']}/pause", None, {"admin", "tenant_admin"}),
        ("POST", "/api/v1/events", {"event": "order.created", "data": {}},
         {"admin", "tenant_admin", "publisher"}),
        ("GET", "/api/v1/event-types", None, {"admin", "tenant_admin", "viewer"}),
        ("GET", "/api/v1/webhooks/events/available", None, {"admin", "tenant_admin", "viewer"}),
        ("POST", "/api/v1/event-types", {"name": "matrix.created"}, {"admin", "tenant_admin"}),
        ("GET", "/api/v1/api-keys", None, {"admin", "tenant_admin"}),
        ("GET", "/api/v1/deliveries", None, {"admin", "tenant_admin", "viewer"}),
        ("GET", f"/api/v1/webhooks/{wh['id']}/deliveries", None, {"admin", "tenant_admin", "viewer"}),
        ("GET", f"/api/v1/webhooks/{wh['id']}/stats", None, {"admin", "tenant_admin", "viewer"}),
        ("POST", f"/api/v1/webhooks/{wh['id']}/replay", {"since": "2026-01-01T00:00:00Z"},
         {"admin", "tenant_admin"}),
        ("POST", f"/api/v1/webhooks/{wh['id']}/test", None, {"admin", "tenant_admin"}),
        ("GET", "/api/v1/extensions", None, {"admin", "tenant_admin", "viewer"}),
        ("GET", "/api/admin/developer/webhooks", None, {"admin", "tenant_admin"}),
        ("GET", "/api/v1/tenants", None, {"admin"}),
        ("POST", "/api/v1/tenants", {"name": "x"}, {"admin"}),
    ]
    failures = []
    for method, path, body, allowed in routes:
        for role, key in keys.items():
            headers = bearer(key)
            if role == "admin":
                headers["X-Hookline-Tenant"] = hookline.tenant
            r = hookline.api(method, path, json=body, headers=headers)
            ok = r.status_code < 400
            if role in allowed and not ok:
                failures.append(f"{role} {method} {path}: expected success, got {r.status_code} {r.text}")
            if role not in allowed and r.status_code != 403:
                failures.append(f"{role} {method} {path}: expected 403, got {r.status_code}")
            if method == "POST" and path == "/api/v1/event-types" and ok:
                hookline.api("DELETE", "/api/v1/event-types/matrix.created")
    assert not failures, "\n".join(failures)


@pytest.mark.dispatchers(0)
def test_tenant_isolation_is_404_on_every_resource(hookline, receiver):
    other = hookline.tenant + "-b"
    hookline.create_tenant(other)
    key_b = hookline.make_key("tenant_admin", tenant=other)
    hookline.ensure_event_types(["order.created"])
    mine = hookline.create_webhook(receiver.url, ["order.created"])
    my_key_id = hookline.api("GET", "/api/v1/api-keys").json()["data"][0]["id"]
    ext_id = hookline.api("POST", "/api/v1/extensions",
                          json={"extension_key": "mine", "display_name": "m", "version": "1"}).json()["id"]

    b = bearer(key_b)
    wid = mine["id"]
    probes = [
        ("GET", f"/api/v1/webhooks/{wid}", None),
        ("PATCH", f"/api/v1/webhooks/{wid}", {"name": "stolen"}),
        ("PUT", f"/api/v1/webhooks/{wid}", {"url": receiver.url, "events": ["*"]}),
        ("DELETE", f"/api/v1/webhooks/{wid}", None),
        ("POST", f"/api/v1/webhooks/{wid}/pause", None),
        ("POST", f"/api/v1/webhooks/{wid}/resume", None),
        ("POST", f"/api/v1/webhooks/{wid}/rotate-secret", None),
        ("GET", "/api/v1/event-types/order.created", None),
        ("PATCH", "/api/v1/event-types/order.created", {"description": "x"}),
        ("DELETE", "/api/v1/event-types/order.created", None),
        ("GET", f"/api/v1/api-keys/{my_key_id}", None),
        ("DELETE", f"/api/v1/api-keys/{my_key_id}", None),
        ("GET", f"/api/v1/tenants/{hookline.tenant}", None),
        ("GET", f"/api/v1/webhooks/{wid}/deliveries", None),
        ("GET", f"/api/v1/webhooks/{wid}/stats", None),
        ("POST", f"/api/v1/webhooks/{wid}/replay", {"since": "2026-01-01T00:00:00Z"}),
        ("POST", f"/api/v1/webhooks/{wid}/test", None),
        ("GET", f"/api/v1/extensions/{ext_id}", None),
        ("PATCH", f"/api/v1/extensions/{ext_id}", {"version": "9"}),
        ("DELETE", f"/api/v1/extensions/{ext_id}", None),
        ("PUT", "/api/admin/developer/webhooks", {"id": wid, "active": False}),
        ("DELETE", f"/api/admin/developer/webhooks?id={wid}", None),
    ]
    for method, path, body in probes:
        problem(hookline.api(method, path, json=body, headers=b), 404)
    # A probe for an id that exists nowhere looks exactly the same.
    problem(hookline.api("GET", f"/api/v1/webhooks/{WEBHOOK_ID_PROBE}", headers=b), 404)
    # Lists never show the other tenant's rows.
    for path in ("/api/v1/webhooks", "/api/v1/extensions", "/api/v1/deliveries"):
        assert hookline.api("GET", path, headers=b).json()["data"] == [], path
    assert hookline.api("GET", "/api/admin/developer/webhooks", headers=b).json()["subscriptions"] == []
    assert all(k["tenant_id"] == other
               for k in hookline.api("GET", "/api/v1/api-keys", headers=b).json()["data"])
    # And nothing was changed by the probes.
    after = hookline.api("GET", f"/api/v1/webhooks/{wid}").json()
    assert after["name"] == mine["name"] and after["status"] == "active"
    assert hookline.api("GET", f"/api/v1/extensions/{ext_id}").json()["version"] == "1"
    assert hookline.api("GET", "/api/v1/webhooks").status_code == 200, "my key still works"


@pytest.mark.dispatchers(0)
def test_api_key_shown_once_hashed_and_revocation_is_immediate(hookline):
    r = hookline.api("POST", "/api/v1/api-keys", json={"role": "viewer", "name": "ro"})
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith("hl_") and created["key_prefix"] == key[:11]
    listed = hookline.api("GET", f"/api/v1/api-keys/{created['id']}").json()
    assert "key" not in listed and listed["role"] == "viewer"
    stored = hookline.sql("SELECT encode(key_hash, 'hex') FROM api_keys WHERE id = %s",
                          created["id"])[0][0]
    assert key not in stored and len(stored) == 64, "only a SHA-256 is stored"

    assert hookline.api("GET", "/api/v1/webhooks", headers=bearer(key)).status_code == 200
    assert hookline.api("DELETE", f"/api/v1/api-keys/{created['id']}").status_code == 204
    # No waiting: the very next request with the revoked key is refused.
    problem(hookline.api("GET", "/api/v1/webhooks", headers=bearer(key)), 401)


@pytest.mark.dispatchers(0)
def test_tenant_admin_cannot_mint_admin_or_foreign_keys(hookline):
    problem(hookline.api("POST", "/api/v1/api-keys", json={"role": "admin"}), 403)
    problem(hookline.api("POST", "/api/v1/api-keys",
                         json={"role": "viewer", "tenant_id": "someone-else"}), 400)
    body = problem(hookline.api("POST", "/api/v1/api-keys", json={"role": "owner"}), 400)
    assert any(e["pointer"] == "/role" for e in body["errors"]), body


@pytest.mark.dispatchers(0)
def test_webhook_full_model_round_trip(hookline, receiver):
    hookline.ensure_event_types(["invoice.paid"])
    full = {
        "url": receiver.url, "events": ["invoice.paid", "order.*"], "name": "billing",
        "description": "all billing", "method": "PUT",
        "headers": {"X-Team": "billing"},
        "auth": {"type": "basic", "username": "hook", "password": "s3cr3t-pw"},
        "signature": {"standard": True, "legacy": True, "legacy_header": "x-stacksos-signature",
                      "v1a": False},
        "retry_policy": {"strategy": "linear", "max_attempts": 3, "initial_delay_ms": 1000,
                         "max_delay_ms": 60000},
        "timeout_ms": 5000, "rate_limit_per_s": 50, "max_concurrency": 4,
        "metadata": {"owner": "team-b"},
    }
    r = hookline.api("POST", "/api/v1/webhooks", json=full)
    assert r.status_code == 201, r.text
    wh = r.json()
    assert r.headers["Location"] == f"/api/v1/webhooks/{wh['id']}"
    for k, v in full.items():
        if k == "auth":
            assert wh["auth"] == {"type": "basic", "username": "hook"}, "credentials never returned"
        else:
            assert wh[k] == v, k
    assert wh["status"] == "active" and wh["disabled_reason"] is None
    got = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json()
    assert "secret" not in got and "s3cr3t-pw" not in str(got)

    # PATCH merges nested objects and leaves the rest alone.
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}",
                     json={"retry_policy": {"max_attempts": 5}, "rate_limit_per_s": None})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["retry_policy"] == {**full["retry_policy"], "max_attempts": 5}
    assert p["rate_limit_per_s"] is None and p["max_concurrency"] == 4 and p["name"] == "billing"

    # A custom header may not shadow the stored legacy signature header.
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}",
                     json={"headers": {"X-Stacksos-Signature": "sha256=forged"}})
    assert r.status_code == 400, r.text

    # PUT replaces: everything not given goes back to its default.
    r = hookline.api("PUT", f"/api/v1/webhooks/{wh['id']}",
                     json={"url": receiver.url, "events": ["*"]})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["events"] == ["*"] and p["name"] == "" and p["method"] == "POST"
    assert p["retry_policy"]["strategy"] == "exponential" and p["max_concurrency"] is None
    assert p["auth"] == {"type": "none"} and p["headers"] == {}


@pytest.mark.dispatchers(0)
def test_webhook_validation_errors_point_at_fields_and_change_nothing(hookline, receiver):
    hookline.ensure_event_types(["order.created"])
    cases = {
        "/method": {"method": "GET"},
        "/timeout_ms": {"timeout_ms": 5},
        "/retry_policy/strategy": {"retry_policy": {"strategy": "random"}},
        "/retry_policy/max_delay_ms": {"retry_policy": {"initial_delay_ms": 5000, "max_delay_ms": 1000}},
        "/headers/Content-Length": {"headers": {"Content-Length": "1"}},
        "/headers/webhook-signature": {"headers": {"webhook-signature": "v1,forged"}},
        "/auth": {"auth": {"type": "basic", "username": "only"}},
        "/signature": {"signature": {"standard": False, "legacy": False}},
        "/secret": {"secret": "whsec_c2hvcnQ="},
        "/url": {"url": "https://user:pw@example.com/hook"},
        "": {"unknown_field": 1},
    }
    for pointer, extra in cases.items():
        body = {"url": receiver.url, "events": ["order.created"], **extra}
        p = problem(hookline.api("POST", "/api/v1/webhooks", json=body), 400)
        pointers = [e["pointer"] for e in p["errors"]]
        assert any(x == pointer or x.startswith(pointer + "/") or (pointer == "" and x == "")
                   for x in pointers), f"{extra}: {pointers}"

    # Not in the catalog and not a wildcard: 422, naming the entry.
    p = problem(hookline.api("POST", "/api/v1/webhooks",
                             json={"url": receiver.url, "events": ["order.created", "nope.never"]}), 422)
    assert [e["pointer"] for e in p["errors"]] == ["/events/1"]
    assert hookline.api("GET", "/api/v1/webhooks").json()["data"] == [], "nothing was created"


@pytest.mark.dispatchers(0)
def test_webhook_list_filters_and_cursor_pagination(hookline, receiver):
    hookline.ensure_event_types(["order.created", "invoice.paid"])
    made = [hookline.create_webhook(receiver.url, ["order.created"]) for _ in range(5)]
    made.append(hookline.create_webhook(receiver.url, ["invoice.paid"]))
    made.append(hookline.create_webhook(receiver.url, ["order.*"]))
    hookline.api("POST", f"/api/v1/webhooks/{made[0]['id']}/pause")

    seen, cursor, pages = [], None, 0
    while True:
        q = "/api/v1/webhooks?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = hookline.api("GET", q).json()
        seen += [w["id"] for w in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [w["id"] for w in made] and pages == 3

    paused = hookline.api("GET", "/api/v1/webhooks?status=paused").json()["data"]
    assert [w["id"] for w in paused] == [made[0]["id"]]
    receiving = hookline.api("GET", "/api/v1/webhooks?event=order.created").json()["data"]
    assert {w["id"] for w in receiving} == {w["id"] for w in made[:5]} | {made[6]["id"]}
    problem(hookline.api("GET", "/api/v1/webhooks?limit=0"), 400)
    problem(hookline.api("GET", "/api/v1/webhooks?cursor=garbage"), 400)
    problem(hookline.api("GET", "/api/v1/webhooks?status=sleeping"), 400)


@pytest.mark.dispatchers(0)
def test_pause_resume_and_delete(hookline, receiver):
    wh = hookline.create_webhook(receiver.url, ["*"])
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/pause")
    assert r.status_code == 200 and r.json()["status"] == "paused"
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/resume")
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert hookline.api("DELETE", f"/api/v1/webhooks/{wh['id']}").status_code == 204
    problem(hookline.api("GET", f"/api/v1/webhooks/{wh['id']}"), 404)
    problem(hookline.api("DELETE", f"/api/v1/webhooks/{wh['id']}"), 404)


@pytest.mark.dispatchers(0)
def test_rotate_secret_returns_new_secret_once(hookline, receiver):
    wh = hookline.create_webhook(receiver.url, ["*"])
    r = hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/rotate-secret",
                     json={"overlap_seconds": 3600})
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != wh["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    # Stored sealed (AES-256-GCM under the master key), never as given.
    row = hookline.sql("SELECT secret, previous_secret FROM webhooks WHERE id = %s", wh["id"])[0]
    assert all(v.startswith("hlenc:v1:t1:") for v in row), row
    assert rotated["secret"] not in str(row) and wh["secret"] not in str(row)
    assert "secret" not in hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json()
    problem(hookline.api("POST", f"/api/v1/webhooks/{wh['id']}/rotate-secret",
                         json={"secret": "nope"}), 400)


@pytest.mark.dispatchers(0)
def test_event_type_catalog(hookline):
    schema = {"type": "object", "required": ["order_id"],
              "properties": {"order_id": {"type": "integer"}}}
    r = hookline.api("POST", "/api/v1/event-types",
                     json={"name": "order.created", "description": "an order", "schema": schema})
    assert r.status_code == 201, r.text
    assert r.json()["schema"] == schema and r.json()["builtin"] is False
    problem(hookline.api("POST", "/api/v1/event-types", json={"name": "order.created"}), 409)
    # A built-in type cannot be shadowed, and unsupported schema keywords are refused.
    problem(hookline.api("POST", "/api/v1/event-types", json={"name": "system.webhook.test"}), 409)
    p = problem(hookline.api("POST", "/api/v1/event-types",
                             json={"name": "bad.schema", "schema": {"unevaluatedProperties": False}}), 422)
    assert p["errors"][0]["pointer"] == "/schema"
    problem(hookline.api("POST", "/api/v1/event-types", json={"name": "no spaces"}), 400)

    names = {t["name"] for t in hookline.api("GET", "/api/v1/webhooks/events/available").json()["data"]}
    assert {"order.created", "system.webhook.test"} <= names
    r = hookline.api("PATCH", "/api/v1/event-types/order.created", json={"deprecated": True})
    assert r.status_code == 200 and r.json()["deprecated"] is True and r.json()["schema"] == schema
    problem(hookline.api("DELETE", "/api/v1/event-types/system.webhook.test"), 404)
    assert hookline.api("DELETE", "/api/v1/event-types/order.created").status_code == 204


@pytest.mark.dispatchers(0)
def test_tenants_admin_crud(hookline):
    admin = hookline.admin_headers()
    r = hookline.api("POST", "/api/v1/tenants", json={"id": "acme-co", "name": "Acme",
                                                       "metadata": {"plan": "pro"}}, headers=admin)
    assert r.status_code == 201, r.text
    problem(hookline.api("POST", "/api/v1/tenants", json={"id": "acme-co", "name": "Again"},
                         headers=admin), 409)
    problem(hookline.api("POST", "/api/v1/tenants", json={"id": "bad id!", "name": "x"},
                         headers=admin), 400)
    r = hookline.api("PATCH", "/api/v1/tenants/acme-co", json={"name": "Acme Inc"}, headers=admin)
    assert r.status_code == 200 and r.json()["name"] == "Acme Inc"
    assert r.json()["metadata"] == {"plan": "pro"}
    ids = [t["id"] for t in hookline.api("GET", "/api/v1/tenants", headers=admin).json()["data"]]
    assert "acme-co" in ids and hookline.tenant in ids
    assert hookline.api("DELETE", "/api/v1/tenants/acme-co", headers=admin).status_code == 204
    problem(hookline.api("GET", "/api/v1/tenants/acme-co", headers=admin), 404)
    # An admin key acting on tenant resources must name an existing tenant.
    problem(hookline.api("GET", "/api/v1/webhooks", headers=admin), 400)
    problem(hookline.api("GET", "/api/v1/webhooks",
                         headers=hookline.admin_headers("no-such-tenant")), 404)


@pytest.mark.dispatchers(0)
def test_auth_header_cannot_name_a_reserved_header(hookline):
    hookline.ensure_event_types(["order.created"])
    url = "http://127.0.0.1:18080/webhook"
    reserved = ["Content-Length", "host", "WEBHOOK-SIGNATURE", "Webhook-Id", "Authorization",
                "Transfer-Encoding", "X-Webhook-Signature", "x-webhook-event", "X-Webhook-Id"]
    for name in reserved:
        for auth in ({"type": "api_key", "header": name, "value": "k-123"},
                     {"type": "hmac", "header": name, "secret": "s" * 32}):
            body = problem(hookline.api("POST", "/api/v1/webhooks", json={
                "url": url, "events": ["order.created"], "auth": auth}), 400)
            assert [e["pointer"] for e in body["errors"]] == ["/auth/header"], body
            assert name in body["errors"][0]["detail"], body
    assert hookline.api("GET", "/api/v1/webhooks").json()["data"] == [], "nothing was created"

    # the webhook's own legacy signature header, on create and (kept from before) on PATCH
    body = problem(hookline.api("POST", "/api/v1/webhooks", json={
        "url": url, "events": ["order.created"], "signature": {"legacy_header": "X-Sig"},
        "auth": {"type": "api_key", "header": "x-sig", "value": "k"}}), 400)
    assert body["errors"][0]["pointer"] == "/auth/header"
    wh = hookline.create_webhook(url, ["order.created"], signature={"legacy_header": "X-Sig"},
                                 auth={"type": "api_key", "header": "X-Api-Key", "value": "k"})
    body = problem(hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}", json={
        "auth": {"type": "hmac", "header": "X-SIG", "secret": "s" * 32}}), 400)
    assert body["errors"][0]["pointer"] == "/auth/header"
    body = problem(hookline.api("PUT", f"/api/v1/webhooks/{wh['id']}", json={
        "url": url, "events": ["order.created"],
        "auth": {"type": "api_key", "header": "content-type", "value": "k"}}), 400)
    assert body["errors"][0]["pointer"] == "/auth/header"
    got = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}").json()
    assert got["auth"] == {"type": "api_key", "header": "X-Api-Key"}, "refused writes changed nothing"
    # With the legacy signature moved away, X-Webhook-Signature may carry an HMAC of the
    # body (seed 002's receivers check exactly that header).
    moved = hookline.create_webhook(url, ["order.created"],
                                    signature={"legacy_header": "X-Hookline-Signature"},
                                    auth={"type": "hmac", "header": "X-Webhook-Signature",
                                          "secret": "s" * 32})
    assert moved["auth"]["header"] == "X-Webhook-Signature"

    # ordinary names still work, for both types
    r = hookline.api("PATCH", f"/api/v1/webhooks/{wh['id']}", json={
        "auth": {"type": "hmac", "header": "X-Body-Hmac", "secret": "s" * 32}})
    assert r.status_code == 200 and r.json()["auth"] == {"type": "hmac", "header": "X-Body-Hmac"}
