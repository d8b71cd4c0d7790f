"""Two replicas of the service on one PostgreSQL: one dies mid-send, the other carries the publish on."""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from site_tools.delivery.fanout import FanOutOptions
from site_tools.store import Store

from .conftest import Town
from .services import phones, simulator_process, start_service, wait_for
from .test_parse_cache import git
from .test_publisher import URGENT, add, adopt, counts, subscribe

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

RATE, SUBSCRIBERS = 150, 1500


def test_a_replica_killed_mid_send_is_carried_on_by_the_other(demo_town: Town, pg_url: str, tmp_path: Path) -> None:
    with simulator_process("--latency", "0.1", "--mps", str(RATE)) as sim:
        numbers = phones(SUBSCRIBERS)
        subscribe(pg_url, numbers)
        adopt(demo_town, pg_url, sim)
        add(demo_town, URGENT, "allerta-rossa")
        git(demo_town.root, "init", "-q", ".")
        git(demo_town.root, "add", "-A")
        git(demo_town.root, "commit", "-qm", "allerta")
        other = tmp_path / "replica-2"
        subprocess.run(["git", "clone", "-q", str(demo_town.root), str(other)], check=True)
        env = {
            **os.environ,
            **sim.env(),
            "WHATSAPP_CHANNEL_GATEWAY_URL": sim.url,
            "WHATSAPP_CHANNEL_GATEWAY_TOKEN": "sim-gateway-token",
            "WHATSAPP_CHANNEL_ID": "120363000000000000@newsletter",
            "WHATSAPP_APP_SECRET": "app-secret",
            "WHATSAPP_VERIFY_TOKEN": "verify",
            "WHATSAPP_MPS": str(RATE),
            "SITE_TOOLS_DB": pg_url,
            "SITE_TOOLS_NOW": "2026-11-23 12:00",
            "SITE_TOOLS_JOB_LEASE": "2",
        }
        replicas = dict([start_service(demo_town.root, env), start_service(other, env)])
        try:
            with closing(Store.open(pg_url)) as store:
                job_id, _ = store.jobs.enqueue("push", "push:1:42:1", {"sha": "a" * 40, "before": None})
                wait_for(lambda: sim.stats().get("accepted", 0) >= SUBSCRIBERS // 3, timeout=60)
                owner = store.jobs.get(job_id).owner  # type: ignore[union-attr]
                running = next(p for p in replicas if f"-{p.pid}-" in str(owner))
                running.send_signal(signal.SIGKILL)
                running.wait()
                accepted_at_kill = sim.stats()["accepted"]
                wait_for(lambda: store.jobs.get(job_id).finished, timeout=180)  # type: ignore[union-attr]
                job = store.jobs.get(job_id)
            assert job is not None and job.state == "done" and job.attempts == 2 and job.owner != owner
            got = counts(sim, "allerta-rossa")
            assert set(got) == set(numbers)  # every recipient reached
            duplicates = sum(n - 1 for n in got.values())
            bound = FanOutOptions(rate=RATE).duplicate_bound()
            print(f"killed at {accepted_at_kill}/{SUBSCRIBERS}; duplicates {duplicates} (bound {bound})")
            assert duplicates <= bound
            posted = sim.messages()
            assert len(posted["telegram"]) == 1  # one-post channels: never twice
            assert len([p for p in posted["gateway"] if "Allerta rossa" in p["body"]]) == 1
        finally:
            for proc in replicas:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
