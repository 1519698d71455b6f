"""Small helpers shared by the integration tests."""

from __future__ import annotations

import time
from typing import Any, Callable


def wait_for(fn: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Polls fn every 200 ms until it returns something truthy, and returns that; fails the
    test with the last value after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
