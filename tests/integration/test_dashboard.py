"""The dashboard (ui/, docs/dashboard.md): the gateway serves its files under /ui/ with a
strict Content-Security-Policy, and the dashboard does what a user needs in a real browser
(Debian's Chromium driven by playwright-core, ui/tests/e2e/dashboard.mjs) against this
test's real gateway, dispatcher, Kafka, PostgreSQL and receivers on 127.0.0.1.

HL_E2E_SCREENSHOTS=<dir> also saves the screenshots of docs/images/dashboard-*.png."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import requests

from conftest import REPO

# Prints the browser run's summary to the terminal, which a worker of the parallel part
# cannot.
pytestmark = pytest.mark.serial

NODE = shutil.which("node")
CHROMIUM = "/usr/bin/chromium"
E2E = REPO / "ui" / "tests" / "e2e" / "dashboard.mjs"
# Retries within seconds, so that a failing delivery's attempts can be watched.
FAST_RETRIES = {"HOOKLINE_RETRY_TIERS_MS": "200,1000,3000", "HOOKLINE_RETRY_JITTER_PCT": "0"}


def test_dashboard_files_are_served_with_a_strict_policy(hookline):
    base = hookline.base_url
    r = requests.get(base + "/ui", allow_redirects=False, timeout=10)
    assert r.status_code == 301 and r.headers["Location"] == "/ui/"

    r = requests.get(base + "/ui/", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-cache"
    csp = r.headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "connect-src 'self'",
                      "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # no inline script, and nothing from another host
    assert not re.search(r"<script(?![^>]*\bsrc=)", r.text)
    assets = re.findall(r'(?:src|href)="(/ui/assets/[^"]+)"', r.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', r.text)

    for asset in assets:
        a = requests.get(base + asset, timeout=10)
        assert a.status_code == 200
        assert a.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert re.search(r"-[A-Za-z0-9_-]{8}\.(js|css)$", asset), "asset names carry a hash"
    assert requests.head(base + assets[0], timeout=10).headers["Content-Length"] == \
        str(len(requests.get(base + assets[0], timeout=10).content))

    # nothing outside ui_dir (the build tree's ui/dist: CMakeCache.txt is two levels up)
    for path in ("/ui/nope.js", "/ui/.hidden", "/ui/assets/", "/ui/%2e%2e/%2e%2e/CMakeCache.txt",
                 "/ui/..%2f..%2fCMakeCache.txt", "/ui/assets/%2e%2e/%2e%2e/%2e%2e/CMakeCache.txt",
                 "/ui//etc/passwd"):
        r = requests.get(base + path, timeout=10)
        assert r.status_code == 404, path
        assert r.headers["Content-Type"] == "application/problem+json"
    r = requests.post(base + "/ui/", timeout=10)
    assert r.status_code == 405 and "GET" in r.headers["Allow"].split(", ")


@pytest.mark.service_env(**FAST_RETRIES)
def test_dashboard_in_a_real_browser(hookline, tmp_path, capsys):
    assert NODE, "node is missing: run scripts/install-deps"
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: run scripts/install-deps"
    other = hookline.tenant + "-other"
    hookline.create_tenant(other, "another tenant")
    cfg = {
        "base_url": hookline.base_url,
        "tenant": hookline.tenant,
        "tenant_key": hookline.tenant_key,
        "admin_key": hookline.admin_key,
        "viewer_key": hookline.make_key("viewer"),
        "other_key": hookline.make_key("tenant_admin", tenant=other),
        "artifacts_dir": str(tmp_path),
    }
    env = {**os.environ, "HL_E2E": json.dumps(cfg)}
    try:
        run = subprocess.run([NODE, str(E2E)], env=env, cwd=REPO / "ui", capture_output=True,
                             text=True, timeout=300)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the browser tests did not finish within 300 s:\n{e.stdout}\n{e.stderr}")
    # The script's per-step summary, shown even when pytest captures output.
    with capsys.disabled():
        at = run.stdout.find("===== dashboard")
        print("\n" + run.stdout[max(at, 0):].rstrip())
    assert run.returncode == 0, f"browser tests failed:\n{run.stdout}\n{run.stderr}"
    assert "0 failed, 0 skipped" in run.stdout
