"""The counter inside the subscriptions service: its store connections, its app, its background loops.

The service mounts :meth:`Counter.app` at ``/sportello`` and runs
:meth:`Counter.loops` beside its own; everything else stays in this package.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from site_tools.content.config import TownConfig
from site_tools.service.counter.library import Library
from site_tools.service.counter.media import media_loop
from site_tools.settings import Settings
from site_tools.store import Store
from site_tools.store.database import store_bug

log = logging.getLogger("site_tools.counter")
T = TypeVar("T")
#: How often answers and bulletins are re-read and old conversations purged.
HOUSEKEEPING_EVERY = 600.0


def purge_expired(store: Store, config: TownConfig, now: float | None = None) -> tuple[int, int]:
    """Delete conversation messages and media older than the town's retention period."""
    assert config.counter is not None
    cutoff = (now or time.time()) - config.counter.retention_days * 86400
    return store.conversations.purge_before(cutoff)


class Counter:
    def __init__(self, config: TownConfig, settings: Settings, store_factory: Callable[[], Store], threads: int = 4):
        assert config.counter is not None
        self.config = config
        self.settings = settings
        self.store_factory = store_factory
        self.library = Library(config)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="counter")
        self._local = threading.local()
        self._stores: list[Store] = []
        self._lock = threading.Lock()

    def _store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = self.store_factory()
            with self._lock:
                self._stores.append(store)
        return store

    async def run(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn(store)`` on one of the counter's threads, each with its own connection."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: fn(self._store()))

    def loop_factories(self) -> list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]]:
        """The counter's background loops, as (name, start) for the service's supervisor."""
        return [("media", lambda: media_loop(self.settings, self.run)), ("counter", self.housekeeping_loop)]

    async def housekeeping_loop(self) -> None:
        while True:
            try:
                await self.housekeeping()
            except Exception as exc:  # noqa: BLE001 - try again at the next round; the log says why
                if store_bug(exc):
                    raise  # a bug in the SQL: the supervisor stops the service and says so
                log.exception("counter housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_EVERY)

    async def refresh(self) -> None:
        """The canned answers and the bulletin suggestions, read again (through the store's parse cache)."""
        await self.run(lambda store: self.library.refresh(store.parsed))

    async def housekeeping(self) -> None:
        await self.refresh()
        messages, conversations = await self.run(lambda store: purge_expired(store, self.config))
        if messages or conversations:
            log.info("retention: %s messages and %s conversations deleted", messages, conversations)
        await self.run(lambda store: store.staff.housekeeping())

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            for store in self._stores:
                store.close()
            self._stores.clear()
