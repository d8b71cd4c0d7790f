"""Always current: the checkout that follows ``main``, the clock and the site refresh, put together for the service.

:meth:`Current.create` builds them from the town's settings and the environment (``None`` when the service has
no repository to follow: the demo, a checkout kept by hand). The service then

* runs :meth:`Current.loops` under its supervisor (``checkout``, ``clock``, ``site``);
* publishes inside ``async with current.pinned(sha) as synced:`` (``main`` fetched with the pushed commit, checked
  out, the settings reloaded; the checkout does not move until the block ends) and calls :meth:`Current.published`
  after it (the clock plans again from the ledger);
* adds :meth:`Current.health` to ``/health``;
* gets every new ``mkdocs.yml`` through its ``reload`` hook.

The agenda (what is due when) is read on a thread of its own, with a store connection of its own: a slow read
of 10,000 bulletins never holds the webhook's events back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from site_tools.content.config import TownConfig
from site_tools.delivery.clock import SYSTEM_CLOCK, Clock
from site_tools.service.checkout import Checkout, Synced
from site_tools.service.follower import Follower, Health, utc
from site_tools.service.schedule import RESUME_AFTER, Agenda, Enqueue, Ticks, Timer, load_agenda
from site_tools.service.site_refresh import Dispatcher, SiteRefresh, repository_of
from site_tools.settings import Settings
from site_tools.store import Store

log = logging.getLogger("site_tools.service")
T = TypeVar("T")


def remote_for(config: TownConfig, settings: Settings) -> str | None:
    """Where to fetch from: ``SITE_TOOLS_REPOSITORY_URL``, else GitHub's address of the repository the server
    trusts (``SITE_TOOLS_REPOSITORY``; over SSH when a deploy key is set: a private repository). Never the one
    ``mkdocs.yml`` names: that file comes from the checkout this follows, and a commit must not redirect it."""
    return trusted_remote(settings)


def trusted_remote(settings: Settings) -> str | None:
    """:func:`remote_for` from the server's settings alone (a first start has no ``mkdocs.yml`` yet)."""
    if settings.repository_url:
        return settings.repository_url
    repository = settings.trusted_repository
    if not repository:
        return None
    return f"git@github.com:{repository}.git" if settings.deploy_key else f"https://github.com/{repository}.git"


class Current:
    def __init__(
        self,
        checkout: Checkout,
        config: TownConfig,
        settings: Settings,
        store_factory: Callable[[], Store],
        reload: Callable[[TownConfig], None],
        enqueue: Enqueue | None,
        dispatcher: Dispatcher | None,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.store_factory = store_factory
        self.clock = clock
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="current")
        self._store: Store | None = None
        self.agenda = Agenda()
        self._agenda_for: tuple[str | None, int] | None = None
        self._generation = 0
        self._agenda_lock = asyncio.Lock()
        self.follower = Follower(
            checkout, config, settings.fetch_every, on_config=[reload], on_moved=[self._moved], clock=clock
        )
        self.ticks = Ticks(enqueue) if enqueue is not None else None
        self.clock_timer = Timer("clock", self._sends, self.ticks, clock=clock) if self.ticks is not None else None
        self.refresh = SiteRefresh(self._fresh_agenda, self.work, dispatcher)
        self.site_timer = Timer("site", self._site_changes, self.refresh, clock=clock)

    @classmethod
    def create(
        cls,
        config: TownConfig,
        settings: Settings,
        store_factory: Callable[[], Store],
        reload: Callable[[TownConfig], None],
        enqueue: Enqueue | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Current | None:
        remote = remote_for(config, settings)
        if remote is None:
            log.info("no repository to follow (SITE_TOOLS_REPOSITORY_URL, extra.town.service): the checkout stays")
            return None
        checkout = Checkout(config.root, remote, deploy_key=settings.deploy_key, clock=clock)
        repository = settings.trusted_repository or settings.github_repository or repository_of(remote)
        dispatcher = Dispatcher(settings, repository, settings.http_timeout) if repository else None
        return cls(checkout, config, settings, store_factory, reload, enqueue, dispatcher, clock)

    # -- the store, on a thread of its own ------------------------------------------------------------------
    def _own_store(self) -> Store:
        if self._store is None:
            self._store = self.store_factory()
        return self._store

    async def work(self, fn: Callable[[Store], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: fn(self._own_store()))

    def close(self) -> None:
        self._pool.submit(lambda: self._store.close() if self._store else None).result()
        self._pool.shutdown(wait=True)

    # -- what the service calls -------------------------------------------------------------------------------
    def loops(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        loops: list[tuple[str, Callable[[], Awaitable[None]]]] = [("checkout", self.follower.run)]
        if self.clock_timer is not None:
            loops.append(("clock", self.clock_timer.run))
        loops.append(("site", self.site_timer.run))
        return loops

    async def sync(self, want: str | None = None) -> Synced:
        """Before a publish: ``main`` fetched (and the pushed commit), checked out, the settings reloaded."""
        return await self.follower.sync(want)

    def pinned(self, want: str | None = None) -> AbstractAsyncContextManager[Synced]:
        """``async with current.pinned(sha) as synced:`` publish — the checkout does not move meanwhile."""
        return self.follower.pinned(want)

    def published(self) -> None:
        """After a publish: the ledger changed (sends done, some left waiting): plan again."""
        if self.clock_timer is not None:
            self.clock_timer.recompute()

    def health(self) -> Health:
        report = self.follower.health()
        site = self.refresh.health()
        report.warnings += site.warnings
        report.details.update(site.details)
        timer = self.clock_timer
        report.details["next_scheduled"] = utc(timer.next_due) if timer is not None else None
        report.details["clock"] = "running" if timer is not None else "off: no job queue wired"
        return report

    # -- planning ----------------------------------------------------------------------------------------------
    async def _moved(self, synced: Synced) -> None:
        self._generation += 1
        await self._fresh_agenda()
        await self.refresh.built_by_push(self.clock.time())
        if self.clock_timer is not None:
            self.clock_timer.recompute()
        self.site_timer.recompute()

    async def _fresh_agenda(self) -> Agenda:
        async with self._agenda_lock:
            key = (self.follower.checkout.commit, self._generation)
            if self._agenda_for != key:
                config = self.follower.config
                self.agenda = await self.work(lambda store: load_agenda(config, store))
                self._agenda_for = key
            return self.agenda

    async def _sends(self, after: float) -> list[float]:
        agenda = await self._fresh_agenda()
        # The ledger's waiting sends change with every publish: read again (one short query).
        agenda.resumes = await self.work(lambda store: store.state.resumes(RESUME_AFTER))
        return agenda.sends(after)

    async def _site_changes(self, after: float) -> list[float]:
        return (await self._fresh_agenda()).site_changes(after)
