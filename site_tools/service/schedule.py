"""The service's own clock: each scheduled bulletin goes out at its minute, from ``main``'s head.

:class:`Agenda` is what the clock knows of the future, read from the checkout and the store: the dates of the
bulletins not published yet (their parses come from the store's cache: cheap), the moments the site changes by
itself (a bulletin appears, expires, its event ends), the sends left waiting or paused in the ledger and the
weekly digest's moment (``extra.town.digest``: the tick's publish run sends it, once).

:class:`Timer` is the loop: it sleeps until the next moment due, then acts; it plans again when asked
(:meth:`Timer.recompute`: after every sync that moved and every publish). On start it acts once for the current
minute: what came due while no service ran goes out then.

:class:`Ticks` is the action of the publishing clock: ``enqueue("tick:<minute>", {"since": None, "adopt": False})``.
The minute is UTC (``tick:2026-12-07T15:05``), so that the hour repeated when summer time ends is two minutes, not
one. The jobs table makes a key unique across replicas: two clocks that wake for the same bulletin ask for the
same key, and the bulletin goes out once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.content.loading import load_content
from site_tools.delivery.clock import SYSTEM_CLOCK, Clock
from site_tools.phones import mask_all
from site_tools.render.digest import next_week
from site_tools.store import Store
from site_tools.store.database import store_bug

log = logging.getLogger("site_tools.service")

#: A tick is asked this long after its minute: a replica whose clock runs a little ahead must not publish a
#: second early, find nothing due and take the minute's key.
MARGIN = 1.0
#: A send stopped by a limit (paused) or by a run's deadline is tried again this long after that run.
RESUME_AFTER = 600.0
#: The loop wakes at least this often (a moment planned hours ahead is checked against the clock again).
MAX_SLEEP = 300.0

Enqueue = Callable[[str, dict[str, Any]], Awaitable[bool]]


class Dated(NamedTuple):
    """What the clock and the site refresh need of a bulletin (not a draft): its moments, in epoch seconds."""

    id: str
    date: float
    expires: float | None
    event_end: float | None
    urgent: bool

    @classmethod
    def of(cls, b: Bulletin) -> Dated:
        return cls(
            b.id,
            b.date.timestamp(),
            b.expires.timestamp() if b.expires is not None else None,
            b.event.finish.timestamp() if b.event is not None else None,
            b.urgent,
        )


@dataclass
class Agenda:
    """The bulletins of the checkout (as of the last sync: their moments only, not their text) and the sends the
    ledger waits to resume."""

    bulletins: list[Dated] = field(default_factory=list)
    resumes: list[float] = field(default_factory=list)
    #: When the next weekly digests are due (``extra.town.digest``): the clock wakes for them too.
    digests: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, bulletins: list[Bulletin], resumes: list[float] | None = None) -> Agenda:
        return cls([Dated.of(b) for b in bulletins if not b.draft], list(resumes or []))

    def sends(self, after: float) -> list[float]:
        """When scheduled bulletins come due (their date, later than ``after``), and sends may resume."""
        return sorted(t for t in [b.date for b in self.bulletins] + self.resumes + self.digests if t > after)

    def site_changes(self, after: float) -> list[float]:
        """When what the site shows changes by itself: a bulletin appears, expires, its event ends, a weekly
        digest's page appears (the message links to it)."""
        moments = [t for b in self.bulletins for t in (b.date, b.expires, b.event_end) if t is not None]
        return sorted(t for t in moments + self.digests if t > after)


def load_agenda(config: TownConfig, store: Store) -> Agenda:
    """Read the agenda (on a thread with its own store): bulletins parsed before come from the parse cache."""
    content = load_content(config, check_bodies=False, cache=store.parsed)
    store.parsed.flush()  # the service's store stays open: write the new parses now, not at close
    agenda = Agenda.of(content.bulletins, store.state.resumes(RESUME_AFTER))
    agenda.digests = digest_moments(config, datetime.now(config.timezone))
    return agenda


def digest_moments(config: TownConfig, now: datetime) -> list[float]:
    """The next two moments a weekly digest is due (none without ``extra.town.digest``)."""
    if config.digest is None or config.whatsapp is None:
        return []
    first = next_week(now, config, config.digest)
    second = next_week(first.send_at, config, config.digest)
    return [first.send_at.timestamp(), second.send_at.timestamp()]


def minute(moment: float) -> float:
    return math.floor(moment / 60) * 60


def tick_key(moment: float) -> str:
    return "tick:" + datetime.fromtimestamp(minute(moment), UTC).strftime("%Y-%m-%dT%H:%M")


class Timer:
    """Sleep until the next moment ``plan(after)`` returns (each rounded up to its whole minute), then
    ``act(now)``. True from ``act`` means done; False (or an exception) that it is tried again after ``retry``
    seconds, doubling up to ten minutes."""

    def __init__(
        self,
        name: str,
        plan: Callable[[float], Awaitable[list[float]]],
        act: Callable[[float], Awaitable[bool]],
        clock: Clock = SYSTEM_CLOCK,
        margin: float = MARGIN,
        retry: float = 5.0,
    ):
        self.name = name
        self.plan = plan
        self.act = act
        self.clock = clock
        self.margin = margin
        self.retry = retry
        self.moments: list[float] = []
        self.done_until = 0.0  # moments up to this one have been acted upon
        self.failures = 0
        self.plan_failures = 0
        self._stale = True
        self._wake = asyncio.Event()

    def recompute(self) -> None:
        """Plan again before the next wait (the checkout moved, a publish ended)."""
        self._stale = True
        self._wake.set()

    @property
    def next_due(self) -> float | None:
        """The next moment planned, not acted upon yet."""
        return next((t for t in self.moments if t > self.done_until), None)

    async def run(self) -> None:
        self.done_until = self.clock.time() - self.margin
        await self._attempt(self.clock.time())  # what came due while no service ran
        while True:
            if self.failures:
                await self._sleep(min(600.0, self.retry * 2 ** (self.failures - 1)))
                await self._attempt(self.clock.time())
                continue
            if self._stale and not await self._replan():
                continue
            now, due = self.clock.time(), self.next_due
            if due is not None and due + self.margin <= now:
                await self._attempt(now)
                continue
            await self._sleep(MAX_SLEEP if due is None else min(MAX_SLEEP, due + self.margin - now))

    async def _replan(self) -> bool:
        """Read the moments again; False (after a pause) when that failed: the store away, tried again."""
        try:
            moments = await self.plan(self.done_until)
        except Exception as exc:
            if store_bug(exc):
                raise  # a bug, not an outage: the supervisor stops the service and says so
            self.plan_failures += 1
            log.warning("%s: cannot plan (%s): trying again", self.name, mask_all(f"{type(exc).__name__}: {exc}"))
            await self._sleep(min(600.0, self.retry * 2 ** (self.plan_failures - 1)))
            return False
        self.plan_failures, self._stale = 0, False
        self.moments = sorted({math.ceil(t / 60) * 60 for t in moments})
        return True

    async def _attempt(self, now: float) -> None:
        try:
            ok = await self.act(now)
        except Exception as exc:
            if store_bug(exc):
                raise
            log.exception("%s: acting at %s failed", self.name, tick_key(now))  # tried again after a pause
            ok = False
        if ok:
            self.failures = 0
            self.done_until = max(now - self.margin, self.done_until)
            self._stale = True  # what was due is asked for: plan again
        else:
            self.failures += 1

    async def _sleep(self, seconds: float) -> None:
        if self._wake.is_set():
            self._wake.clear()
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(max(0.0, seconds)))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
            self._wake.clear()


class Ticks:
    """The publishing clock's action: one job per minute something is due, the same key on every replica."""

    def __init__(self, enqueue: Enqueue):
        self.enqueue = enqueue
        self.asked: deque[str] = deque(maxlen=100)  # the last keys this replica enqueued first

    async def __call__(self, now: float) -> bool:
        key = tick_key(now)
        created = await self.enqueue(key, {"since": None, "adopt": False})
        if created:
            self.asked.append(key)
            log.info("clock: publish asked for %s", key)
        return True
