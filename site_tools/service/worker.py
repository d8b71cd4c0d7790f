"""The event worker: every stored webhook event applied once, none lost.

* An event is processed on its own (and each message or status inside it on
  its own, see :func:`~site_tools.service.events.process_event`).
* A transient failure (the database dropped, is locked, lost a race) leaves
  the event where it is, retried with a growing pause; the loop itself waits
  and goes on, however long the database is away.
* A permanent one (not Meta's shape, an item that cannot be applied) parks
  the event with its reason: ``site-tools webhook-events`` lists them.
* Receipts that came before their send was recorded are matched again for
  :data:`RECEIPT_GRACE` seconds, inbound ids are pruned after the town's
  retention period.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from site_tools.content.config import TownConfig
from site_tools.phones import mask_all
from site_tools.service.events import process_event, rematch_receipts
from site_tools.store import Store
from site_tools.store.database import StoreUnavailable

log = logging.getLogger("site_tools.service")
T = TypeVar("T")

#: A receipt for a send the ledger does not know yet is kept and matched again this long.
RECEIPT_GRACE = 15 * 60.0
#: After this many transient failures an event is parked (a person looks at it).
MAX_EVENT_ATTEMPTS = 50

Work = Callable[[Callable[[Store], T]], Awaitable[T]]


@dataclass
class Counters:
    processed: int = 0
    retried: int = 0
    parked: int = 0
    foreign: int = 0
    unsubscribed_in_request: int = 0
    last_ok: float = 0.0  # time.time() of the last successful pass over the inbox


class EventWorker:
    def __init__(
        self, config: TownConfig, number_id: str | None, work: Work[Any], counters: Counters, retention_days: int = 30
    ):
        self.config = config
        self.number_id = number_id
        self.work = work
        self.counters = counters
        self.retention_days = retention_days
        self.wake = asyncio.Event()
        self.housekeeping_every = 5.0  # seconds between re-matching held receipts and pruning inbound ids
        self._housekept = 0.0

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                busy = await self.pass_once()
                failures = 0
            except StoreUnavailable as exc:
                failures += 1
                log.warning("the store is unavailable (%s): retrying in %.1f s", exc, min(30.0, 0.5 * 2**failures))
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            if not busy:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=min(0.5, self.housekeeping_every))
                except TimeoutError:
                    pass

    async def pass_once(self) -> bool:
        """Process what is due; True if there was something."""
        events = await self.work(lambda store: store.inbox.new(200))
        for event in events:
            await self._one(event.id, event.body, event.attempts)
        self.counters.last_ok = time.time()
        if time.monotonic() - self._housekept > self.housekeeping_every:
            await self._housekeeping()
            self._housekept = time.monotonic()
        return bool(events)

    async def _one(self, event_id: int, body: str, attempts: int) -> None:
        try:
            outcome = await self.work(lambda store: process_event(store, self.config, body, number_id=self.number_id))
        except StoreUnavailable as exc:
            self.counters.retried += 1
            if attempts + 1 >= MAX_EVENT_ATTEMPTS:
                await self._park(event_id, f"troppi tentativi, l'ultimo: {exc}")
                return
            delay, error = min(60.0, 0.5 * 2**attempts), str(exc)[:300]
            await self.work(lambda store: store.inbox.retry_later(event_id, error, delay))
            return
        except ValueError as exc:
            await self._park(event_id, str(exc))
            return
        self.counters.foreign += outcome.foreign
        if outcome.errors:
            # The good items were applied; keep the event, with what failed, for a person (requeue is harmless).
            await self._park(event_id, "; ".join(outcome.errors)[:1000])
            return
        await self.work(lambda store: store.inbox.done(event_id))
        self.counters.processed += 1

    async def _park(self, event_id: int, reason: str) -> None:
        reason = mask_all(reason)
        await self.work(lambda store: store.inbox.park(event_id, reason))
        self.counters.parked += 1
        log.warning("event %s parked: %s", event_id, reason)

    async def _housekeeping(self) -> None:
        counter = bool(self.config.counter)
        matched, dropped = await self.work(lambda store: rematch_receipts(store, counter, RECEIPT_GRACE))
        if dropped:
            log.warning("%d receipts matched no send in %.0f minutes: dropped", dropped, RECEIPT_GRACE / 60)
        cutoff = time.time() - self.retention_days * 86400
        await self.work(lambda store: store.inbox.prune_inbound(cutoff))
        if matched:
            log.info("%d held receipts matched their send", matched)
