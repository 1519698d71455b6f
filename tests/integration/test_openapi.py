"""The OpenAPI document (schemas/openapi.json): valid OpenAPI 3.1, served by the gateway as
committed, and true of the live gateway (schemathesis).

The schemathesis run is a bounded property-based test of every documented operation with
a tenant_admin key: it fails on any 5xx and on any response the document does not allow
(undocumented status code or content type, body not matching the response schema,
invalid input accepted, an undocumented method not answered 405, auth not enforced).
No dispatcher runs, so nothing is delivered anywhere. HOOKLINE_SCHEMATHESIS_EXAMPLES and
HOOKLINE_SCHEMATHESIS_SEED change the size and the seed of the run (default: fixed, so CI
is reproducible; a failure prints the seed and the curl to replay it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from conftest import REPO

DOC = REPO / "schemas" / "openapi.json"


def committed_doc() -> dict:
    return json.loads(DOC.read_text(encoding="utf-8"))


def test_committed_document_is_valid_openapi_3_1():
    doc = committed_doc()
    validate(doc)  # raises OpenAPIValidationError with the offending pointer
    assert doc["openapi"].startswith("3.1.")
    assert next(iter(doc)) == "x-generated", "the first member says the file is generated"


def test_document_names_every_request_schema_and_the_event_envelope():
    doc = committed_doc()
    comps = doc["components"]["schemas"]
    for f in (REPO / "schemas" / "api").glob("*.schema.json"):
        assert "api." + f.name[: -len(".schema.json")] in comps, f.name
    assert "event" in comps
    ops = [(m, p) for p, item in doc["paths"].items() for m in item if m != "parameters"]
    assert len(ops) >= 40
    for m, p in ops:
        op = doc["paths"][p][m]
        if op.get("security") != []:
            assert {"401", "403"} <= set(op["responses"]), f"{m} {p}"


@pytest.mark.dispatchers(0)
def test_gateway_serves_the_committed_document_without_a_key(hookline):
    r = hookline.session.get(hookline.base_url + "/api/v1/openapi.json", timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == committed_doc()
    # Other methods: 405 with Allow, like every route.
    r = hookline.session.post(hookline.base_url + "/api/v1/openapi.json", timeout=5)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"


SCHEMATHESIS_CONFIG = """
[phases.coverage]
# civetweb answers TRACE and QUERY itself (400) before any handler sees them; every other
# undeclared method must be 405 with Allow.
unexpected-methods = ["get", "put", "post", "delete", "options", "patch"]
"""


def run_schemathesis(hookline, tmp_path: Path, name: str, *selection: str,
                     config_extra: str = "") -> None:
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    examples = os.environ.get("HOOKLINE_SCHEMATHESIS_EXAMPLES", "25")
    seed = os.environ.get("HOOKLINE_SCHEMATHESIS_SEED", "20261122")
    config = tmp_path / f"schemathesis-{name}.toml"
    config.write_text(SCHEMATHESIS_CONFIG + config_extra)
    cmd = [
        exe, "--config-file", str(config), "run", hookline.base_url + "/api/v1/openapi.json",
        "--url", hookline.base_url,
        "-H", f"Authorization: Bearer {hookline.tenant_key}",
        "--checks", "all",
        # A schema-valid request may still be refused (400, 403) for what no JSON Schema
        # says and the document describes in words: URLs as libcurl parses them, secrets
        # that must decode to 24..64 bytes, what a tenant_admin may not do. The inverse
        # (negative_data_rejection: schema-violating input must be refused) stays on.
        "--exclude-checks", "positive_data_acceptance",
        # Stateful phase off: it would chain operations at random (delete the tenant's
        # data mid-run); examples, coverage and fuzzing test each operation on its own.
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", examples, "--seed", seed,
        "--workers", "1", "--request-timeout", "10", "--no-color",
        "--suppress-health-check", "all",
        "--report", "junit", "--report-dir", str(tmp_path / f"schemathesis-{name}"),
        *selection,
    ]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          cwd=tmp_path, stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    (tmp_path / f"schemathesis-{name}.log").write_text(out)
    print(f"schemathesis {name}: {time.monotonic() - t0:.0f} s, exit {proc.returncode}")
    print(out[-2500:])
    assert proc.returncode == 0, f"schemathesis ({name}, seed {seed}) found problems:\n{out[-20000:]}"


@pytest.mark.dispatchers(0)
def test_live_gateway_conforms_to_its_openapi_document(hookline, tmp_path: Path):
    # Revoking keys runs on its own: the fuzzer learns ids from responses (GET
    # /api/v1/api-keys lists its own key) and would revoke the key it runs with.
    run_schemathesis(hookline, tmp_path, "all-but-revoke", "--exclude-operation-id", "revokeApiKey")
    run_schemathesis(hookline, tmp_path, "revoke", "--include-operation-id", "revokeApiKey")
    r = hookline.api("GET", "/api/v1/webhooks")
    assert r.status_code == 200, "the run's own key still works"


@pytest.mark.dispatchers(0)
def test_live_gateway_conforms_for_sources_that_exist(hookline, tmp_path: Path):
    # With random ids, /api/v1/sources/{id} and /api/v1/incoming/{id} only ever answer 404.
    # Here they run against real sources: the list returns every verification style (so the
    # Source model is checked against real rows), the {id} operations get a real id, and the
    # incoming endpoint gets an API-key source's id and key, so that fuzzed bodies, media
    # types and headers reach the payload, schema and event-type steps and Kafka.
    styles = [{"type": "hmac", "header": "X-Sig", "algorithm": "sha1", "encoding": "base64"},
              {"type": "github"}, {"type": "stripe", "tolerance_s": 60},
              {"type": "standard_webhooks"}, {"type": "basic", "username": "u"}]
    for v in styles:
        r = hookline.api("POST", "/api/v1/sources", json={"verification": v, "schema": True})
        assert r.status_code == 201, r.text
    key = "fuzz-key-0123456789"

    def source(**fields) -> str:
        r = hookline.api("POST", "/api/v1/sources", json={
            "verification": {"type": "api_key", "header": "X-Fuzz-Key", "value": key},
            **fields})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    managed = source(rate_limit_per_s=10, description="patched and deleted by the fuzzer")
    typed = source(event_type={"from": "json_pointer", "pointer": "/type", "prefix": "fz."},
                   schema={"type": "object", "properties": {"n": {"type": "integer"}}})
    plain = source()
    config = f"""
[[operations]]
include-path-regex = "^/api/v1/sources/"
parameters = {{ id = "{managed}" }}

[[operations]]
include-operation-id = "receiveIncoming"
headers = {{ X-Fuzz-Key = "{key}" }}
parameters = {{ source_id = "{typed}" }}
"""
    # DELETE last: once the source is gone the other operations only see 404 again.
    run_schemathesis(hookline, tmp_path, "sources", "--include-tag", "sources",
                     "--exclude-operation-id", "deleteSource", config_extra=config)
    run_schemathesis(hookline, tmp_path, "incoming-typed", "--include-tag", "incoming",
                     config_extra=config)
    run_schemathesis(hookline, tmp_path, "incoming-plain", "--include-tag", "incoming",
                     config_extra=config.replace(typed, plain))
    run_schemathesis(hookline, tmp_path, "source-delete", "--include-operation-id",
                     "deleteSource", config_extra=config)
    assert hookline.api("GET", f"/api/v1/sources/{managed}").status_code == 404
