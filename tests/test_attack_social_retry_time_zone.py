"""Bluesky's login limit tells the editor when the channel can try again: at the town's time, not the server's.

The service usually runs in UTC (a container); «si riprova dopo le 11:05» read in Italy must be Italy's 11:05."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from site_tools.aio import run_loop
from site_tools.channels.bluesky import Account

from .conftest import Town
from .services import simulator
from .test_publisher import URGENT, add, publish
from .test_social_channels import ONLY_BLUESKY, Memory, first_run, social_town


@pytest.fixture
def server_in_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_time_to_retry_a_bluesky_login_is_the_towns(town: Town, sqlite_url: str, server_in_utc: None) -> None:
    social_town(town, ONLY_BLUESKY)
    rome = town.config.timezone

    async def login_afresh(url: str) -> None:
        account = Account(url, "valfiorita.bsky.social", "sim-bluesky-app-password", Memory())
        try:
            await account.login()
        finally:
            await account.close()

    with simulator("--latency", "0") as sim:
        first_run(town, sqlite_url, sim)
        start = datetime.now(UTC)
        for _ in range(30):  # the account's 30 logins in 5 minutes, used up elsewhere
            run_loop(login_afresh(sim.url))
        add(town, URGENT, "allerta-rossa")
        plan, report = publish(town, sqlite_url, sim)
        (result,) = [r for r in report.results if r.channel == "bluesky"]
        assert result.state == "failed"
        shown = re.search(r"si riprova dopo le (\d\d:\d\d)", result.detail or "")
        assert shown, result.detail
        # The window resets within 5 minutes of the first login: one of these minutes at the town's clock.
        minutes = {f"{(start + timedelta(seconds=s)).astimezone(rome):%H:%M}" for s in range(0, 7 * 60, 30)}
        assert shown.group(1) in minutes, (shown.group(1), sorted(minutes))
