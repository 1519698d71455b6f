"""Table events: inserts, updates and deletes of a user's PostgreSQL tables become webhooks.

The "user's database" is a second database in the test PostgreSQL (started by scripts/stack
with wal_level=logical); hookline-cdc workers read it through logical replication and the
dispatcher delivers to a real HTTP receiver. Table sources are made through the API; the
user's rows are changed with plain SQL, as the user's application would. What reached Kafka
is read back from the events topic itself (commit order per table)."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import requests
from psycopg import sql

from conftest import BUILD, SHUTDOWN_TIMEOUT_S, free_port, tail
from waiting import wait_for

CDC = BUILD / "cdc" / "hookline-cdc"


class UserDb:
    """A database of 'the user', in the test cluster."""

    def __init__(self, infra):
        self.infra = infra
        self.name = f"ud_{secrets.token_hex(4)}"
        with psycopg.connect(infra.pg_admin_dsn, autocommit=True) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.dsn = infra.dsn_for(self.name)

    def run(self, *statements: str, params=None) -> list:
        with psycopg.connect(self.dsn, autocommit=True) as c:
            rows = []
            for s in statements:
                cur = c.execute(s, params)
                rows = cur.fetchall() if cur.description else []
            return rows

    def slots(self) -> list[str]:
        with psycopg.connect(self.infra.pg_admin_dsn, autocommit=True) as c:
            return [r[0] for r in c.execute(
                "SELECT slot_name FROM pg_replication_slots WHERE database = %s", (self.name,))]

    def drop(self) -> None:
        with psycopg.connect(self.infra.pg_admin_dsn, autocommit=True) as c:
            for _ in range(50):
                try:
                    c.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                              " WHERE database = %s", (self.name,))
                    break
                except psycopg.errors.ObjectInUse:
                    time.sleep(0.2)
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(self.name)))


@pytest.fixture
def userdb(infra):
    db = UserDb(infra)
    yield db
    db.drop()


class Workers:
    """hookline-cdc processes of one test, with the test's settings."""

    def __init__(self, hookline, tmp_path: Path):
        if not os.access(CDC, os.X_OK):
            pytest.fail(f"{CDC} is missing: build with scripts/build", pytrace=False)
        self.hookline = hookline
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.ports: list[int] = []  # each worker's operations listener

    def start(self, **env: str) -> int:
        i = len(self.procs)
        log = self.tmp_path / f"cdc-{i}.log"
        port = free_port()
        with open(log, "wb") as out:
            p = subprocess.Popen(
                [str(CDC)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**self.hookline.env, "HOOKLINE_SCAN_INTERVAL_MS": "500",
                     "HOOKLINE_WORKER_ID": f"cdc-{i}", "HOOKLINE_RECONNECT_MAX_MS": "2000",
                     "HOOKLINE_HTTP_HOST": "127.0.0.1", "HOOKLINE_HTTP_PORT": str(port),
                     **env})
        self.procs.append(p)
        self.logs.append(log)
        self.ports.append(port)
        return i

    def url(self, i: int, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[i]}{path}"

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(timeout=SHUTDOWN_TIMEOUT_S)

    def alive(self, i: int) -> bool:
        return self.procs[i].poll() is None

    def stop_all(self) -> list[str]:
        problems = []
        for i, p in enumerate(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for i, p in enumerate(self.procs):
            try:
                p.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                problems.append(f"cdc-{i} ignored SIGTERM")
            if p.returncode not in (0, -signal.SIGKILL):
                problems.append(f"cdc-{i} exited with {p.returncode}")
        return problems


@pytest.fixture
def cdc(hookline, tmp_path, request):
    w = Workers(hookline, tmp_path)
    yield w
    problems = w.stop_all()
    rep = getattr(request.node, "rep_call", None)
    if problems or rep is None or rep.failed:
        for i, log in enumerate(w.logs):
            print(f"\n----- cdc-{i} ({log}) -----\n{tail(log)}")
    assert not problems, problems


def create_source(hookline, userdb, tables, **fields) -> dict:
    r = hookline.api("POST", "/api/v1/table-sources",
                     json={"connection": userdb.dsn, "tables": tables, **fields})
    assert r.status_code == 201, f"create table source: {r.status_code} {r.text}"
    return r.json()


def status(hookline, source_id: str) -> dict:
    r = hookline.api("GET", f"/api/v1/table-sources/{source_id}/status")
    assert r.status_code == 200, r.text
    return r.json()


def wait_streaming(hookline, source_id: str, timeout: float = 30) -> dict:
    return wait_for(lambda: (s := status(hookline, source_id))["state"] == "streaming" and s,
                    timeout=timeout, what=f"table source {source_id} streaming")


def bodies(receiver) -> list[dict]:
    return [r.json() for r in receiver.snapshot()]


ORDERS = """CREATE TABLE public.orders (
    id int PRIMARY KEY, customer text, total numeric(12,2), big numeric, paid bool,
    card_secret text, doc jsonb, blob bytea, placed timestamptz, tags text[], score float8)"""


def test_changes_reach_the_webhook_within_5s_with_names_and_rows(hookline, userdb, cdc,
                                                                 receiver,
                                                                 kafka_consumer_factory):
    userdb.run(ORDERS, "CREATE TABLE public.customers (id int PRIMARY KEY, email text)",
               "CREATE TABLE public.audit (id int PRIMARY KEY, note text)")
    src = create_source(hookline, userdb, [
        {"name": "public.orders", "exclude_columns": ["card_secret"]},
        {"name": "public.customers", "operations": ["insert"]},
    ])
    assert "connection" in src and "password" not in json.dumps(src)
    assert src["event_name"] == "{table}.{action}"
    hookline.create_webhook(receiver.url, ["*"])
    version = hookline.sql("SELECT version FROM subscription_version")[0][0]
    cdc.start()
    hookline.settle()
    wait_streaming(hookline, src["id"])

    t0 = time.monotonic()
    userdb.run(
        "INSERT INTO orders VALUES (1, 'ada', 12.50, 123456789012345678901234.5, false,"
        " 'sk_live_SECRET', '{\"a\": [1, 2]}', '\\x0102ff', '2026-12-05 10:00:00.25+00',"
        " '{x,\"y z\",NULL}', 1.5)")
    userdb.run("UPDATE orders SET paid = true WHERE id = 1")
    userdb.run("DELETE FROM orders WHERE id = 1")
    userdb.run("INSERT INTO audit VALUES (1, 'not configured')")
    userdb.run("INSERT INTO customers VALUES (7, 'c@example.com')")
    userdb.run("UPDATE customers SET email = 'd@example.com'")  # insert only: no event
    receiver.wait_for(4, timeout=5)
    assert time.monotonic() - t0 < 5.0 + 1.0  # the commits themselves took < 1 s

    time.sleep(2)  # what must not arrive has had its chance
    got = bodies(receiver)
    by_name = {b["event"]: b for b in got}
    assert sorted(by_name) == ["customers.created", "orders.created", "orders.deleted",
                               "orders.updated"], [b["event"] for b in got]
    assert len(got) == 4
    created = by_name["orders.created"]["data"]
    assert created == {
        "id": 1, "customer": "ada", "total": 12.5, "big": "123456789012345678901234.5",
        "paid": False, "doc": {"a": [1, 2]}, "blob": base64.b64encode(b"\x01\x02\xff").decode(),
        "placed": "2026-12-05T10:00:00.25Z", "tags": ["x", "y z", None], "score": 1.5,
    }
    assert by_name["orders.updated"]["data"]["paid"] is True
    assert by_name["orders.deleted"]["data"] == {"id": 1}  # the key (default replica identity)
    meta = by_name["orders.created"]["metadata"]
    assert meta["table"] == "public.orders" and meta["operation"] == "insert"
    assert meta["table_source"] == src["id"] and "/" in meta["lsn"] and meta["xid"] > 0
    assert by_name["customers.created"]["data"] == {"id": 7, "email": "c@example.com"}
    for r in receiver.snapshot():
        assert b"sk_live_SECRET" not in r.body and b"card_secret" not in r.body

    s = status(hookline, src["id"])
    assert s["worker"] == "cdc-0" and s["confirmed_lsn"] and s["lag_bytes"] is not None

    # The read-your-writes fence: each event carries the subscription version the worker
    # had heard of, at least that of the webhook made before the changes.
    msgs = kafka_consumer_factory(hookline.topic("events")).messages(duration=2)
    assert len(msgs) == 4
    for m in msgs:
        fence = dict(m.headers() or [])["hookline-subs-version"]
        assert int(fence) >= version, (fence, version)


def test_update_carries_old_row_and_toast_marker(hookline, userdb, cdc, receiver):
    userdb.run("CREATE TABLE public.docs (id int PRIMARY KEY, title text, body text)",
               "ALTER TABLE public.docs ALTER COLUMN body SET STORAGE EXTERNAL")
    src = create_source(hookline, userdb, [{"name": "public.docs"}],
                        event_name="db.{schema}.{table}.{action}")
    hookline.create_webhook(receiver.url, ["*"])
    cdc.start()
    hookline.settle()
    wait_streaming(hookline, src["id"])
    big = "x" * 100_000  # stored out of line (TOAST), so an update not touching it omits it
    userdb.run("INSERT INTO docs VALUES (1, 't1', %s)", params=(big,))
    userdb.run("UPDATE docs SET title = 't2' WHERE id = 1")
    userdb.run("UPDATE docs SET id = 2 WHERE id = 1")
    got = receiver.wait_for(3, timeout=10)
    evs = sorted((r.json() for r in got), key=lambda b: b["id"])
    assert [e["event"] for e in evs] == ["db.public.docs.created", "db.public.docs.updated",
                                         "db.public.docs.updated"]
    assert evs[0]["data"]["body"] == big
    assert "body" not in evs[1]["data"] and evs[1]["metadata"]["unchanged_toast"] == ["body"]
    assert evs[1]["data"]["title"] == "t2"
    assert evs[2]["metadata"]["old"] == {"id": 1}  # the key changed: PostgreSQL sends it


def test_transaction_of_1000_rows(hookline, userdb, cdc, receiver):
    userdb.run("CREATE TABLE public.items (id int PRIMARY KEY, v text)")
    src = create_source(hookline, userdb, [{"name": "public.items"}])
    hookline.create_webhook(receiver.url, ["items.created"])
    cdc.start()
    hookline.settle()
    wait_streaming(hookline, src["id"])
    userdb.run("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 1000) g")
    receiver.wait_until(lambda reqs: len({r.json()["data"]["id"] for r in reqs}) >= 1000,
                        timeout=60)
    got = bodies(receiver)
    assert {b["data"]["id"] for b in got} == set(range(1, 1001))
    # one transaction: one commit LSN, positions 0..999
    assert len({b["metadata"]["lsn"] for b in got}) == 1
    assert {b["id"].rsplit(":", 1)[1] for b in got} == {str(i) for i in range(1000)}


def test_killed_worker_is_replaced_and_every_change_arrives_in_commit_order(
        hookline, userdb, cdc, receiver, kafka_consumer_factory):
    """SIGKILL of the worker holding the source in the middle of 5,000 changes: the second
    worker takes it over, the first is restarted; every change is delivered at least once and
    Kafka holds each table's changes in commit order (duplicates only replay a prefix)."""
    userdb.run("CREATE TABLE public.a (id int PRIMARY KEY, n int)",
               "CREATE TABLE public.b (id int PRIMARY KEY, n int)")
    src = create_source(hookline, userdb, [{"name": "public.a"}, {"name": "public.b"}])
    hookline.create_webhook(receiver.url, ["*"])
    cdc.start()
    cdc.start()
    hookline.settle()
    holder = wait_streaming(hookline, src["id"])["worker"]
    victim = int(holder.split("-")[1])
    time.sleep(1.5)  # both workers have scanned a few times: only one may hold the source
    assert sum("holding table source" in log.read_text() for log in cdc.logs) == 1

    # 5,000 changes: 2,500 rows per table, in 100 transactions of 50 rows (25 per table).
    with psycopg.connect(userdb.dsn, autocommit=False) as c:
        for t in range(100):
            for k in range(25):
                n = t * 25 + k
                c.execute("INSERT INTO a VALUES (%s, %s)", (n, n))
                c.execute("INSERT INTO b VALUES (%s, %s)", (n, n))
            c.commit()
            if t == 30:
                cdc.kill(victim)
    cdc.start(HOOKLINE_WORKER_ID=f"cdc-{victim}-again")

    want = {("a.created", n) for n in range(2500)} | {("b.created", n) for n in range(2500)}

    def have():
        return {(b["event"], b["data"]["id"]) for b in bodies(receiver)}

    wait_for(lambda: have() >= want, timeout=90, what="all 5,000 changes delivered")
    assert status(hookline, src["id"])["worker"] != holder  # taken over, not waited for

    seen: dict[str, list[int]] = {"a.created": [], "b.created": []}
    for m in kafka_consumer_factory(hookline.topic("events")).messages(duration=3):
        ev = json.loads(m.value())
        seen[ev["event"]].append(ev["data"]["id"])
    for name, ids in seen.items():
        first = list(dict.fromkeys(ids))  # order of first appearance
        assert first == list(range(2500)), f"{name} out of commit order"
        # a replay restarts from an earlier point, never skips ahead
        high = -1
        for i in ids:
            assert i <= high + 1, f"{name}: {i} arrived before {high + 1}"
            high = max(high, i)


def test_deleted_source_leaves_no_slot_and_no_publication(hookline, userdb, cdc):
    userdb.run("CREATE TABLE public.t (id int PRIMARY KEY)")
    src = create_source(hookline, userdb, [{"name": "public.t"}])
    cdc.start()
    wait_streaming(hookline, src["id"])
    assert len(userdb.slots()) == 1
    r = hookline.api("DELETE", f"/api/v1/table-sources/{src['id']}")
    assert r.status_code == 202 and r.json()["status"] == "deleting", r.text
    wait_for(lambda: hookline.api("GET", f"/api/v1/table-sources/{src['id']}").status_code == 404,
             timeout=30, what="the source gone")
    assert userdb.slots() == []
    assert userdb.run("SELECT pubname FROM pg_publication") == []


def test_pause_stops_events_and_resume_delivers_what_happened_meanwhile(hookline, userdb, cdc,
                                                                        receiver):
    userdb.run("CREATE TABLE public.p (id int PRIMARY KEY)")
    src = create_source(hookline, userdb, [{"name": "public.p"}])
    hookline.create_webhook(receiver.url, ["*"])
    cdc.start()
    hookline.settle()
    wait_streaming(hookline, src["id"])
    r = hookline.api("POST", f"/api/v1/table-sources/{src['id']}/pause")
    assert r.status_code == 200 and r.json()["status"] == "paused", r.text
    assert status(hookline, src["id"])["state"] == "paused"
    time.sleep(1.5)
    userdb.run("INSERT INTO p VALUES (1)")
    time.sleep(3)
    assert receiver.snapshot() == []
    r = hookline.api("POST", f"/api/v1/table-sources/{src['id']}/resume")
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    got = receiver.wait_for(1, timeout=15)
    assert got[0].json()["data"] == {"id": 1}


def test_unreachable_database_is_reported_and_retried(hookline, userdb, infra, cdc):
    """A database that does not exist yet: the status says why, the worker keeps running
    and retrying, and streams as soon as the database is there."""
    name = f"ud_late_{secrets.token_hex(3)}"
    src = create_source(hookline, userdb, [{"name": "public.t"}])
    r = hookline.api("POST", "/api/v1/table-sources",
                     json={"connection": infra.dsn_for(name), "tables": [{"name": "public.t"}]})
    assert r.status_code == 201, r.text
    late = r.json()
    dead = hookline.api("POST", "/api/v1/table-sources", json={
        "connection": f"postgresql://postgres@127.0.0.1:{free_port()}/x",
        "tables": [{"name": "public.t"}]}).json()
    cdc.start()
    s = wait_for(lambda: (s := status(hookline, late["id"]))["state"] == "error" and s,
                 timeout=20, what="an error state")
    assert "does not exist" in s["detail"], s
    s = wait_for(lambda: (s := status(hookline, dead["id"]))["state"] == "error" and s,
                 timeout=20, what="an error state")
    assert "cannot connect" in s["detail"], s
    # public.t is missing in the first source's database: reported too
    s = wait_for(lambda: (s := status(hookline, src["id"]))["state"] == "error" and s,
                 timeout=20, what="an error state")
    assert "does not exist" in s["detail"], s

    with psycopg.connect(infra.pg_admin_dsn, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(infra.dsn_for(name), autocommit=True) as c:
            c.execute("CREATE TABLE public.t (id int PRIMARY KEY)")
        wait_streaming(hookline, late["id"], timeout=30)
        assert cdc.alive(0)
        r = hookline.api("DELETE", f"/api/v1/table-sources/{late['id']}")
        assert r.status_code == 202
        wait_for(lambda: hookline.api("GET", f"/api/v1/table-sources/{late['id']}").status_code
                 == 404, timeout=30, what="the late source gone")
    finally:
        with psycopg.connect(infra.pg_admin_dsn, autocommit=True) as c:
            c.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                      " WHERE database = %s AND NOT active", (name,))
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def test_invalid_table_sources_are_refused_with_pointers(hookline, userdb):
    cases = [
        ({"tables": [{"name": "public.t"}]}, ""),
        ({"connection": userdb.dsn, "tables": []}, "/tables"),
        ({"connection": userdb.dsn, "tables": [{"name": "orders"}]}, "/tables/0/name"),
        ({"connection": userdb.dsn, "tables": [{"name": "public.t", "operations": ["upsert"]}]},
         "/tables/0/operations/0"),
        ({"connection": userdb.dsn, "tables": [{"name": "public.t"}, {"name": "public.t"}]},
         "/tables/1/name"),
        ({"connection": userdb.dsn, "tables": [{"name": "public.t"}], "event_name": "{table}."},
         "/event_name"),
        ({"connection": "host=/var/run/postgresql dbname=x", "tables": [{"name": "public.t"}]},
         "/connection"),
        ({"connection": "postgresql://[bad", "tables": [{"name": "public.t"}]}, "/connection"),
        ({"connection": userdb.dsn + "?passfile=/root/.pgpass", "tables": [{"name": "public.t"}]},
         "/connection"),
        ({"connection": f"{userdb.dsn}?sslkey=/etc/ssl/private/k.pem",
          "tables": [{"name": "public.t"}]}, "/connection"),
    ]
    for body, pointer in cases:
        r = hookline.api("POST", "/api/v1/table-sources", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        ptrs = [e["pointer"] for e in r.json().get("errors", [])]
        assert pointer in ptrs, (body, r.json())
    r = hookline.api("POST", "/api/v1/table-sources", json={
        "connection": "postgresql://u:p@10.1.2.3/x", "tables": [{"name": "public.t"}]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/connection", r.text
    assert hookline.api("GET", "/api/v1/table-sources").json()["data"] == []


def test_worker_stops_promptly_while_slot_creation_waits_for_a_long_transaction(
        hookline, userdb, cdc):
    """CREATE_REPLICATION_SLOT waits for every transaction open on the server; a worker in
    that wait still stops on SIGTERM within the fixture's 10 s (it cancels the command)."""
    userdb.run("CREATE TABLE public.t (id int PRIMARY KEY)")
    with psycopg.connect(userdb.dsn) as open_tx:
        open_tx.execute("INSERT INTO t VALUES (1)")  # a transaction with an xid, left open
        src = create_source(hookline, userdb, [{"name": "public.t"}])
        i = cdc.start()
        time.sleep(3)
        assert status(hookline, src["id"])["state"] == "connecting"  # the slot is not ready
        t0 = time.monotonic()
        cdc.procs[i].send_signal(signal.SIGTERM)
        assert cdc.procs[i].wait(timeout=SHUTDOWN_TIMEOUT_S) == 0
        assert time.monotonic() - t0 < 5
        open_tx.rollback()


def metric(text: str, name: str, source: str) -> float | None:
    """The value of name{source="..."} in a Prometheus exposition, None when absent."""
    for line in text.splitlines():
        if line.startswith(f'{name}{{source="{source}"}} '):
            return float(line.split()[-1])
    return None


def test_worker_exports_slot_lag_confirmed_lsn_and_counts_per_source(hookline, userdb, cdc):
    userdb.run("CREATE TABLE public.m (id int PRIMARY KEY)")
    src = create_source(hookline, userdb, [{"name": "public.m"}])
    i = cdc.start()
    def healthy():
        try:
            return requests.get(cdc.url(i, "/healthz"), timeout=2).status_code == 200
        except requests.ConnectionError:
            return False  # not listening yet
    wait_for(healthy, timeout=10, what="the worker's /healthz")
    wait_streaming(hookline, src["id"])
    assert requests.get(cdc.url(i, "/readyz"), timeout=2).status_code == 200
    userdb.run("INSERT INTO m SELECT generate_series(1, 5)")

    def exported():
        r = requests.get(cdc.url(i, "/metrics"), timeout=2)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(
            "text/plain; version=0.0.4"), r.text
        return metric(r.text, "hookline_cdc_events_total", src["id"]) == 5 and r.text
    text = wait_for(exported, timeout=15, what="5 events counted on /metrics")
    lsn = metric(text, "hookline_cdc_confirmed_lsn", src["id"])
    assert lsn and lsn > 0, text
    assert metric(text, "hookline_cdc_slot_lag_bytes", src["id"]) is not None, text
    assert metric(text, "hookline_cdc_errors_total", src["id"]) == 0, text
    assert 'hookline_cdc_sources{state="streaming"} 1' in text, text
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run scripts/install-deps"
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    # the status route and the metric say the same position, once both are current
    def same():
        s = status(hookline, src["id"])
        hi, lo = s["confirmed_lsn"].split("/")
        t = requests.get(cdc.url(i, "/metrics"), timeout=2).text
        return metric(t, "hookline_cdc_confirmed_lsn", src["id"]) == (int(hi, 16) << 32) + int(lo, 16)
    wait_for(same, timeout=10, what="status and metric agreeing on the confirmed LSN")
    assert requests.post(cdc.url(i, "/metrics"), timeout=2).status_code == 405


def test_patch_changes_tables_operations_columns_and_event_name(hookline, userdb, cdc,
                                                                receiver):
    userdb.run("CREATE TABLE public.orders (id int PRIMARY KEY, total int, card text)",
               "CREATE TABLE public.customers (id int PRIMARY KEY, email text)")
    src = create_source(hookline, userdb, [{"name": "public.orders", "operations": ["insert"]}])
    hookline.create_webhook(receiver.url, ["*"])
    cdc.start()
    hookline.settle()
    wait_streaming(hookline, src["id"])
    userdb.run("INSERT INTO orders VALUES (1, 10, 'sk_1')")
    assert receiver.wait_for(1, timeout=10)[0].json()["event"] == "orders.created"

    r = hookline.api("PATCH", f"/api/v1/table-sources/{src['id']}", json={
        "tables": [{"name": "public.orders", "operations": ["update"], "exclude_columns": ["card"]},
                   {"name": "public.customers"}],
        "event_name": "shop.{table}.{action}"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["event_name"] == "shop.{table}.{action}" and len(got["tables"]) == 2
    assert got["updated_at"] > src["updated_at"]
    # The worker restarted the stream and set its publication to the new tables.
    wait_for(lambda: sorted(t for (t,) in userdb.run(
        "SELECT tablename FROM pg_publication_tables")) == ["customers", "orders"],
        timeout=20, what="the publication altered")
    wait_streaming(hookline, src["id"])
    userdb.run("INSERT INTO orders VALUES (2, 20, 'sk_2')")  # inserts of orders: no more
    userdb.run("UPDATE orders SET total = 11 WHERE id = 1")
    userdb.run("INSERT INTO customers VALUES (7, 'c@example.com')")
    receiver.wait_for(3, timeout=10)
    time.sleep(1.5)  # what must not arrive has had its chance
    names = [b["event"] for b in bodies(receiver)]
    assert sorted(names) == ["orders.created", "shop.customers.created", "shop.orders.updated"], names
    upd = next(b for b in bodies(receiver) if b["event"] == "shop.orders.updated")
    assert upd["data"] == {"id": 1, "total": 11}
    assert len(userdb.slots()) == 1  # the same slot: nothing replayed twice, nothing skipped


def test_invalid_patches_are_refused_and_change_nothing(hookline, userdb):
    src = create_source(hookline, userdb, [{"name": "public.t"}], name="keep")
    url = f"/api/v1/table-sources/{src['id']}"
    cases = [
        ({}, ""),
        ({"connection": userdb.dsn}, "/connection"),  # cannot change: delete and create
        ({"tables": []}, "/tables"),
        ({"tables": [{"name": "t"}]}, "/tables/0/name"),
        ({"tables": [{"name": "public.t", "operations": ["upsert"]}]}, "/tables/0/operations/0"),
        ({"tables": [{"name": "public.a"}, {"name": "public.a"}]}, "/tables/1/name"),
        ({"event_name": "{table}!"}, "/event_name"),
        # checked against the stored tables when the body leaves them out
        ({"event_name": "{table}."}, "/event_name"),
        ({"name": "x", "tables": [{"name": "public.t", "include_columns": ["a"],
                                   "exclude_columns": ["b"]}]}, "/tables/0"),
    ]
    for body, pointer in cases:
        r = hookline.api("PATCH", url, json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        ptrs = [e["pointer"] for e in r.json().get("errors", [])]
        assert pointer in ptrs, (body, r.json())
    after = hookline.api("GET", url).json()
    assert after == src
    r = hookline.api("PATCH", "/api/v1/table-sources/00000000-0000-7000-8000-000000000000",
                     json={"name": "x"})
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/problem+json")
    assert hookline.api("DELETE", url).status_code == 202
    r = hookline.api("PATCH", url, json={"name": "x"})
    assert r.status_code == 409, r.text


def test_a_lost_slot_is_recreated_and_the_possible_gap_reported(hookline, userdb, cdc, receiver):
    """What a fail-over of the user's database does to a source (PostgreSQL 15 keeps no
    logical slot on a standby): the slot is gone when the worker reconnects. Played here by
    dropping it while the source is paused. The worker makes a new one and streams, and
    the status says changes may be missing since the last confirmed LSN."""
    userdb.run("CREATE TABLE public.f (id int PRIMARY KEY)")
    src = create_source(hookline, userdb, [{"name": "public.f"}])
    hookline.create_webhook(receiver.url, ["*"])
    cdc.start()
    hookline.settle()
    wait_streaming(hookline, src["id"])
    userdb.run("INSERT INTO f VALUES (1)")
    receiver.wait_for(1, timeout=10)
    before = wait_for(lambda: (s := status(hookline, src["id"]))["confirmed_lsn"] and s,
                      timeout=10, what="a confirmed LSN")
    assert hookline.api("POST", f"/api/v1/table-sources/{src['id']}/pause").status_code == 200
    with psycopg.connect(userdb.infra.pg_admin_dsn, autocommit=True) as c:
        wait_for(lambda: c.execute("SELECT pg_drop_replication_slot(slot_name) FROM"
                                   " pg_replication_slots WHERE database = %s AND NOT active",
                                   (userdb.name,)).fetchall(),
                 timeout=15, what="the paused source's slot dropped")
    assert userdb.slots() == []
    assert hookline.api("POST", f"/api/v1/table-sources/{src['id']}/resume").status_code == 200
    s = wait_streaming(hookline, src["id"])
    assert "replication slot was missing" in s["detail"], s
    # The gap starts at the last LSN the worker confirmed before the slot went, which is
    # the one read above or a later one (the worker confirms on keepalives too, and once
    # more as the pause releases the source), and ends where the new slot begins.
    m = re.search(r"made a new one at (\S+): changes after (\S+) and before it", s["detail"])
    assert m, s
    assert lsn(before["confirmed_lsn"]) <= lsn(m.group(2)) < lsn(m.group(1)), (s, before)
    assert len(userdb.slots()) == 1
    userdb.run("INSERT INTO f VALUES (2)")
    got = receiver.wait_for(2, timeout=10)
    assert sorted(r.json()["data"]["id"] for r in got) == [1, 2]


def lsn(text: str) -> int:
    """A PostgreSQL LSN ('16/B374D848') as a number, to compare."""
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def test_master_key_rotation_reseals_connection_strings(hookline, userdb, cdc):
    """rotate-master-key moves a table source's connection string to the new key; a worker
    with only the new key then opens it and streams."""
    userdb.run("CREATE TABLE public.k (id int PRIMARY KEY)")
    src = create_source(hookline, userdb, [{"name": "public.k"}])
    [(before,)] = hookline.sql("SELECT connection FROM table_sources WHERE id = %s", src["id"])
    assert before.startswith("hlenc:v1:t1:")
    k2 = "k2:" + base64.b64encode(os.urandom(32)).decode()
    env = {**hookline.env, "HOOKLINE_MASTER_KEY": f"{k2},{hookline.master_key}"}
    p = subprocess.run([str(BUILD / "gateway" / "hookline-gateway"), "rotate-master-key"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    [(after,)] = hookline.sql("SELECT connection FROM table_sources WHERE id = %s", src["id"])
    assert after.startswith("hlenc:v1:k2:"), after
    cdc.start(HOOKLINE_MASTER_KEY=k2)
    wait_streaming(hookline, src["id"])
