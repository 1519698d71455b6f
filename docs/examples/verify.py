#!/usr/bin/env python3
"""Verifies a Hookline delivery with nothing but the standard library (docs/receiving.md).

    python3 verify.py <whsec_secret> <headers.json> <body-file>

headers.json holds the request's headers as a JSON object; exit status 0 when the delivery
verifies, 1 (with the reason) when it does not.
"""
import base64
import hashlib
import hmac
import json
import sys
import time

TOLERANCE_S = 5 * 60


def verify(secret: str, headers: dict, body: bytes, now: float | None = None) -> None:
    """Raises ValueError unless the Standard Webhooks signature verifies. body: raw bytes."""
    h = {k.lower(): v for k, v in headers.items()}
    msg_id, ts, sigs = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not (msg_id and ts and sigs):
        raise ValueError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not ts.isdigit() or abs((now or time.time()) - int(ts)) > TOLERANCE_S:
        raise ValueError("webhook-timestamp is not within 5 minutes of now")
    if not secret.startswith("whsec_"):
        raise ValueError("the secret must start with whsec_")
    key = base64.b64decode(secret[len("whsec_"):])  # the key is the DECODED bytes
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for entry in sigs.split(" "):  # several entries while a secret is being rotated
        version, _, sig = entry.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected):
            return
    raise ValueError("no webhook-signature entry matches")


def verify_legacy(secret: str, header: str, body: bytes) -> None:
    """The legacy mode: X-Webhook-Signature (or the webhook's legacy_header) = sha256=<hex>."""
    key = base64.b64decode(secret[len("whsec_"):])
    expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(header.encode(), expected.encode()):
        raise ValueError("legacy signature does not match")


if __name__ == "__main__":
    secret, headers_file, body_file = sys.argv[1:4]
    with open(headers_file) as f:
        headers = json.load(f)
    with open(body_file, "rb") as f:
        body = f.read()
    try:
        verify(secret, headers, body)
        legacy = {k.lower(): v for k, v in headers.items()}.get("x-webhook-signature")
        if legacy is not None:
            verify_legacy(secret, legacy, body)
    except ValueError as e:
        print(f"rejected: {e}")
        sys.exit(1)
    print("ok")
