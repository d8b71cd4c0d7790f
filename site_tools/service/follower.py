"""The service follows ``main``: its checkout, the town's settings loaded from it, and what ``/health`` says.

:class:`Follower` syncs the checkout (:mod:`.checkout`) on every publish and every ``SITE_TOOLS_FETCH_EVERY``
seconds as a fallback (its :meth:`Follower.run` loop is supervised like the service's others). After a sync that
moved, ``mkdocs.yml`` is loaded again and handed to the service's parts (``on_config``), then the parts that plan
ahead are told (``on_moved``: the clock, the site refresh).

A ``mkdocs.yml`` that does not load at the new head is kept out: the checkout goes back to the last commit that
worked (its settings, answers and bulletins agree with each other, and a restart loads them again), the log says
why, ``/health`` warns with the commit and the problem, and that head is not tried again until ``main`` moves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from site_tools.content.config import TownConfig, load_config
from site_tools.content.problems import InvalidContent
from site_tools.delivery.clock import SYSTEM_CLOCK, Clock
from site_tools.service.checkout import Checkout, CheckoutError, DirtyCheckout, Synced

log = logging.getLogger("site_tools.service")

#: The last successful fetch older than this many intervals is a problem for ``/health``.
STALE_INTERVALS = 5


def utc(moment: float | None) -> str | None:
    """A moment for /health: ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds") if moment is not None else None


@dataclass
class Health:
    """A part's contribution to ``/health``: problems (503), warnings (200, said), and figures."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Broken:
    commit: str
    problem: str


class Follower:
    def __init__(
        self,
        checkout: Checkout,
        config: TownConfig,
        every: float = 120.0,
        on_config: list[Callable[[TownConfig], None]] | None = None,
        on_moved: list[Callable[[Synced], Awaitable[None]]] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.checkout = checkout
        self.config = config
        self.config_path: Path = config.path
        self.every = every
        self.on_config = on_config if on_config is not None else []
        self.on_moved = on_moved if on_moved is not None else []
        self.clock = clock
        self.refused: str | None = None  # the checkout has local changes: not updated
        self.failed: str | None = None  # the last fetch's error (a problem only once fetches are stale)
        self.broken: Broken | None = None  # a head whose mkdocs.yml does not load
        self.serving: str | None = None  # the commit whose settings the service has (what /health reports)
        self.serving_since: float | None = None  # that commit's date
        self.started_at = clock.time()
        self.wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._deferred: Synced | None = None  # a move whose hooks wait for the pinned block to end
        self._after: asyncio.Task[None] | None = None

    async def sync(self, want: str | None = None) -> Synced:
        """Fetch and check out ``main``'s head (``want`` fetched too); reload the settings if it moved.

        Raises :class:`~.checkout.CheckoutError` (and :class:`~.checkout.DirtyCheckout`) as the checkout does.
        """
        async with self._lock:
            return await self._sync(want)

    @asynccontextmanager
    async def pinned(self, want: str | None = None) -> AsyncIterator[Synced]:
        """Sync, then keep the checkout where it is until the block ends: a publish reads one commit throughout,
        the fallback fetch waits for it. What follows a move (the clock's planning: a read of every bulletin)
        runs once the block is over: the publish's first message does not wait for it."""
        async with self._lock:
            synced = await self._sync(want, later=True)
            try:
                if want is not None and synced.commit != want and not await self.checkout.holds(want):
                    raise CheckoutError(self._not_served(want))
                yield synced
            finally:
                if self._deferred is not None:
                    moved, self._deferred = self._deferred, None
                    self._after = asyncio.create_task(self._after_moved(moved))

    def _not_served(self, want: str) -> str:
        """Why the checkout does not hold the commit a publish asked for (a publish of it would publish nothing)."""
        if self.broken is not None:
            return (
                f"il mkdocs.yml del commit {self.broken.commit[:12]} non si carica ({self.broken.problem}): il servizio "
                f"resta al commit precedente e non pubblica {want[:12]}. Correggi il mkdocs.yml con un nuovo commit: "
                "quel push pubblica anche questo."
            )
        return (
            f"il commit {want[:12]} non è (più) su main: forse un force-push l'ha tolto. Non viene pubblicato; "
            "ciò che è su main è pubblicato dal push che ce l'ha portato."
        )

    async def _fetch(self, want: str | None) -> str:
        try:
            head = await self.checkout.fetch(want)
        except CheckoutError as exc:
            self.failed = str(exc)
            log.warning("main not fetched: %s", exc)
            raise
        self.failed = None
        return head

    async def _sync(self, want: str | None, later: bool = False) -> Synced:
        looking = asyncio.create_task(self.checkout.changes())  # while the fetch runs: both wait on git
        try:
            head = await self._fetch(want)
        except BaseException:
            await asyncio.gather(looking, return_exceptions=True)
            raise
        changed = await looking
        try:
            if self.broken is not None and head == self.broken.commit and self.checkout.commit is not None:
                return await self.checkout.switch(self.checkout.commit)  # still broken: stay where it works
            synced = await self.checkout.switch(head, changed)
        except DirtyCheckout as exc:
            self.refused = str(exc)
            log.error("checkout refused: %s", exc)
            raise
        except CheckoutError as exc:
            log.warning("checkout not updated: %s", exc)
            raise
        self.refused = None
        if not synced.moved:
            self.serving, self.serving_since = synced.commit, synced.committed_at
            return synced
        log.info("checkout: %s → %s (main)", (synced.previous or "nothing")[:12], synced.commit[:12])
        return await self._moved(synced, later)

    async def _moved(self, synced: Synced, later: bool = False) -> Synced:
        try:
            config = await asyncio.to_thread(load_config, self.config_path)
        except InvalidContent as exc:
            first = exc.problems[0].format().splitlines()[0] if exc.problems else str(exc)
            log.error("mkdocs.yml at %s does not load (%s): keeping %s", synced.commit[:12], first, synced.previous)
            if synced.previous is None:
                self.broken = Broken(synced.commit, first)
                raise CheckoutError(f"mkdocs.yml at {synced.commit[:12]} does not load: {first}") from exc
            kept = await self.checkout.switch(synced.previous)
            self.broken = Broken(synced.commit, first)  # said once the checkout is back where it works
            return Synced(kept.commit, synced.previous, kept.committed_at, kept.fetched_at)
        self.broken = None
        self.config = config
        for hook in self.on_config:
            hook(config)
        self.serving, self.serving_since = synced.commit, synced.committed_at
        if later:
            self._deferred = synced
        else:
            await self._after_moved(synced)
        return synced

    async def _after_moved(self, synced: Synced) -> None:
        for after in self.on_moved:
            try:
                await after(synced)
            except Exception:  # noqa: BLE001 - planning again is the clock's business: it retries, the sync stands
                log.exception("after the checkout moved to %s", synced.commit[:12])

    async def run(self) -> None:
        """The fallback: fetch every ``every`` seconds (or when woken), whatever happened to the last one."""
        try:
            if self.serving is None:
                self.serving, self.serving_since = await self.checkout.look(), self.checkout.committed_at
        except CheckoutError as exc:
            log.warning("the checkout cannot be read: %s", exc)
        while True:
            try:
                if self._lock.locked():  # a publish has pinned the tree: fetch only, check out next round
                    await self._fetch(None)
                else:
                    await self.sync()
            except CheckoutError:
                pass  # said in the log and, when it lasts, in /health
            self.wake.clear()
            sleeper = asyncio.ensure_future(self.clock.sleep(self.every))
            waker = asyncio.ensure_future(self.wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()

    def health(self) -> Health:
        now = self.clock.time()
        c = self.checkout
        report = Health(
            details={
                "commit": self.serving,
                "commit_at": utc(self.serving_since),
                "commit_age_seconds": round(now - self.serving_since) if self.serving_since is not None else None,
                "fetched_at": utc(c.fetched_at),
                "fetched_age_seconds": round(now - c.fetched_at) if c.fetched_at is not None else None,
                "fetch_stale_after_seconds": STALE_INTERVALS * self.every,
                "fetch_error": self.failed,
            }
        )
        if self.refused:
            report.problems.append(f"checkout refused: {self.refused}")
        last = c.fetched_at if c.fetched_at is not None else self.started_at
        if now - last > STALE_INTERVALS * self.every:
            since = (
                "no fetch has succeeded" if c.fetched_at is None else f"last successful fetch {now - last:.0f} s ago"
            )
            report.problems.append(
                f"checkout not following main: {since}" + (f" ({self.failed})" if self.failed else "")
            )
        if self.broken:
            report.warnings.append(
                f"mkdocs.yml at commit {self.broken.commit[:12]} does not load ({self.broken.problem}): "
                f"serving {(self.serving or '?')[:12]} with the settings that work"
            )
        return report
