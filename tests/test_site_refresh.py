"""The site rebuilt when what it shows changes with time: one request to GitHub per change, over real HTTP to the
simulator's dispatch endpoint; a missing or refused token said, never a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from site_tools.content.loading import load_content
from site_tools.service.schedule import Agenda
from site_tools.service.site_refresh import Dispatcher, SiteRefresh, fingerprint, repository_of
from site_tools.settings import Settings
from site_tools.store import Store

from .conftest import Town, good
from .services import SimThread, simulator

#: 10:00 in Valfiorita on Christmas Eve (09:00 UTC): the scheduled bulletin appears.
APPEARS = datetime(2026, 12, 24, 9, 0, tzinfo=UTC).timestamp()
TOKEN = "sim-github-dispatch-token"


@pytest.fixture
def sim() -> Iterator[SimThread]:
    with simulator("--latency", "0") as running:
        yield running


def dispatches(sim: SimThread) -> list[dict[str, Any]]:
    return httpx.get(f"{sim.url}/_sim/dispatches").json()


def agenda_of(town: Town) -> Agenda:
    town.write("natale.md", good("2026-12-24-auguri").replace("2026-11-20 08:30", "2026-12-24 10:00"))
    town.write("oggi.md", good("2026-11-20-oggi") + "expires: 2026-12-31 00:00\n")
    return Agenda.of(load_content(town.config, check_bodies=False).bulletins)


def refresher(town: Town, agenda: Agenda, url: str, settings: Settings | None) -> SiteRefresh:
    store = Store.open(url)

    async def work(fn: Any) -> Any:
        return fn(store)

    dispatcher = Dispatcher(settings, "comune-valfiorita/avvisi") if settings else None

    async def read() -> Agenda:
        return agenda

    return SiteRefresh(read, work, dispatcher)


def settings_for(sim: SimThread, token: str | None = TOKEN) -> Settings:
    env = {"GITHUB_API_URL": sim.url}
    if token:
        env["SITE_TOOLS_GITHUB_DISPATCH_TOKEN"] = token
    return Settings.from_env(env)


def test_one_rebuild_per_change_whichever_replica_sees_it(town: Town, sqlite_url: str, sim: SimThread) -> None:
    agenda = agenda_of(town)
    Store.open(sqlite_url).close()
    one, two = (refresher(town, agenda, sqlite_url, settings_for(sim)) for _ in range(2))

    assert asyncio.run(one(APPEARS - 3600))  # the first start: the state is new
    assert [(d["repository"], d["workflow"], d["ref"]) for d in dispatches(sim)] == [
        ("comune-valfiorita/avvisi", "site.yml", "main")
    ]
    assert asyncio.run(two(APPEARS - 1800))  # nothing changed since
    assert len(dispatches(sim)) == 1

    assert asyncio.run(two(APPEARS + 1))  # the scheduled bulletin appears
    assert asyncio.run(one(APPEARS + 2))  # the other replica woke for the same minute
    assert len(dispatches(sim)) == 2
    assert (one.dispatched, two.dispatched) == (1, 1)


def test_a_push_is_built_by_its_own_workflow(town: Town, sqlite_url: str, sim: SimThread) -> None:
    agenda = agenda_of(town)
    Store.open(sqlite_url).close()
    refresh = refresher(town, agenda, sqlite_url, settings_for(sim))
    asyncio.run(refresh.built_by_push(APPEARS - 60))
    assert asyncio.run(refresh(APPEARS - 30))
    assert dispatches(sim) == []


def test_a_failed_request_is_tried_again(town: Town, sqlite_url: str, sim: SimThread) -> None:
    agenda = agenda_of(town)
    Store.open(sqlite_url).close()
    refresh = refresher(town, agenda, sqlite_url, settings_for(sim))
    sim.configure(github_dispatch_status=502)
    assert asyncio.run(refresh(APPEARS + 1)) is False  # the timer tries again
    sim.configure(github_dispatch_status=None)
    assert asyncio.run(refresh(APPEARS + 6)) is True
    assert len(dispatches(sim)) == 1 and refresh.health().warnings == []
    assert asyncio.run(refresh(APPEARS + 60)) and len(dispatches(sim)) == 1


@pytest.mark.parametrize("token, said", [(None, "SITE_TOOLS_GITHUB_DISPATCH_TOKEN is not set"), ("sbagliato", "401")])
def test_a_missing_or_refused_token_is_said(
    town: Town, sqlite_url: str, sim: SimThread, token: str | None, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    agenda = agenda_of(town)
    Store.open(sqlite_url).close()
    refresh = refresher(town, agenda, sqlite_url, settings_for(sim, token))
    assert asyncio.run(refresh(APPEARS + 1)) is True  # not a failure of the service
    assert dispatches(sim) == []
    (warning,) = refresh.health().warnings
    assert said in warning and "site rebuild not asked" in warning
    assert any(said in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    assert "sbagliato" not in caplog.text and "sbagliato" not in warning


def test_the_fingerprint_changes_with_what_the_site_shows(town: Town) -> None:
    agenda = agenda_of(town)
    rome = town.config.timezone

    def at(*moment: int) -> str:
        return fingerprint(agenda.bulletins, datetime(*moment, tzinfo=rome).timestamp())

    before = at(2026, 12, 24, 9, 59)
    assert before == at(2026, 12, 24, 9, 0)
    appeared, expired = at(2026, 12, 24, 10, 0), at(2026, 12, 31, 0, 0)
    assert len({before, appeared, expired}) == 3


@pytest.mark.parametrize(
    "url, repository",
    [
        ("https://github.com/comune-valfiorita/avvisi.git", "comune-valfiorita/avvisi"),
        ("git@github.com:comune-valfiorita/avvisi.git", "comune-valfiorita/avvisi"),
        ("https://github.com/comune-valfiorita/avvisi", "comune-valfiorita/avvisi"),
        ("/srv/avvisi.git", None),
    ],
)
def test_the_repository_is_read_from_its_address(url: str, repository: str | None) -> None:
    assert repository_of(url) == repository


def test_the_store_remembers_what_was_asked(town: Town, sqlite_url: str, sim: SimThread) -> None:
    agenda = agenda_of(town)
    Store.open(sqlite_url).close()
    asyncio.run(refresher(town, agenda, sqlite_url, settings_for(sim))(APPEARS + 1))
    restarted = refresher(town, agenda, sqlite_url, settings_for(sim))
    assert asyncio.run(restarted(APPEARS + 120))
    assert len(dispatches(sim)) == 1
    with closing(Store.open(sqlite_url)) as store:
        assert store.state.get("site.dispatched") == store.state.get("site.fingerprint")
