"""The README's first command: `scripts/stack up` on a stack of its own brings up Kafka,
PostgreSQL, the gateway, two dispatchers, a table-events worker and the demo receiver,
creates the demo tenant, webhook and table source, and delivers a demo event at once: it must never print its 'not seen by the
receiver' warning (before the read-your-writes fence a newcomer's demo event could be
dead-lettered as 'unknown tenant'). A row inserted into the demo table with the command
it prints reaches the receiver as orders.created."""

from __future__ import annotations

import os
import subprocess
import time
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
        # The table-events demo: the command `up` prints inserts a row into the demo table,
        # and the receiver gets orders.created (docs/table-events.md).
        insert = next(line.split("table events:", 1)[1].strip() for line in out.splitlines()
                      if "table events:" in line)
        log = stack_dir / "logs" / "receiver.log"
        before = log.read_text()
        r = subprocess.run(insert, shell=True, env=env, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        deadline = time.monotonic() + 10
        while "orders.created" not in log.read_text()[len(before):]:
            assert time.monotonic() < deadline, f"no orders.created at the receiver:\n{log.read_text()}"
            time.sleep(0.2)
        assert '"customer":"ada"' in log.read_text()[len(before):].replace(" ", "")
    finally:
        subprocess.run([str(REPO / "scripts/stack"), "down", "--purge"], env=env,
                       capture_output=True, timeout=120)
