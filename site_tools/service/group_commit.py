"""Group commit for the webhook: events stored together, each acknowledged only once it is durable.

Each webhook POST must be stored (committed) before Meta gets its 200. One
commit per request on one connection caps the webhook at the database's commit
rate (a few hundred a second on PostgreSQL with a busy disk, while a send's
receipts arrive at thousands a second). Here a request hands its event to
:class:`GroupCommit` and waits: whatever arrived while the previous commit was
under way is written in the next transaction, and every request in it is
answered when that transaction commits (or fails, with its error: the request
then answers 503 or 500 exactly as before). No added wait when requests come
one at a time; a commit's cost shared when they crowd in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from site_tools.store import Store

T = TypeVar("T")
Run = Callable[[Callable[[Store], T]], Awaitable[T]]

#: Events per transaction at most.
GROUP = 500


class GroupCommit:
    def __init__(self, run: Run[None]):
        self.run = run
        self.waiting: list[tuple[str, str, asyncio.Future[None]]] = []
        self.flushing: asyncio.Task[None] | None = None

    async def add(self, body: str, kind: str) -> None:
        """Return once the event is committed; raise what storing it raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((body, kind, future))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        while self.waiting:
            group, self.waiting = self.waiting[:GROUP], self.waiting[GROUP:]
            rows = [(body, kind) for body, kind, _ in group]
            try:
                await self.run(partial(_store, rows=rows))
            except BaseException as exc:  # noqa: BLE001 - each request handles its own failure
                for _, _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for _, _, future in group:
                if not future.done():
                    future.set_result(None)


def _store(store: Store, rows: list[tuple[str, str]]) -> None:
    if len(rows) == 1:  # requests one at a time: one statement, its own commit
        store.inbox.add(rows[0][0], None, rows[0][1])
        return
    with store.db.transaction():
        store.inbox.add_many(rows)
