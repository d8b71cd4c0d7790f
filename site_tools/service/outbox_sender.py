"""Replies to citizens leave through the outbox, at the number's shared rate, after urgent bulletins.

Free-form text (the citizen just wrote to us: the 24-hour service window is
open), through the same Cloud API client as the fan-out and the same rate
budget in the store (:class:`~site_tools.delivery.pacer.SharedPacer`, priority
``reply``): a publish running at the cap and an opt-in burst share the number
instead of both asking for all of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from site_tools.channels.base import Outcome
from site_tools.channels.errors import Action
from site_tools.channels.meta_account import RECHECK_CODES
from site_tools.delivery.pacer import Pacer, SharedPacer
from site_tools.phones import mask_all
from site_tools.settings import Settings, reveal
from site_tools.store import Store
from site_tools.store.budget import Reservation
from site_tools.store.database import StoreUnavailable
from site_tools.store.outbox import Reply, ReplyOutcome

log = logging.getLogger("site_tools.service")
RETRYABLE = (Action.RETRY, Action.THROTTLE, Action.MAINTENANCE, Action.RETRY_LATER)
MAX_ATTEMPTS = 5

Work = Callable[[Callable[[Store], Any]], Awaitable[Any]]


class ReplySender:
    def __init__(
        self,
        settings: Settings,
        work: Work,
        on_error: Callable[[int], None] | None = None,
        rate: float | None = None,
    ):
        self.settings = settings
        self.work = work
        self.on_error = on_error  # told the code of an auth or number error (the service checks Meta's side again)
        self.rate = rate or settings.whatsapp_mps  # the town's rate (TownConfig.whatsapp_rate: 20/s in coexistence)
        self.in_flight = max(8, min(256, int(self.rate * 0.6)))
        self._pacer: Pacer | None = None  # the running sender's (set_rate changes it)
        self.sent = 0
        #: Sends by outcome (sent, retry, failed) and Meta's error code ("" when none): /metrics.
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.failing = 0  # sends failed in a row (a success resets it): /health
        self.last_failure: str | None = None
        self._done: list[ReplyOutcome] = []

    @property
    def can_send(self) -> str | None:
        """None when replies can leave; else the setting that is missing."""
        missing = [
            name
            for name, value in (
                ("WHATSAPP_TOKEN", self.settings.whatsapp_token),
                ("WHATSAPP_PHONE_NUMBER_ID", self.settings.whatsapp_phone_number_id),
            )
            if not value
        ]
        return f"{' and '.join(missing)} not set" if missing else None

    def set_rate(self, rate: float) -> None:
        """The town's rate changed (mkdocs.yml reloaded: coexistence set or removed): a lower one holds at once, a
        higher one is reached as the pacer climbs back after throttling."""
        self.rate = rate
        if self._pacer is not None:
            self._pacer.target = rate
            self._pacer.rate = min(self._pacer.rate, rate)

    def pacer(self, queue: asyncio.Queue[Reply]) -> Pacer:
        number = self.settings.whatsapp_phone_number_id
        if not number:
            return Pacer(self.rate)

        async def reserve(count: int, priority: str, not_before: float, rate: float) -> Reservation:
            return await self.work(lambda store: store.budget.reserve(number, rate, count, priority, not_before))

        async def release(priority: str) -> None:
            await self.work(lambda store: store.budget.release(number, priority))

        # Replies come and go: reserve only the slots there are replies for, and give the number back when idle.
        return SharedPacer(reserve, self.rate, "reply", release=release, demand=lambda: queue.qsize() + 1)

    async def run(self) -> None:
        if self.can_send is not None:
            log.warning("%s: replies stay in the outbox", self.can_send)
            return
        from site_tools.channels.cloud_api import WhatsAppCloud

        s = self.settings
        await self.work(lambda store: store.outbox.release_stuck())
        queue: asyncio.Queue[Reply] = asyncio.Queue()
        pacer = self._pacer = self.pacer(queue)
        async with WhatsAppCloud(
            s.whatsapp_api_url,
            s.whatsapp_phone_number_id or "",
            reveal(s.whatsapp_token),
            max_in_flight=self.in_flight,
            timeout=s.http_timeout,
        ) as cloud:
            workers = [asyncio.create_task(self._sender(cloud, pacer, queue)) for _ in range(self.in_flight)]
            try:
                await self._feed(queue, pacer)
            finally:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                await self._flush()

    async def _feed(self, queue: asyncio.Queue[Reply], pacer: Pacer) -> None:
        failures = 0
        holding = False
        while True:
            try:
                await self._flush()
                if queue.qsize() < self.in_flight:
                    due = await self.work(lambda store: store.outbox.due(self.in_flight * 2))
                    for reply in due:
                        queue.put_nowait(reply)
                    if due:
                        holding = True
                    elif holding and queue.empty() and isinstance(pacer, SharedPacer):
                        await pacer.done()  # idle: the number goes back to the bulletins at once
                        holding = False
                failures = 0
            except StoreUnavailable as exc:
                failures += 1
                log.warning("outbox unavailable (%s): retrying", exc)
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            await asyncio.sleep(0.1)

    async def _sender(self, cloud: Any, pacer: Pacer, queue: asyncio.Queue[Reply]) -> None:
        while True:
            reply = await queue.get()
            try:
                await pacer.wait()
                outcome = await cloud.send(reply.message())  # free text, or a template outside the 24-hour window
            except Exception as exc:  # noqa: BLE001 - one reply must not stop the others
                log.warning("reply %s not sent: %s", reply.id, type(exc).__name__)
                outcome = Outcome(False, Action.RETRY, detail=type(exc).__name__)
            self._done.append(self._result(reply, outcome, pacer))
            queue.task_done()

    def _result(self, reply: Reply, outcome: Outcome, pacer: Pacer) -> ReplyOutcome:
        if outcome.ok:
            self.sent += 1
            self.failing = 0
            self.outcomes["sent", ""] += 1
            return ReplyOutcome(reply.id, "sent", outcome.message_id)
        code = str(outcome.code) if outcome.code is not None else ""
        self.failing += 1
        self.last_failure = mask_all(f"{code or outcome.http_status or 'no answer'}: {outcome.detail}"[:200])
        if outcome.code is not None and outcome.code in RECHECK_CODES and self.on_error:
            self.on_error(outcome.code)
        if outcome.action in RETRYABLE and reply.attempt < MAX_ATTEMPTS:
            if outcome.action is Action.THROTTLE:
                pacer.throttled(outcome.retry_after or 1.0)
            self.outcomes["retry", code] += 1
            return ReplyOutcome(reply.id, "pending", None, outcome.detail, time.time() + 2**reply.attempt)
        self.outcomes["failed", code] += 1
        return ReplyOutcome(reply.id, "failed", None, outcome.detail)

    async def _flush(self) -> None:
        if self._done:
            batch, self._done = self._done, []
            try:
                await self.work(lambda store: store.outbox.done(batch))
            except StoreUnavailable:
                self._done = batch + self._done  # written on the next pass
                raise
