"""The event worker: every stored webhook event applied once, none lost.

* Citizens first: events that carry a citizen's message (keywords, the
  counter) are taken before any event that carries only statuses, and each is
  processed on its own (each message or status inside it on its own, see
  :func:`~site_tools.service.events.process_event`).
* Receipts in batches: up to :data:`RECEIPT_BATCH` status-only events are
  applied in one transaction (:mod:`~site_tools.service.receipts`). If the
  batch fails for a reason other than the store, its events are processed one
  by one, so that only the bad one is parked.
* A transient failure (the database dropped, is locked, lost a race) leaves
  the event (or the batch) where it is, retried with a growing pause; the loop
  itself waits and goes on, however long the database is away.
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
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from site_tools.content.config import TownConfig
from site_tools.phones import mask_all
from site_tools.service.events import process_event, rematch_receipts
from site_tools.service.receipts import apply_receipt_events
from site_tools.store import Store
from site_tools.store.database import StoreUnavailable, store_bug
from site_tools.store.inbox import MESSAGE, STATUS, StoredEvent

log = logging.getLogger("site_tools.service")
T = TypeVar("T")

#: A receipt for a send the ledger does not know yet is kept and matched again this long.
RECEIPT_GRACE = 15 * 60.0
#: After this many transient failures an event is parked (a person looks at it).
MAX_EVENT_ATTEMPTS = 50

Work = Callable[[Callable[[Store], T]], Awaitable[T]]


#: Citizens' events (keywords, the counter) taken per pass, applied one by one before any receipt.
MESSAGE_BATCH = 200
#: Status-only events applied per transaction.
RECEIPT_BATCH = 2000
#: Bytes of events per batch: Meta (and the simulator) may put hundreds of statuses in one event.
RECEIPT_BYTES = 2_000_000
#: A batch that failed this many times for the store's sake is then applied one event at a time.
BATCH_ATTEMPTS = 3
#: Seconds over which /health's applied-events rate is measured.
RATE_WINDOW = 10.0


@dataclass
class Counters:
    processed: int = 0
    retried: int = 0
    parked: int = 0
    foreign: int = 0
    unsubscribed_in_request: int = 0
    last_ok: float = 0.0  # time.time() of the last successful pass over the inbox
    recent: deque[tuple[float, int]] = field(default_factory=deque)  # (time.monotonic(), events applied)

    def applied(self, n: int) -> None:
        self.processed += n
        now = time.monotonic()
        self.recent.append((now, n))
        while self.recent and self.recent[0][0] < now - RATE_WINDOW:
            self.recent.popleft()

    def rate(self) -> float:
        """Events applied per second over the last :data:`RATE_WINDOW` seconds."""
        now = time.monotonic()
        return sum(n for at, n in list(self.recent) if at >= now - RATE_WINDOW) / RATE_WINDOW


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
        self.receipt_batch = RECEIPT_BATCH
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
        """Process what is due, citizens' messages first, then a batch of receipts; True if there was something."""
        messages = await self.work(lambda store: store.inbox.new(MESSAGE_BATCH, None, MESSAGE))
        for event in messages:
            await self._one(event.id, event.body, event.attempts)
        receipts = _up_to(await self.work(lambda store: store.inbox.new(self.receipt_batch, None, STATUS)))
        if receipts:
            await self._batch(receipts)
        self.counters.last_ok = time.time()
        if time.monotonic() - self._housekept > self.housekeeping_every:
            await self._housekeeping()
            self._housekept = time.monotonic()
        return bool(messages or receipts)

    async def _batch(self, events: list[StoredEvent]) -> None:
        """Status-only events in one transaction; one by one if the batch fails for a reason other than the store."""
        counter = bool(self.config.counter)
        if min(e.attempts for e in events) >= BATCH_ATTEMPTS:
            # Failed together that often: one by one from now on (each then counts towards MAX_EVENT_ATTEMPTS).
            for event in events:
                await self._one(event.id, event.body, event.attempts)
            return
        try:
            report = await self.work(lambda store: apply_receipt_events(store, events, self.number_id, counter))
        except StoreUnavailable as exc:
            self.counters.retried += len(events)
            attempts = min(e.attempts for e in events)
            delay, error = min(60.0, 0.5 * 2**attempts), str(exc)[:300]
            log.warning("a batch of %d receipts waits %.1f s: %s", len(events), delay, exc)
            await self.work(lambda store: store.inbox.retry_many([e.id for e in events], error, delay))
            return
        except Exception as exc:
            if store_bug(exc):
                raise
            log.warning("a batch of %d receipts failed (%s): one by one", len(events), mask_all(str(exc))[:200])
            for event in events:
                await self._one(event.id, event.body, event.attempts)
            return
        for event_id, reason in report.parked:
            self.counters.parked += 1
            log.warning("event %s parked: %s", event_id, mask_all(reason))
        self.counters.foreign += report.outcome.foreign
        self.counters.applied(len(report.done))
        for event in report.single:
            await self._one(event.id, event.body, event.attempts)

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
        self.counters.applied(1)

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


def _up_to(events: list[StoredEvent], limit: int = RECEIPT_BYTES) -> list[StoredEvent]:
    """The oldest events whose bodies add up to ``limit`` bytes (at least one): the rest wait for the next pass,
    after any message that arrives meanwhile."""
    size = 0
    for i, event in enumerate(events):
        size += len(event.body)
        if size > limit and i:
            return events[:i]
    return events
