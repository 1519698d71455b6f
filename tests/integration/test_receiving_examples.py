"""docs/receiving.md's verification examples (docs/examples/verify.py, verify.js, verify.c)
against a real signed delivery: each accepts it and rejects a tampered one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BUILD, REPO

EXAMPLES = REPO / "docs" / "examples"
NODE = shutil.which("node") or shutil.which("nodejs")
C_EXAMPLE = BUILD / "tests" / "receiver" / "hookline-verify-example"


def run_examples(tmp_path: Path, secret: str, headers: dict, body: bytes) -> dict[str, tuple[int, str]]:
    hfile, bfile = tmp_path / "headers.json", tmp_path / "body"
    hfile.write_text(json.dumps(headers))
    bfile.write_bytes(body)
    h = {k.lower(): v for k, v in headers.items()}
    cmds = {
        "python": [sys.executable, str(EXAMPLES / "verify.py"), secret, str(hfile), str(bfile)],
        "node": [NODE, str(EXAMPLES / "verify.js"), secret, str(hfile), str(bfile)],
        "c": [str(C_EXAMPLE), secret, h.get("webhook-id", ""), h.get("webhook-timestamp", ""),
              h.get("webhook-signature", ""), str(bfile)],
    }
    out = {}
    for name, cmd in cmds.items():
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        out[name] = (p.returncode, (p.stdout + p.stderr).strip())
    return out


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_examples_accept_a_real_delivery_and_reject_tampering(hookline, receiver, tmp_path):
    wh = hookline.create_webhook(receiver.url, ["order.created"])
    hookline.settle()
    hookline.post_event("order.created", {"order_id": 42, "note": "caf\u00e9 \u2615"})
    req = receiver.wait_for(1, timeout=20)[0]
    headers = dict(req.headers)
    secret = wh["secret"]

    for name, (rc, text) in run_examples(tmp_path, secret, headers, req.body).items():
        assert (rc, text) == (0, "ok"), f"{name} example refused a real delivery: {text}"

    # During a rotation there are several entries; any one matching is enough.
    rotating = {**headers, "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "
                + headers["webhook-signature"]}
    for name, (rc, text) in run_examples(tmp_path, secret, rotating, req.body).items():
        assert rc == 0, f"{name} example refused a rotation header: {text}"

    tampered = req.body.replace(b"42", b"43")
    assert tampered != req.body
    for name, (rc, text) in run_examples(tmp_path, secret, headers, tampered).items():
        assert rc == 1 and text.startswith("rejected"), f"{name} accepted a tampered body: {text}"

    wrong_id = {**headers, "webhook-id": headers["webhook-id"] + "x"}
    for name, (rc, text) in run_examples(tmp_path, secret, wrong_id, req.body).items():
        assert rc == 1, f"{name} accepted a changed webhook-id: {text}"

    stale = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 600)}
    for name, (rc, text) in run_examples(tmp_path, secret, stale, req.body).items():
        assert rc == 1, f"{name} accepted a timestamp 10 minutes old: {text}"

    other_secret = hookline.create_webhook("http://127.0.0.1:65000/other", ["order.created"])["secret"]
    for name, (rc, text) in run_examples(tmp_path, other_secret, headers, req.body).items():
        assert rc == 1, f"{name} accepted another webhook's secret: {text}"
