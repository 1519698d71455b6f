"""TLS on outgoing deliveries: peers are verified (certificate chain and host name) against
the system store, or against the dispatcher's ca_bundle.

Each test makes its own CA and server certificates with the openssl CLI in tmp_path and
serves HTTPS on 127.0.0.1 (the harness allow-lists loopback for SSRF protection).
"""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

import pytest

from conftest import DISPATCHER
from waiting import wait_for


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(d: Path) -> Path:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Hookline test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return d / "ca.pem"


def make_server_cert(d: Path, name: str, san: str) -> ssl.SSLContext:
    """A server certificate signed by d's CA for san (e.g. IP:127.0.0.1,DNS:localhost);
    returns a server context serving it."""
    (d / f"{name}.ext").write_text(
        f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
            "-extfile", f"{name}.ext", cwd=d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / f"{name}.pem", d / f"{name}.key")
    return ctx


@pytest.fixture
def pki(tmp_path: Path):
    d = tmp_path / "pki"
    d.mkdir()
    ca = make_ca(d)
    return d, ca


def attempts_of(hookline, webhook_id: str):
    return hookline.sql(
        "SELECT a.attempt_no, a.error_class, a.error, a.http_status FROM delivery_attempts a"
        " JOIN deliveries d ON d.id = a.delivery_id WHERE d.webhook_id = %s ORDER BY 1",
        webhook_id)


@pytest.mark.dispatchers(0)
def test_https_delivery_verified_against_the_configured_ca_bundle(hookline, make_receiver, pki):
    d, ca = pki
    rcv = make_receiver(ssl_context=make_server_cert(d, "server", "IP:127.0.0.1,DNS:localhost"))
    # A certificate for another name, from the same CA: the chain verifies, the name does not.
    other = make_receiver(ssl_context=make_server_cert(d, "other", "DNS:other.example"))
    hookline.start_dispatcher(HOOKLINE_CA_BUNDLE=str(ca))

    by_ip = hookline.create_webhook(rcv.url, ["order.created"])
    by_name = hookline.create_webhook(f"https://localhost:{rcv.port}/by-name", ["order.created"])
    wrong_name = hookline.create_webhook(other.url, ["order.created"])
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})

    reqs = rcv.wait_for(2, timeout=20)
    assert sorted(r.path for r in reqs) == ["/by-name", "/webhook"]
    for wh in (by_ip, by_name):
        wait_for(lambda w=wh: attempts_of(hookline, w["id"]) == [(1, None, None, 200)],
                 timeout=20, what=f"attempt log of {wh['url']}")

    rows = wait_for(lambda: attempts_of(hookline, wrong_name["id"]), timeout=20,
                    what="attempt on the wrongly named server")
    assert rows[0][1] == "tls", rows
    assert "subject name" in rows[0][2], rows  # the host name check, not the chain
    assert other.snapshot() == [], "no request may follow a failed verification"


@pytest.mark.dispatchers(0)
def test_https_deliveries_share_one_verified_connection(hookline, make_receiver, pki):
    """Ten deliveries, one at a time, to an HTTPS receiver take one TLS handshake: the
    connection is kept and its later requests and answers go over the same session."""
    d, ca = pki
    rcv = make_receiver(ssl_context=make_server_cert(d, "server", "IP:127.0.0.1,DNS:localhost"))
    hookline.start_dispatcher(HOOKLINE_CA_BUNDLE=str(ca))
    wh = hookline.create_webhook(rcv.url, ["order.created"], max_concurrency=1)
    for i in range(10):
        hookline.post_event("order.created", {"n": i})
    reqs = rcv.wait_for(10, timeout=30)
    assert sorted(r.json()["data"]["n"] for r in reqs) == list(range(10))
    wait_for(lambda: len(attempts_of(hookline, wh["id"])) == 10, timeout=20,
             what="ten attempts logged")
    assert all(row[1:] == (None, None, 200) for row in attempts_of(hookline, wh["id"]))
    opened = hookline.dispatcher_metric("hookline_dispatcher_connections_opened_total")
    assert opened == 1, opened


@pytest.mark.dispatchers(1)
def test_https_delivery_to_an_unknown_ca_fails_with_tls_error(hookline, make_receiver, pki):
    d, _ = pki
    rcv = make_receiver(ssl_context=make_server_cert(d, "server", "IP:127.0.0.1,DNS:localhost"))
    wh = hookline.create_webhook(rcv.url, ["order.created"])
    hookline.settle()
    hookline.post_event("order.created", {"n": 1})

    rows = wait_for(lambda: attempts_of(hookline, wh["id"]), timeout=20, what="first attempt")
    attempt_no, error_class, error, http_status = rows[0]
    assert (attempt_no, error_class, http_status) == (1, "tls", None), rows
    assert "certificate" in error, error
    assert rcv.snapshot() == [], "no request may follow a failed verification"
    d_api = hookline.api("GET", f"/api/v1/webhooks/{wh['id']}/deliveries").json()["data"][0]
    assert d_api["last_error_class"] == "tls", d_api


def test_unreadable_ca_bundle_stops_the_dispatcher(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(HOOKLINE_CA_BUNDLE=str(tmp_path / "missing.pem"),
               HOOKLINE_PG_DSN="postgresql://nobody@127.0.0.1:1/none",
               HOOKLINE_BROKERS="127.0.0.1:1")
    p = subprocess.run([str(DISPATCHER)], env=env, capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert "ca_bundle" in p.stderr and "missing.pem" in p.stderr, p.stderr
