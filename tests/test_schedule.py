"""The service's clock: each scheduled bulletin asks for one publish at its minute, from the checkout's content.

Time is a clock the test moves; the bulletins are real files parsed through the store's cache; the «jobs table»
two replicas share is a unique key in a real store (what the jobs table guarantees: one row per key).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from site_tools.service.schedule import Agenda, Ticks, Timer, load_agenda, tick_key
from site_tools.store import Store

from .conftest import Town, good

#: 10:00 in Valfiorita on Christmas Eve is 09:00 UTC (winter time).
DUE = datetime(2026, 12, 24, 9, 0, tzinfo=UTC).timestamp()


class MovedClock:
    """The time is what the test says; ``sleep`` returns once the test has moved the time past its end."""

    def __init__(self, t: float):
        self.t = t

    def time(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        until = self.t + seconds
        while self.t < until:
            await asyncio.sleep(0.002)


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.005)


async def settle() -> None:
    """Let the loops run for a moment (they are waiting on the clock: nothing should happen)."""
    await asyncio.sleep(0.1)


def scheduled_town(town: Town) -> Town:
    town.write("natale.md", good("2026-12-24-auguri").replace("2026-11-20 08:30", "2026-12-24 10:00"))
    town.write("bozza.md", good("2026-12-24-bozza").replace("2026-11-20 08:30", "2026-12-24 11:00") + "draft: true\n")
    town.write("passato.md", good("2026-11-20-passato"))
    return town


def plan_from(town: Town, url: str) -> Callable[[float], Awaitable[list[float]]]:
    config = town.config

    async def plan(after: float) -> list[float]:
        with closing(Store.open(url)) as store:
            return load_agenda(config, store).sends(after)

    return plan


def test_one_key_at_the_bulletins_minute_and_none_before(town: Town, sqlite_url: str) -> None:
    scheduled_town(town)
    asked: list[str] = []

    async def enqueue(key: str, args: dict[str, Any]) -> bool:
        assert args == {"since": None, "adopt": False}
        asked.append(key)
        return True

    async def scenario() -> None:
        clock = MovedClock(DUE - 150)
        timer = Timer("clock", plan_from(town, sqlite_url), Ticks(enqueue), clock=clock)
        task = asyncio.create_task(timer.run())
        await until(lambda: timer.next_due is not None)
        assert asked == ["tick:2026-12-24T08:57"]  # on start: whatever came due while no service ran
        assert timer.next_due == DUE  # the draft at 11:00 is not a send
        for t in (DUE - 60, DUE - 1, DUE + 0.5):
            clock.t = t
            await settle()
            assert asked == ["tick:2026-12-24T08:57"], t
        clock.t = DUE + 1.5
        await until(lambda: len(asked) == 2)
        assert asked[1] == "tick:2026-12-24T09:00" == tick_key(DUE)
        clock.t = DUE + 3600
        await settle()
        assert len(asked) == 2 and timer.next_due is None
        task.cancel()

    asyncio.run(scenario())


def test_two_replicas_ask_for_the_same_key_and_it_goes_out_once(town: Town, sqlite_url: str) -> None:
    scheduled_town(town)
    Store.open(sqlite_url).close()
    created: list[str] = []
    asked: list[str] = []

    def replica() -> Callable[[str, dict[str, Any]], Awaitable[bool]]:
        store = Store.open(sqlite_url)  # a replica's own connection to the shared store

        async def enqueue(key: str, args: dict[str, Any]) -> bool:
            asked.append(key)
            new = store.state.swap(f"job:{key}", json.dumps(args))  # one row per key, as the jobs table
            if new:
                created.append(key)
            return new

        return enqueue

    async def scenario() -> None:
        clock = MovedClock(DUE - 30)
        timers = [Timer(f"clock {n}", plan_from(town, sqlite_url), Ticks(replica()), clock=clock) for n in (1, 2)]
        tasks = [asyncio.create_task(t.run()) for t in timers]
        await until(lambda: all(t.next_due == DUE for t in timers))
        clock.t = DUE + 2
        await until(lambda: asked.count("tick:2026-12-24T09:00") == 2)
        await settle()
        for task in tasks:
            task.cancel()

    asyncio.run(scenario())
    assert asked.count("tick:2026-12-24T09:00") == 2  # both clocks woke for it
    assert created == ["tick:2026-12-24T08:59", "tick:2026-12-24T09:00"]  # one job each


def test_a_new_bulletin_is_planned_when_asked_to_recompute() -> None:
    moments: list[float] = []
    acted: list[float] = []

    async def plan(after: float) -> list[float]:
        return [t for t in moments if t > after]

    async def act(now: float) -> bool:
        acted.append(now)
        return True

    async def scenario() -> None:
        clock = MovedClock(DUE - 3600)
        timer = Timer("clock", plan, act, clock=clock)
        task = asyncio.create_task(timer.run())
        await until(lambda: len(acted) == 1)  # the start
        await settle()
        moments.append(DUE - 1800)  # a push brought a bulletin for half an hour from now
        timer.recompute()
        await until(lambda: timer.next_due == DUE - 1800)
        clock.t = DUE - 1800 + 1.5
        await until(lambda: len(acted) == 2)
        task.cancel()

    asyncio.run(scenario())


def test_a_failed_enqueue_is_tried_again() -> None:
    calls: list[str] = []

    async def enqueue(key: str, args: dict[str, Any]) -> bool:
        calls.append(key)
        if len(calls) == 2:
            raise ConnectionError("the store is away")
        return True

    async def plan(after: float) -> list[float]:
        return [t for t in [DUE] if t > after]

    async def scenario() -> None:
        clock = MovedClock(DUE - 10)
        timer = Timer("clock", plan, Ticks(enqueue), clock=clock)
        task = asyncio.create_task(timer.run())
        await until(lambda: timer.next_due == DUE)
        clock.t = DUE + 1.5
        await until(lambda: len(calls) == 2)
        assert timer.failures == 1
        clock.t = DUE + 7  # the retry, 5 s later: the same minute
        await until(lambda: len(calls) == 3)
        assert calls[1:] == ["tick:2026-12-24T09:00"] * 2 and timer.failures == 0
        task.cancel()

    asyncio.run(scenario())


def test_a_plan_that_cannot_be_read_is_read_again() -> None:
    from site_tools.store.database import StoreUnavailable

    reads: list[float] = []
    acted: list[str] = []

    async def plan(after: float) -> list[float]:
        reads.append(after)
        if len(reads) == 1:  # the first plan, after the start's tick: the store is away for a moment
            raise StoreUnavailable("the database does not answer")
        return [t for t in [DUE] if t > after]

    async def act(now: float) -> bool:
        acted.append(tick_key(now))
        return True

    async def scenario() -> None:
        clock = MovedClock(DUE - 60)
        timer = Timer("clock", plan, act, clock=clock)
        task = asyncio.create_task(timer.run())
        await until(lambda: len(reads) == 1)
        await settle()
        assert timer.next_due is None and not task.done()  # the loop waits, it does not die
        clock.t = DUE - 50
        await until(lambda: timer.next_due == DUE)
        clock.t = DUE + 2
        await until(lambda: acted[-1] == "tick:2026-12-24T09:00")
        task.cancel()

    asyncio.run(scenario())


def test_the_agenda_knows_sends_and_site_changes(town: Town) -> None:
    town.write(
        "evento.md",
        good("2026-12-20-evento").replace("2026-11-20 08:30", "2026-12-20 08:00")
        + "expires: 2026-12-23 00:00\nevent:\n  start: 2026-12-22 18:00\n  end: 2026-12-22 20:00\n",
    )
    from site_tools.content.loading import load_content

    agenda = Agenda.of(load_content(town.config, check_bodies=False).bulletins, resumes=[DUE])
    rome = {
        "date": datetime(2026, 12, 20, 7, 0, tzinfo=UTC).timestamp(),
        "event_end": datetime(2026, 12, 22, 19, 0, tzinfo=UTC).timestamp(),
        "expires": datetime(2026, 12, 22, 23, 0, tzinfo=UTC).timestamp(),
    }
    assert agenda.site_changes(0) == [rome["date"], rome["event_end"], rome["expires"]]
    assert agenda.sends(0) == [rome["date"], DUE]
    assert agenda.sends(rome["date"]) == [DUE]


def test_sends_left_waiting_or_paused_are_planned(store_url: str) -> None:
    with closing(Store.open(store_url)) as store:
        db = store.db
        rows = [
            ("a", "whatsapp_list", "waiting", 1000.0),  # 131049: some citizens again in 24 hours
            ("b", "whatsapp_list", "paused", 2000.0),  # a limit: tried again after a pause
            ("c", "whatsapp_list", "done", 3000.0),
        ]
        for bulletin, channel, state, finished in rows:
            db.execute(
                "INSERT INTO publications (bulletin_id, channel, state, started_at, finished_at) VALUES (?, ?, ?, ?, ?)",
                (bulletin, channel, state, finished - 10, finished),
            )
        for n, (bulletin, due) in enumerate([("a", 90_000.0), ("a", 80_000.0), ("c", 5.0)]):
            db.execute(
                "INSERT INTO deliveries (bulletin_id, channel, subscriber_id, state, next_attempt_at, updated_at)"
                " VALUES (?, 'whatsapp_list', ?, 'retry', ?, 0)",
                (bulletin, n, due),
            )
        assert sorted(store.state.resumes(600)) == [2600.0, 80_000.0]


def test_the_state_table_lets_one_caller_act_on_a_change(store_url: str) -> None:
    with closing(Store.open(store_url)) as one, closing(Store.open(store_url)) as two:
        assert one.state.swap("site.fingerprint", "x") is True
        assert two.state.swap("site.fingerprint", "x") is False
        assert two.state.swap("site.fingerprint", "y") is True
        assert one.state.get("site.fingerprint") == "y" and one.state.get("nothing") is None
        one.state.put_many({"a": "1", "b": "2"})
        one.state.put("a", "3")
        assert (two.state.get("a"), two.state.get("b")) == ("3", "2")


@pytest.mark.parametrize("moment, key", [(DUE + 59.9, "tick:2026-12-24T09:00"), (DUE + 60, "tick:2026-12-24T09:01")])
def test_a_ticks_key_is_its_utc_minute(moment: float, key: str) -> None:
    assert tick_key(moment) == key


@pytest.mark.slow
def test_a_pushed_bulletin_goes_out_at_its_minute_and_the_site_follows(tmp_path: Path, sqlite_url: str) -> None:
    """The service's parts together: the checkout follows a bare remote, a push brings a bulletin for 10:00, the
    clock asks for its publish at 10:00 and the site is rebuilt then (the push itself is built by its workflow)."""
    from site_tools.content.config import load_config
    from site_tools.service.current import Current
    from site_tools.settings import Settings

    from .services import simulator
    from .test_checkout import Remote

    remote = Remote(tmp_path)
    served = remote.clone(tmp_path / "served")
    Store.open(sqlite_url).close()
    asked: list[str] = []

    async def enqueue(key: str, args: dict[str, Any]) -> bool:
        asked.append(key)
        return True

    with simulator("--latency", "0") as sim:
        settings = Settings.from_env(
            {
                "SITE_TOOLS_REPOSITORY_URL": str(remote.bare),
                "GITHUB_REPOSITORY": "comune-valfiorita/avvisi",
                "GITHUB_API_URL": sim.url,
                "SITE_TOOLS_GITHUB_DISPATCH_TOKEN": "sim-github-dispatch-token",
            }
        )

        def dispatched() -> int:
            return len(httpx.get(f"{sim.url}/_sim/dispatches").json())

        async def scenario() -> None:
            clock = MovedClock(DUE - 600)
            config = load_config(served / "mkdocs.yml")
            current = Current.create(config, settings, lambda: Store.open(sqlite_url), lambda c: None, enqueue, clock)
            assert current is not None and current.clock_timer is not None
            tasks = [asyncio.create_task(run()) for _, run in current.loops()]
            try:
                await until(lambda: asked == ["tick:2026-12-24T08:50"])  # the start
                await asyncio.to_thread(lambda: until_sync(lambda: dispatched() == 1))  # first start: a new state
                remote.editor.write(
                    "natale.md", good("2026-12-24-auguri").replace("2026-11-20 08:30", "2026-12-24 10:00")
                )
                remote.push("Gli auguri di Natale, alle 10")
                async with current.pinned() as synced:  # as a publish on push does
                    assert synced.moved
                await until(lambda: current.clock_timer is not None and current.clock_timer.next_due == DUE)
                assert current.health().details["next_scheduled"] == "2026-12-24T09:00:00+00:00"
                clock.t = DUE - 1
                await settle()
                assert asked == ["tick:2026-12-24T08:50"] and dispatched() == 1  # the push: built by its workflow
                clock.t = DUE + 2
                await until(lambda: asked == ["tick:2026-12-24T08:50", "tick:2026-12-24T09:00"])
                await asyncio.to_thread(lambda: until_sync(lambda: dispatched() == 2))
                assert current.health().problems == [] and current.health().warnings == []
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                current.close()

            # A restart a minute later: the start's tick, and no rebuild (the site shows what it showed).
            clock.t = DUE + 120
            again = Current.create(config, settings, lambda: Store.open(sqlite_url), lambda c: None, enqueue, clock)
            assert again is not None
            tasks = [asyncio.create_task(run()) for _, run in again.loops()]
            try:
                await until(lambda: asked[-1] == "tick:2026-12-24T09:02" and again.site_timer.failures == 0)
                await until(lambda: again.site_timer.next_due is None and not again.site_timer._stale)
                await settle()
                assert dispatched() == 2
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                again.close()

        asyncio.run(scenario())


def until_sync(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    from .services import wait_for

    wait_for(predicate, timeout=timeout)
