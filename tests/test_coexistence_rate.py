"""A number in coexistence (also in the WhatsApp Business app) sends at most 20 messages a second, whatever
WHATSAPP_MPS says: a publish and an opt-in burst (whose confirmations are replies) together stay under it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from site_tools.content.limits import WHATSAPP_SHARED_APP_MPS
from site_tools.delivery.pacer import Pacer
from site_tools.service.app import Service as App
from site_tools.settings import Settings
from site_tools.store import Store

from .conftest import Town
from .services import phones, simulator
from .test_publisher import NORMAL, add, adopt, subscribe
from .test_subscriptions import SECRET, VERIFY, Service, inbound

#: Connected tomorrow (the town's day): every message of the history the tests make (up to now) predates it.
COEXISTENCE = (
    '      off: "OFF"\n      coexistence:\n'
    f"        since: {(datetime.now(ZoneInfo('Europe/Rome')) + timedelta(days=1)).date()}\n"
)


def in_coexistence(town: Town) -> Town:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    assert '      off: "OFF"\n' in text
    path.write_text(text.replace('      off: "OFF"\n', COEXISTENCE, 1), encoding="utf-8")
    return town


def test_the_rate_is_the_shared_apps_whatever_whatsapp_mps_says(town: Town) -> None:
    assert town.config.whatsapp_rate(80.0) == 80.0  # a number in the Cloud API alone: its own tier
    config = in_coexistence(town).config
    assert config.whatsapp_rate(80.0) == WHATSAPP_SHARED_APP_MPS == 20
    assert config.whatsapp_rate(10.0) == 10.0  # a lower setting still holds


@contextmanager
def service_of(town: Town, url: str, sim: Any) -> Iterator[Service]:
    settings = Settings.from_env({**sim.env(), "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY})
    app = App(town.config, settings, lambda: Store.open(url))
    app.worker.housekeeping_every = 0.2
    Store.open(url).close()
    with TestClient(app.app()) as client:
        yield Service(client, url, sim)


@pytest.mark.e2e
def test_a_publish_and_an_opt_in_burst_stay_under_20_per_second(demo_town: Town, sqlite_url: str) -> None:
    town, url = in_coexistence(demo_town), sqlite_url
    with simulator("--latency", "0.05", "--mps", str(WHATSAPP_SHARED_APP_MPS)) as sim:
        sim.configure(burst=WHATSAPP_SHARED_APP_MPS)  # one second of bucket: see test_shared_rate.py
        subscribe(url, phones(400))
        adopt(town, url, sim)
        add(town, NORMAL.replace("[servizi]", "[viabilita]"), "strada-chiusa")
        env = {**os.environ, **sim.env(), "SITE_TOOLS_DB": url, "SITE_TOOLS_NOW": "2026-11-23 12:00"}
        env.pop("WHATSAPP_MPS", None)  # the default (80/s): coexistence alone brings it down to 20
        with service_of(town, url, sim) as service:
            publisher = subprocess.Popen(
                [sys.executable, "-m", "site_tools", "publish", "--no-progress", "--channel", "whatsapp_list"],
                cwd=town.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            for i, phone in enumerate(phones(60, 5000)):  # citizens sending ON while the bulletin goes out
                assert service.post(inbound(phone, "VALFIORITA ON", f"wamid.coex{i}")).status_code == 200
            out, err = publisher.communicate(timeout=180)
            assert publisher.returncode == 0, err
            service.drained()
        sent = sorted(sim.messages()["whatsapp"], key=lambda m: m["t"])
        stats = sim.stats()
    assert {m["to"] for m in sent if m["callback"] == "strada-chiusa"} >= set(phones(400))
    assert sum(1 for m in sent if m["type"] == "text") == 60  # every confirmation
    assert stats.get("throttled", 0) == 0, stats  # never over 20/s: no 130429
    times = [m["t"] for m in sent]
    achieved = (len(times) - 1) / (times[-1] - times[0])
    print(f"{len(times)} messages, combined {achieved:.1f}/s in coexistence")
    assert achieved <= WHATSAPP_SHARED_APP_MPS * 1.02


def test_a_reload_that_sets_coexistence_slows_the_replies_at_once(town: Town, sqlite_url: str) -> None:
    """The service follows main: mkdocs.yml gaining ``coexistence`` brings the running reply sender to 20/s."""
    settings = Settings(whatsapp_mps=80.0, app_secret="s", verify_token="v")
    app = App(town.config, settings, lambda: Store.open(sqlite_url))
    assert app.replies.rate == 80.0
    app.replies._pacer = pacer = Pacer(80.0)  # as ReplySender.run sets it
    app.reload(in_coexistence(town).config)
    assert app.replies.rate == pacer.target == pacer.rate == WHATSAPP_SHARED_APP_MPS
