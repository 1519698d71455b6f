"""Ingest keeps going while PostgreSQL is down (docs/operations.md, "PostgreSQL outage"):
API keys are checked against the last key set the gateway saw, typed events against the
catalog as last seen, client event ids against this gateway's memory; management routes
answer 503 problem+json with Retry-After, /readyz names the missing dependency; every
event accepted meanwhile is delivered, and the dedupe window carries on afterwards."""

from __future__ import annotations

import time
import urllib.parse

import psycopg
import pytest

from conftest import Hookline, Receiver
from test_delivery_durability import pg_start, pg_stop
from waiting import wait_for

# Stops the shared PostgreSQL.
pytestmark = pytest.mark.serial


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_ingest_through_a_postgres_outage(hookline: Hookline, receiver: Receiver):
    port = urllib.parse.urlsplit(hookline.infra.pg_admin_dsn).port
    r = hookline.api("POST", "/api/v1/event-types", json={
        "name": "order.placed",
        "schema": {"type": "object", "required": ["total"],
                   "properties": {"total": {"type": "number"}}}})
    assert r.status_code == 201, r.text
    hookline.create_webhook(receiver.url, ["order.*"])
    # A publisher key never used before the outage: only the key set knows it.
    publisher = hookline.make_key("publisher")
    r = hookline.api("POST", "/api/v1/api-keys", headers=hookline.admin_headers(),
                     json={"role": "publisher", "tenant_id": hookline.tenant})
    assert r.status_code == 201, r.text
    revoked = r.json()["key"]
    r = hookline.api("DELETE", f"/api/v1/api-keys/{r.json()['id']}",
                     headers=hookline.admin_headers())
    assert r.status_code == 204, r.text
    time.sleep(1.0)  # the listener hears the key changes
    # A key created after the last other key change: only the creation's own notification
    # puts it in the key set (without it the key was 401 "not valid" during an outage).
    late = hookline.make_key("publisher")
    time.sleep(1.0)  # the listener hears the creation

    accepted: list[str] = []
    try:
        pg_stop()
        r = hookline.api("POST", "/api/v1/events", headers=_auth(publisher),
                         json={"event": "order.placed", "data": {"total": 12.5}})
        assert r.status_code == 202, f"typed event during the outage: {r.status_code} {r.text}"
        accepted.append(r.json()["id"])
        r = hookline.api("POST", "/api/v1/events", headers=_auth(late),
                         json={"event": "order.shipped", "data": {"late": True}})
        assert r.status_code == 202, f"key created last, during the outage: {r.status_code} {r.text}"
        accepted.append(r.json()["id"])

        r = hookline.api("POST", "/api/v1/events", headers=_auth(publisher),
                         json={"event": "order.placed", "data": {"total": "twelve"}})
        assert r.status_code == 422, f"schema not applied during the outage: {r.text}"
        assert any(e["pointer"] == "/data/total" for e in r.json()["errors"])

        r = hookline.api("POST", "/api/v1/events", headers=_auth(revoked),
                         json={"event": "order.shipped", "data": {}})
        assert r.status_code == 401, "a key revoked before the outage must stay revoked"
        r = hookline.api("POST", "/api/v1/events", headers=_auth("hl_not_a_key"),
                         json={"event": "order.shipped", "data": {}})
        assert r.status_code == 401

        # A client event id, twice: the second is the first's answer, nothing produced.
        body = {"id": f"client-{hookline.prefix}", "event": "order.shipped", "data": {"n": 1}}
        first = hookline.api("POST", "/api/v1/events", headers=_auth(publisher), json=body)
        assert first.status_code == 202, first.text
        assert first.json()["duplicate"] is False
        accepted.append(first.json()["id"])
        again = hookline.api("POST", "/api/v1/events", headers=_auth(publisher), json=body)
        assert again.status_code == 202 and again.json()["duplicate"] is True, again.text
        assert again.json()["timestamp"] == first.json()["timestamp"]

        # A steady stream through the tenant_admin key too (the last key set).
        for i in range(30):
            accepted.append(hookline.post_event("order.shipped", {"i": i}))

        # Management: 503 problem+json with Retry-After, never a hang or a 500.
        r = hookline.api("GET", "/api/v1/webhooks")
        assert r.status_code == 503, r.text
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert int(r.headers["Retry-After"]) > 0
        r = hookline.api("POST", "/api/v1/webhooks",
                         json={"url": receiver.url, "events": ["order.*"]})
        assert r.status_code == 503 and "Retry-After" in r.headers, r.text

        r = hookline.session.get(hookline.base_url + "/readyz", timeout=10)
        assert r.status_code == 503
        assert r.json()["checks"] == {"kafka": "ok", "postgresql": "unreachable"}
        assert "postgresql" in r.json()["detail"]

        # Delivery does not wait for PostgreSQL either.
        want = set(accepted)
        got = lambda: want <= {q.json()["id"] for q in receiver.snapshot()}  # noqa: E731
        wait_for(got, 30, "every event accepted during the outage delivered during it")
    finally:
        pg_start(port)

    def ready() -> bool:
        return hookline.session.get(hookline.base_url + "/readyz", timeout=10).status_code == 200
    wait_for(ready, 30, "/readyz 200 once PostgreSQL is back")
    # The outage's client id is in the 24 h window now, across gateways: ask the database.
    def remembered() -> bool:
        try:
            return bool(hookline.sql("SELECT 1 FROM event_ids WHERE id = %s AND state = 'accepted'",
                                     body["id"]))
        except psycopg.OperationalError:
            return False
    wait_for(remembered, 30, "the outage's client event id written to event_ids")
    again = hookline.api("POST", "/api/v1/events", headers=_auth(publisher), json=body)
    assert again.status_code == 202 and again.json()["duplicate"] is True, again.text
    assert hookline.api("GET", "/api/v1/webhooks").status_code == 200
    time.sleep(1.0)
    ids = [q.json()["id"] for q in receiver.snapshot()]
    assert ids.count(first.json()["id"]) == 1, "the repeated client id was delivered twice"
