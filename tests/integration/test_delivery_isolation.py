"""A slow endpoint must not delay deliveries to healthy ones."""

from __future__ import annotations

import threading
import time

FAST = {"HOOKLINE_RETRY_TIERS_MS": "200,1000,3000", "HOOKLINE_SHUTDOWN_TIMEOUT_MS": "2000"}


def test_hanging_endpoint_does_not_push_healthy_p99_above_1s(hookline, make_receiver):
    hookline.kill_dispatcher(0, sig=15)
    hookline.start_dispatcher(**FAST)
    release = threading.Event()

    def hang(req):
        release.wait(20)
        return 200

    slow = make_receiver(responder=hang)
    healthy = make_receiver()
    hookline.create_webhook(slow.url, ["order.created"])
    hookline.create_webhook(healthy.url, ["order.created"])
    hookline.settle()
    try:
        posted: dict[str, float] = {}
        n = 200
        for i in range(n):
            t0 = time.time()
            eid = hookline.post_event("order.created", {"i": i})
            posted[eid] = t0
            time.sleep(0.03)  # ~30 events/s for ~7 s: bounded on a shared 2-core box
        reqs = healthy.wait_for(n, timeout=30)
        lat = sorted(r.arrived_wall - posted[r.json()["id"]] for r in reqs if r.json()["id"] in posted)
        p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]
        print(f"healthy webhook latency with a hanging one: p50 {p50 * 1000:.0f} ms, "
              f"p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms; slow got {len(slow.snapshot())}")
        assert p99 < 1.0, f"p99 {p99:.3f} s"
    finally:
        release.set()
