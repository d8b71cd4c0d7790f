"""The fan-out: one template message to every active list subscriber, once.

* Recipients are streamed from the store in small claims (memory stays flat).
* Each attempt is written to the ledger *before* the call (``claim_new``:
  state ``sending``) and *after* it (``record_results``, batched every
  100 ms), so a re-run or a run after a crash resumes where it stopped and
  never re-sends what the API accepted.
* Duplicates after a hard kill are bounded by design: a request is started
  only while fewer than ``max_unrecorded`` answers wait to be written, so
  at any moment at most :meth:`FanOutOptions.duplicate_bound` messages
  were sent without the ledger knowing.
* A :class:`~site_tools.delivery.pacer.Pacer` spaces requests 1/R apart:
  never more than R per second; enough requests are in flight to fill the
  cap despite the API's latency.
* Errors are handled by code (:mod:`site_tools.channels.errors`): throttling
  slows everyone down, transient errors retry with backoff and jitter,
  permanent ones are recorded, credential and template errors stop the run
  at once, the messaging limit and long error streaks pause it cleanly.
* Opt-outs are polled every 100 ms and checked right before each request.
* A normal bulletin yields the number to an urgent one being sent by
  another publisher (invariant 4: urgent first).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeVar

from site_tools.channels.base import FanOutReport, Outcome
from site_tools.channels.errors import EXPLAIN, Action
from site_tools.delivery.clock import SYSTEM_CLOCK, Clock
from site_tools.delivery.pacer import Pacer, SharedPacer
from site_tools.store import Store
from site_tools.store.budget import Reservation
from site_tools.store.database import StoreUnavailable
from site_tools.store.ledger import DEFER_131049, Claim, Result

#: How often a normal run looks for an urgent one to give way to (seconds).
URGENT_CHECK = 0.25
#: No retry waits longer than this inside a run: a run must end in minutes, not hours.
MAX_RETRY_DELAY = 120.0

T = TypeVar("T")
log = logging.getLogger("site_tools.delivery")


class Sender(Protocol):
    async def send(self, payload: dict[str, Any]) -> Outcome: ...


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...
    def set_postfix_str(self, text: str) -> Any: ...
    def close(self) -> Any: ...


class Stop(str, Enum):
    """Why a run ended before everyone was served."""

    FAILED = "failed"  # credentials, permissions, template: the same would happen to everyone
    PAUSED = "paused"  # quality or messaging limit, a streak of errors: the rest stays pending
    DEADLINE = "waiting"  # the job's time is nearly up: the rest stays pending, the next run resumes


@dataclass
class FanOutOptions:
    rate: float = 80.0
    max_in_flight: int | None = None  # default: enough for 0.6 s of latency at the rate
    max_unrecorded: int | None = None  # answers waiting for the ledger; default: as many as in flight
    claim_size: int | None = None
    max_attempts: int = 6
    error_streak: int = 50
    unknown_grace: float = 30.0  # wait this long for a receipt before resending an uncertain attempt
    retry_base: float = 1.0  # first backoff after a transient error; doubles each attempt
    stale_after: float = 15.0  # a run silent this long is dead; its unknown rows are reconciled
    tick: float = 0.1  # how often answers are written to the ledger and opt-outs polled
    store_patience: float = 30.0  # seconds a store call is retried (the store reconnects) before the run stops
    #: The phone number's id: when set, the rate is a budget shared through the store with every other
    #: process sending from that number (publishers, the service's replies), urgent first.
    number_id: str | None = None
    progress: bool = True
    #: Wall-clock time (the clock's ``time()``) after which nothing new is sent: the job's time limit, less a
    #: margin. The fan-out stops cleanly; the rest stays pending in the ledger and the next run resumes it.
    deadline_at: float | None = None
    #: Only the subscribers who chose one of these (:func:`site_tools.store.choices.receives`); None: everyone.
    choices: tuple[str, ...] | None = None
    #: A marketing message (the weekly digest): a 131050 («stopped marketing messages») takes the citizen out of
    #: the digest (``settimanale`` → ``urgenti``) instead of off the list.
    marketing: bool = False

    def in_flight(self) -> int:
        return self.max_in_flight or max(8, min(512, math.ceil(self.rate * 0.6)))

    def unrecorded(self) -> int:
        return self.max_unrecorded or self.in_flight()

    def claim(self) -> int:
        return self.claim_size or max(10, min(500, math.ceil(self.rate / 4)))

    def heartbeat_every(self) -> float:
        """Well inside ``stale_after``: a live run must never look dead to another."""
        return min(1.0, self.stale_after / 3)

    def duplicate_bound(self) -> int:
        """Most messages a hard kill can leave sent but unknown to the ledger (resent after the kill)."""
        return self.in_flight() + self.unrecorded()


class FanOut:
    """One bulletin to every active subscriber of one channel. One instance per run."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        run_id: str,
        options: FanOutOptions | None = None,
        clock: Clock = SYSTEM_CLOCK,
        progress: Progress | None = None,
    ):
        self.store = store
        self.sender = sender
        self.run_id = run_id
        self.opt = options or FanOutOptions()
        self.clock = clock
        self.pacer: Pacer = Pacer(self.opt.rate, clock)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        self._progress = progress
        self.stop: Stop | None = None
        self.stop_reason = ""
        self._queue: asyncio.Queue[Claim | None] = asyncio.Queue(maxsize=self.opt.claim() * 2)
        self._results: list[Result] = []
        self._unrecorded = 0  # answers in _results or being written
        self._recorded = asyncio.Event()
        self._undeliverable: list[int] = []
        self._opted_out_by_api: list[int] = []
        self._opted_out: set[int] = set()
        self._released: list[int] = []  # claimed but never sent: given back at the end
        self._busy = 0  # claims taken by workers and not yet finished
        self._streak = 0
        self._resume = asyncio.Event()
        self._resume.set()
        self._flush_lock = asyncio.Lock()
        self._used = False
        self._closing = False
        self._deferred = 0
        self.choices: tuple[str, ...] | None = None

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """A store call in the ledger's thread; a transient failure (a dropped connection, which the store
        makes again; a locked file) is retried with backoff for ``store_patience`` seconds, then raised."""
        deadline = self.clock.monotonic() + self.opt.store_patience
        delay = 0.1
        while True:
            try:
                return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
            except StoreUnavailable as exc:
                if self.clock.monotonic() >= deadline:
                    raise
                log.warning("store unavailable (%s): retrying in %.1f s", exc, delay)
                await self.clock.sleep(delay)
                delay = min(2.0, delay * 2)

    async def _reserve(self, count: int, priority: str, not_before: float, rate: float) -> Reservation:
        assert self.opt.number_id
        return await self._db(self.store.budget.reserve, self.opt.number_id, rate, count, priority, not_before)

    async def _release(self, priority: str) -> None:
        assert self.opt.number_id
        await self._db(self.store.budget.release, self.opt.number_id, priority)

    # -- the run -----------------------------------------------------------------
    async def run(
        self,
        bulletin_id: str,
        build_payload: Callable[[str], dict[str, Any]],
        priority: str = "normal",
        channel: str = "whatsapp_list",
        choices: tuple[str, ...] | None = None,
    ) -> FanOutReport:
        """``choices`` (store/choices.py): only subscribers who chose one of them; None: the options' (by default
        every subscriber)."""
        assert not self._used, "a FanOut serves one run"
        self._used = True
        self.choices = choices if choices is not None else self.opt.choices
        self.bulletin_id, self.channel, self.priority, self.build_payload = (
            bulletin_id,
            channel,
            priority,
            build_payload,
        )
        if self.opt.number_id:  # one budget for the phone number, shared with every other sender
            level = "urgent" if priority == "urgent" else "normal"
            self.pacer = SharedPacer(self._reserve, self.opt.rate, level, self.clock, release=self._release)
        self.report = report = FanOutReport(bulletin_id)
        started = self.clock.monotonic()
        report.recipients = await self._db(self.store.subscribers.count_active, self.choices)
        report.reconciled = await self._db(
            self.store.ledger.reconcile_unknown, bulletin_id, channel, self.opt.stale_after, self.run_id
        )
        self.bar = self._progress or _progress_bar(report.recipients, bulletin_id, self.opt.progress)
        keeper = asyncio.create_task(self._housekeeping())
        workers = [asyncio.create_task(self._worker()) for _ in range(self.opt.in_flight())]
        try:
            try:
                await self._claim_everyone()
                await self._drain_retries()
            except StoreUnavailable as exc:
                self.halt(Stop.FAILED, f"il database non risponde ({exc}): invio fermato, il resto resta in attesa")
            finally:
                await self._shut_down(workers, keeper)
                if isinstance(self.pacer, SharedPacer):
                    await self.pacer.done()
            report.seconds = self.clock.monotonic() - started
            if self.stop is not None:
                report.state, report.reason = self.stop.value, self.stop_reason
            elif await self._db(self.store.ledger.pending_count, bulletin_id, channel):
                # Everyone reachable now was served; some are owed it later (131049: after 24 hours).
                report.state = "waiting"
                report.reason = (
                    "alcuni cittadini hanno raggiunto il limite dei messaggi di marketing: riprovo fra 24 ore"
                )
        finally:
            self._pool.shutdown(wait=True)
        return report

    def halt(self, stop: Stop, reason: str) -> None:
        """Stop claiming and sending; the first reason wins."""
        if self.stop is None:
            self.stop, self.stop_reason = stop, reason

    async def _claim_everyone(self) -> None:
        """First attempts: every active subscriber without a row for this bulletin, in id order."""
        last_id = 0
        while self.stop is None:
            if self.opt.deadline_at is not None and self.clock.time() >= self.opt.deadline_at:
                self.halt(Stop.DEADLINE, "tempo del job quasi scaduto: il resto parte al prossimo avvio")
                return
            batch = await self._db(self.store.subscribers.active_batch, last_id, self.opt.claim(), self.choices)
            if not batch:
                return
            last_id = batch[-1].id
            claimed = await self._db(
                self.store.ledger.claim_new,
                self.bulletin_id,
                self.channel,
                self.run_id,
                batch[0].id,
                batch[-1].id,
                self.choices,
            )
            for recipient in batch:
                if recipient.id in claimed:
                    await self._queue.put(Claim(claimed[recipient.id], recipient.id, recipient.phone, 1))

    async def _drain_retries(self) -> None:
        """Retries as they fall due, until nothing is left pending (or the run stops)."""
        while self.stop is None:
            rows = await self._db(
                self.store.ledger.claim_retries,
                self.bulletin_id,
                self.channel,
                self.run_id,
                self.opt.claim(),
                self.choices,
            )
            if rows:
                self.report.retries += len(rows)
                for row in rows:
                    await self._queue.put(row)
                continue
            if self._queue.empty() and self._busy == 0:
                await self._flush()
                horizon = self.clock.time() + MAX_RETRY_DELAY
                pending = await self._db(self.store.ledger.pending_count, self.bulletin_id, self.channel, horizon)
                if pending == 0 and self._queue.empty() and self._busy == 0:
                    return
            await self.clock.sleep(self.opt.tick)
            self.report.reconciled += await self._db(
                self.store.ledger.reconcile_unknown, self.bulletin_id, self.channel, self.opt.stale_after, self.run_id
            )

    async def _shut_down(self, workers: list[asyncio.Task[None]], keeper: asyncio.Task[None]) -> None:
        for _ in workers:
            await self._queue.put(None)
        await asyncio.gather(*workers, return_exceptions=True)
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                self._released.append(item.delivery_id)
        # Never cancel the keeper: a cancelled ledger write that had not started yet is lost.
        self._closing = True
        await asyncio.gather(keeper, return_exceptions=True)
        self.bar.close()
        try:
            await self._flush()
            await self._db(self.store.ledger.release, self.run_id, self._released)
        except StoreUnavailable as exc:
            # What was sent but not recorded stays 'sending': the next run reconciles it (receipts first).
            self.halt(Stop.FAILED, f"il database non risponde ({exc}): il prossimo avvio riprende da dove si è fermato")

    # -- one recipient ---------------------------------------------------------------
    async def _worker(self) -> None:
        while True:
            claim = await self._queue.get()
            if claim is None:
                return
            self._busy += 1
            try:
                await self._handle(claim)
            finally:
                self._busy -= 1

    async def _handle(self, claim: Claim) -> None:
        await self._resume.wait()
        while self._unrecorded >= self.opt.unrecorded() and self.stop is None:
            self._recorded.clear()  # backpressure: the ledger must catch up before more is sent
            await self._recorded.wait()
        if self.stop is not None:
            self._released.append(claim.delivery_id)
            return
        if claim.subscriber_id in self._opted_out:
            return self._skip(claim)
        await self.pacer.wait()
        if self.stop is not None:
            self._released.append(claim.delivery_id)
            return
        if claim.subscriber_id in self._opted_out:  # checked again after waiting for the slot
            return self._skip(claim)
        if not self._resume.is_set():  # an urgent bulletin started meanwhile: it goes first
            await self._resume.wait()
        outcome = await self.sender.send(self.build_payload(claim.phone))
        if outcome.ok:
            self._streak = 0
            self.report.accepted += 1
            if self.report.first_accept_at is None:
                self.report.first_accept_at = self.clock.monotonic()
            self._finish_one(Result(claim.delivery_id, claim.subscriber_id, "accepted", wamid=outcome.message_id))
            return
        self._finish_one(self._on_error(outcome, claim))
        # Throttling is handled by slowing down; a streak means the server keeps failing.
        if outcome.action in (Action.RETRY, Action.MAINTENANCE):
            self._streak += 1
            if self._streak >= self.opt.error_streak:
                self.halt(Stop.PAUSED, f"{self._streak} errori di fila (ultimo: {outcome.detail}): invio sospeso")

    def _skip(self, claim: Claim) -> None:
        self.report.skipped += 1
        self._finish_one(Result(claim.delivery_id, claim.subscriber_id, "skipped"))

    def _finish_one(self, result: Result) -> None:
        self._results.append(result)
        self._unrecorded += 1
        if result.state in ("accepted", "failed", "skipped"):
            self.bar.update(1)

    def _on_error(self, outcome: Outcome, claim: Claim) -> Result:
        """What one failed request means for this recipient, and for the run."""
        action, code, detail = outcome.action, outcome.code, outcome.detail
        retry = Result(claim.delivery_id, claim.subscriber_id, "retry", error_code=code, error=detail)
        if action is Action.STOP_RUN:
            self.halt(Stop.FAILED, f"{detail} (codice {code})")
            return retry
        if action is Action.PAUSE_RUN:
            self.halt(Stop.PAUSED, f"{EXPLAIN.get(code or 0, detail)} (codice {code}): il resto resta in attesa")
            return retry
        if action in (Action.PERMANENT, Action.OPT_OUT):
            self.report.failed[str(code)] += 1
            if code == 131026:
                self._undeliverable.append(claim.subscriber_id)
            if action is Action.OPT_OUT:
                self._opted_out_by_api.append(claim.subscriber_id)
            return Result(claim.delivery_id, claim.subscriber_id, "failed", error_code=code, error=detail)
        now = self.clock.time()
        if action is Action.DEFER:
            # Meta: not before 24 hours. A later run (the scheduled one) takes it up; this one does not wait.
            self._deferred += 1
            return Result(
                claim.delivery_id,
                claim.subscriber_id,
                "retry",
                error_code=code,
                error=detail,
                next_attempt_at=now + DEFER_131049,
                refund=True,
            )
        if action is Action.THROTTLE:
            # Not this message's fault: slow everyone down, retry it soon, no attempt lost.
            self.report.throttled += 1
            delay = outcome.retry_after or self.opt.retry_base * random.uniform(0.5, 1.5)
            self.pacer.throttled(delay)
            return Result(
                claim.delivery_id,
                claim.subscriber_id,
                "retry",
                error_code=code,
                error=detail,
                next_attempt_at=now + delay,
                refund=True,
            )
        if claim.attempt >= self.opt.max_attempts:
            self.report.failed[f"{code or detail}"] += 1
            return Result(
                claim.delivery_id,
                claim.subscriber_id,
                "failed",
                error_code=code,
                error=f"{detail} dopo {claim.attempt} tentativi",
            )
        delay = min(self._retry_delay(outcome, claim.attempt), MAX_RETRY_DELAY)
        return Result(
            claim.delivery_id, claim.subscriber_id, "retry", error_code=code, error=detail, next_attempt_at=now + delay
        )

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float:
        if outcome.action is Action.RETRY_LATER:
            return 4.0**attempt
        if outcome.action is Action.MAINTENANCE:
            return 60.0
        if outcome.uncertain:
            return self.opt.unknown_grace  # a receipt may still show it arrived
        return min(60.0, self.opt.retry_base * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.5)

    # -- the ledger and the world around the run ----------------------------------------
    async def _flush(self) -> None:
        """Write what is waiting; it leaves memory only once it is in the ledger (a failed write keeps it)."""
        async with self._flush_lock:
            if self._results:
                batch = self._results[:]
                await self._db(self.store.ledger.record_results, batch)
                del self._results[: len(batch)]  # only _flush removes, under the lock; workers only append
                self._unrecorded -= len(batch)
                self._recorded.set()
            for pending, write in (
                (self._undeliverable, self.store.subscribers.record_undeliverable),
                (
                    self._opted_out_by_api,
                    self.store.subscribers.stop_marketing_ids
                    if self.opt.marketing
                    else self.store.subscribers.unsubscribe_ids,
                ),
            ):
                if pending:
                    ids = pending[:]
                    await self._db(write, ids)
                    del pending[: len(ids)]

    async def _housekeeping(self) -> None:
        """Never dies quietly: if the store stays away past the patience, the run stops loudly."""
        try:
            await self._keep_house()
        except Exception as exc:  # noqa: BLE001 - whatever it is, the run must stop and say so
            log.error("the fan-out's housekeeping failed: %s", exc)
            self.halt(Stop.FAILED, f"il registro degli invii non è raggiungibile ({type(exc).__name__}): invio fermato")
            self._recorded.set()  # workers waiting for the ledger see the stop
            self._resume.set()

    async def _keep_house(self) -> None:
        since = self.clock.time() - 1.0
        beat = urgent_checked = 0.0
        while not self._closing:
            await self.clock.sleep(self.opt.tick)
            await self._flush()
            now = self.clock.time()
            # Those who left, or chose not to get this message, since the run started (store/choices.py).
            self._opted_out.update(await self._db(self.store.subscribers.opted_out_since, since - 1.0, self.choices))
            since = now
            if self.opt.deadline_at is not None and now >= self.opt.deadline_at:
                self.halt(Stop.DEADLINE, "tempo del job quasi scaduto: il resto parte al prossimo avvio")
            if now - beat >= self.opt.heartbeat_every():
                beat = now
                await self._db(self.store.ledger.heartbeat, self.run_id)
            if now - urgent_checked >= URGENT_CHECK:
                urgent_checked = now
                await self._yield_to_urgent()

    async def _yield_to_urgent(self) -> None:
        """Invariant 4: a normal bulletin pauses while an urgent one is being sent by another run."""
        if self.priority == "urgent":
            return
        urgent = await self._db(self.store.ledger.urgent_in_progress, self.bulletin_id)
        if urgent and self._resume.is_set():
            self._resume.clear()
            self.bar.set_postfix_str("in pausa: avviso urgente in corso")
        elif not urgent and not self._resume.is_set():
            self._resume.set()
            self.bar.set_postfix_str("")


class _NoBar:
    """The progress bar of a run nobody watches (CI, a pipe): tqdm is not even imported."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, label: str, enabled: bool) -> Progress:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="msg",
        desc=label[:30],
        smoothing=0.1,
        mininterval=0.5,
        dynamic_ncols=True,
    )
