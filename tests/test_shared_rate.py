"""One number, several senders: two publisher processes and an opt-in burst against the simulator's cap.

Invariant 10: together they stay under the number's throughput (no 130429 caused by ourselves), urgent
first. How close together they come to the cap is a benchmark figure (bench/fanout.py --senders 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from .conftest import Town
from .services import phones, simulator
from .test_publisher import NORMAL, URGENT, add, adopt, subscribe
from .test_service_faults import running
from .test_subscriptions import inbound

pytestmark = pytest.mark.e2e  # publishers as processes, side by side

CAP = 100


def test_two_publishers_and_an_opt_in_burst_share_the_number(demo_town: Town, sqlite_url: str) -> None:
    url = sqlite_url
    with simulator("--latency", "0.05", "--mps", str(CAP)) as sim:
        # The simulator's bucket holds one second: arrivals bunched by a busy machine (the simulator's own
        # event loop starved for a moment, then reading a backlog at once: half a second was not enough on a
        # 2-core machine running four processes) are not a sender over the cap. A sender really over it still
        # is: two publishers pacing themselves alone, as before the shared budget, sent twice the cap for the
        # whole run and got hundreds of 130429; and the combined rate is asserted below.
        sim.configure(burst=CAP)
        subscribe(url, phones(350))
        adopt(demo_town, url, sim)
        add(demo_town, URGENT, "allerta-rossa")
        add(demo_town, NORMAL.replace("[servizi]", "[viabilita]"), "strada-chiusa")
        env = {**os.environ, **sim.env(), "SITE_TOOLS_DB": url, "SITE_TOOLS_NOW": "2026-11-23 12:00",
               "WHATSAPP_MPS": str(CAP)}  # fmt: skip
        base = [sys.executable, "-m", "site_tools", "publish", "--no-progress", "--channel", "whatsapp_list"]
        with running(url, sim, WHATSAPP_MPS=str(CAP)) as (service, _):
            publishers = [
                subprocess.Popen(
                    [*base, "--only", bulletin],
                    cwd=demo_town.root,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )  # fmt: skip
                for bulletin in ("strada-chiusa", "allerta-rossa")
            ]
            newcomers = phones(120, 5000)
            for i, phone in enumerate(newcomers):  # a poster campaign while both publishers run
                assert service.post(inbound(phone, "VALFIORITA ON", f"wamid.burst{i}")).status_code == 200
            for proc in publishers:
                out, err = proc.communicate(timeout=120)
                assert proc.returncode == 0, err
            service.drained()
        sent: list[dict[str, Any]] = sorted(sim.messages()["whatsapp"], key=lambda m: m["t"])
        stats = sim.stats()
    pairs = Counter((m["to"], m["callback"]) for m in sent if m["callback"])
    assert max(pairs.values()) == 1  # once each
    for bulletin in ("allerta-rossa", "strada-chiusa"):  # every subscriber (newcomers who joined in time too)
        assert {to for to, b in pairs if b == bulletin} >= set(phones(350))
    assert sum(1 for m in sent if m["type"] == "text") == 120  # every confirmation
    assert stats.get("throttled", 0) == 0, stats  # never over the cap
    assert stats.get("duplicates", 0) == 0
    times = [m["t"] for m in sent]
    achieved = (len(times) - 1) / (times[-1] - times[0])
    print(f"{len(times)} messages, combined {achieved:.1f}/s against a cap of {CAP}/s")  # the goal: bench/fanout.py
    assert achieved <= CAP * 1.02
    urgent = [m["t"] for m in sent if m["callback"] == "allerta-rossa"]
    normal_during_urgent = [m for m in sent if m["callback"] == "strada-chiusa" and urgent[0] < m["t"] < urgent[-1]]
    print(f"normal bulletin messages sent while the urgent one was going out: {len(normal_during_urgent)}")
    assert len(normal_during_urgent) <= 0.05 * 350  # urgent first: the normal bulletin waited
