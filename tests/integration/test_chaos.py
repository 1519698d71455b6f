"""The chaos run's short version (bench/chaos --short; the full run and its figures are in
docs/operations.md): a steady event rate through the gateway to two webhooks while a
dispatcher is SIGKILLed, Kafka is stopped, PostgreSQL is stopped, the gateway is SIGKILLed
and finally everything is SIGTERMed and restarted. Every event answered 202 must reach
every webhook, and no 202 may come while Kafka is stopped.

It stops and restarts the test infra's Kafka and PostgreSQL (scripts/stack keeps their
ports), so it runs alone, like every test here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# Stops and restarts the shared Kafka and PostgreSQL.
pytestmark = pytest.mark.serial

REPO = Path(__file__).resolve().parents[2]


def test_chaos_short_run_loses_nothing(tmp_path: Path):
    stack = os.environ.get("HOOKLINE_STACK_DIR")
    if not stack or not (Path(stack) / "pg" / "data" / "PG_VERSION").exists():
        pytest.skip("HOOKLINE_STACK_DIR does not point at the scripts/stack infra")
    r = subprocess.run([sys.executable, str(REPO / "bench/chaos"), "--short", "--stack-dir", stack,
                        "--workdir", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    report = "\n".join(line for line in r.stdout.splitlines() if not line.startswith("%"))
    print(report)
    figures = dict(re.findall(r"^(accepted|missing|duplicates|202 without Kafka)\s+(\d+)",
                              report, re.M))
    assert "missing" in figures, f"no report (exit {r.returncode}):\n{report}\n{r.stderr[-3000:]}"
    assert int(figures["accepted"]) > 100, "too few events accepted to mean anything"
    assert figures["missing"] == "0", report
    assert figures["202 without Kafka"] == "0", report
    assert r.returncode == 0, report
