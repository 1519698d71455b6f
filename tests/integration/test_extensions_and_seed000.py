"""Extension registrations (seed 000's contract) and seed 000's developer-platform route
/api/admin/developer/webhooks, which works on the same webhooks as /api/v1/webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest


@pytest.mark.dispatchers(0)
def test_extension_crud_and_contract(hookline, receiver):
    wh = hookline.create_webhook(receiver.url, ["*"])
    r = hookline.api("POST", "/api/v1/extensions",
                     json={"extension_key": "k12.sync", "display_name": "K-12 sync",
                           "version": "1.2.0", "capabilities": ["webhooks:receive", "k12"],
                           "webhook_id": wh["id"]})
    assert r.status_code == 201, r.text
    ext = r.json()
    assert ext["status"] == "active", "status defaults to active"
    assert ext["capabilities"] == ["webhooks:receive", "k12"] and ext["webhook_id"] == wh["id"]

    dup = hookline.api("POST", "/api/v1/extensions",
                       json={"extension_key": "k12.sync", "display_name": "x", "version": "1"})
    assert dup.status_code == 409, "extension_key is unique per tenant"
    bad = hookline.api("POST", "/api/v1/extensions", json={"extension_key": "x"})
    assert bad.status_code == 400 and {e["pointer"] for e in bad.json()["errors"]} >= {""}

    r = hookline.api("PATCH", f"/api/v1/extensions/{ext['id']}",
                     json={"version": "1.3.0", "status": "inactive", "webhook_id": None})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == "1.3.0" and r.json()["webhook_id"] is None

    # Linking to a webhook that is not the tenant's own is refused and changes nothing.
    other = hookline.tenant + "-x"
    hookline.create_tenant(other)
    key = hookline.make_key("tenant_admin", tenant=other)
    foreign = hookline.api("POST", "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]},
                           headers={"Authorization": f"Bearer {key}"}).json()
    r = hookline.api("PATCH", f"/api/v1/extensions/{ext['id']}", json={"webhook_id": foreign["id"]})
    assert r.status_code == 422, r.text
    assert hookline.api("GET", f"/api/v1/extensions/{ext['id']}").json()["webhook_id"] is None
    assert hookline.api("GET", f"/api/v1/extensions/{ext['id']}",
                        headers={"Authorization": f"Bearer {key}"}).status_code == 404

    page = hookline.api("GET", "/api/v1/extensions").json()
    assert [e["id"] for e in page["data"]] == [ext["id"]]
    assert hookline.api("DELETE", f"/api/v1/extensions/{ext['id']}").status_code == 204
    assert hookline.api("GET", f"/api/v1/extensions/{ext['id']}").status_code == 404


def test_seed000_developer_route_manages_the_same_webhooks(hookline, make_receiver):
    rcv = make_receiver()
    base = "/api/admin/developer/webhooks"
    r = hookline.api("POST", base, json={"action": "create", "url": rcv.url, "events": ["*"],
                                         "active": True})
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["secret"].startswith("whsec_") and sub["status"] == "active"
    assert hookline.api("GET", f"/api/v1/webhooks/{sub['id']}").status_code == 200

    view = hookline.api("GET", base).json()
    assert "system.webhook.test" in view["supportedEvents"]
    assert [s["id"] for s in view["subscriptions"]] == [sub["id"]]
    assert view["subscriptions"][0]["active"] is True

    hookline.settle()
    r = hookline.api("POST", base, json={"action": "test", "id": sub["id"]})
    assert r.status_code == 202, r.text
    assert rcv.wait_for(1, timeout=15), "the test delivery arrives"
    assert rcv.snapshot()[0].json()["event"] == "system.webhook.test"
    r = hookline.api("PUT", base, json={"id": sub["id"], "active": False,
                                        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paused" and r.json()["previous_secret_expires_at"]
    stored = hookline.sql("SELECT secret FROM webhooks WHERE id = %s", sub["id"])[0][0]
    assert stored.startswith("hlenc:v1:") and "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in stored
    # The new secret signs from now on (the old one alongside it, for the overlap).
    assert hookline.api("PUT", base, json={"id": sub["id"], "active": True}).status_code == 200
    hookline.settle()
    assert hookline.api("POST", base, json={"action": "test", "id": sub["id"]}).status_code == 202
    req = rcv.wait_for(2, timeout=15)[1]
    signed = f"{req.headers['webhook-id']}.{req.headers['webhook-timestamp']}.".encode() + req.body
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    want = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert req.headers["webhook-signature"].split(" ")[0] == want

    assert hookline.api("POST", base, json={"action": "launch"}).status_code == 400
    viewer = hookline.make_key("viewer")
    assert hookline.api("GET", base, headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
    assert hookline.api("DELETE", f"{base}?id={sub['id']}").status_code == 204
    assert hookline.api("GET", f"/api/v1/webhooks/{sub['id']}").status_code == 404
