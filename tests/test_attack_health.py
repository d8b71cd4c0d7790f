"""Attack (reliability): /health says 503 «no replica is running it» while the one replica is busy publishing.

A town has one replica. A long publish (10,000 subscribers at 80 messages/s: two minutes) is running under a fresh
lease; a second push arrives meanwhile and waits its turn. After 60 s the waiting job makes /health answer 503
«a publish job has waited more than 60 s: no replica is running it» — a lie: the runner is alive and working. A
load balancer or a container health check acting on it kills the replica mid-publish.
"""

from __future__ import annotations

import time
from pathlib import Path

from site_tools.service.health import STALE_JOBS
from site_tools.service.health import store_figures as _store_health
from site_tools.store import Store


def test_attack_health_fails_while_the_only_replica_is_busy(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        now = time.time()
        store.jobs.enqueue("push", "push:1:100:1", {"sha": "a" * 40}, at=now - 90)
        running = store.jobs.claim("replica-1", lease=30.0)  # the long publish, its lease renewed as it goes
        assert running is not None and running.state == "running"
        store.jobs.enqueue("push", "push:1:101:1", {"sha": "b" * 40}, at=now - STALE_JOBS - 5)  # the next push
        details = _store_health(store)
        assert details["oldest_waiting_job_seconds"] <= STALE_JOBS, details["oldest_waiting_job_seconds"]
    finally:
        store.close()
