"""The README's first command: `scripts/stack up` on a stack of its own brings up Kafka,
PostgreSQL, the gateway, two dispatchers and the demo receiver, creates the demo tenant and
webhook, and delivers a demo event at once: it must never print its 'not seen by the
receiver' warning (before the read-your-writes fence a newcomer's demo event could be
dead-lettered as 'unknown tenant')."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def test_stack_up_delivers_the_demo_event_without_a_warning(tmp_path: Path):
    # Inside the repository like scripts/test's own stack: PostgreSQL runs as another user
    # (root cannot), who must reach the directory, and /tmp cleaners must not touch it.
    stack_dir = REPO / f".stack-up-test-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(HOOKLINE_STACK_DIR=str(stack_dir), HOOKLINE_HTTP_PORT=str(free_port()),
               HOOKLINE_RECEIVER_PORT=str(free_port()),
               HOOKLINE_BUILD_DIR=str(Path(os.environ.get("HOOKLINE_BUILD_DIR", REPO / "build"))))
    try:
        r = subprocess.run([str(REPO / "scripts/stack"), "up"], env=env, capture_output=True,
                           text=True, timeout=300, stdin=subprocess.DEVNULL)
        out = r.stdout + r.stderr
        print(out)
        assert r.returncode == 0, out
        assert "warning" not in out, out
        assert "delivered" in out and "standard-signature=valid" in out, out
    finally:
        subprocess.run([str(REPO / "scripts/stack"), "down", "--purge"], env=env,
                       capture_output=True, timeout=120)
