"""The fan-out: one template message to every active list subscriber, once.

* Recipients are streamed from the store in small claims (memory stays flat).
* Each attempt is written to the ledger *before* the call (``claim_new``:
  state ``sending``) and *after* it (``record_results``, batched every
  100 ms), so a re-run or a run after a crash resumes where it stopped and
  never re-sends what the API accepted.
* A :class:`Pacer` spaces requests 1/R apart: never more than R per second;
  enough requests are in flight to fill the cap despite the API's latency.
* Errors are handled by code (:mod:`site_tools.api_errors`): throttling
  slows everyone down, transient errors retry with backoff and jitter,
  permanent ones are recorded, credential and template errors stop the run
  at once, the messaging limit and long error streaks pause it cleanly.
* Opt-outs are polled every 100 ms and checked right before each request.
* A normal bulletin yields the number to an urgent one being sent by
  another publisher (invariant 4: urgent first).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from .api_errors import EXPLAIN, Action
from .channels.base import Outcome
from .store import Result, Store


#: No retry waits longer than this: a run must end in minutes, not hours.
MAX_RETRY_DELAY = 120.0


class Sender(Protocol):
    async def send(self, payload: dict[str, Any]) -> Outcome: ...


class Pacer:
    """At most ``rate`` starts per second, evenly spaced.

    When the API throttles anyway (130429, HTTP 429) the pacer pauses and
    lowers its rate (multiplicative decrease, at most once per half second),
    then creeps back up to the configured rate while no throttling is seen.
    A slot is never saved up: after an idle moment there is no burst.
    """

    def __init__(self, rate: float):
        self.target = rate
        self.rate = rate
        self._next = 0.0
        self._paused_until = 0.0
        self._last_cut = -1.0
        self._last_raise = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.rate < self.target and now - max(self._last_cut, self._last_raise) >= 1.0:
            self.rate = min(self.target, self.rate * 1.1)
            self._last_raise = now
        slot = max(now, self._next, self._paused_until)
        self._next = slot + 1.0 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)

    def throttled(self, pause: float) -> None:
        now = asyncio.get_running_loop().time()
        self._paused_until = max(self._paused_until, now + pause)
        if now - self._last_cut >= 0.5:
            self.rate = max(1.0, self.rate * 0.7)
            self._last_cut = now


@dataclass
class FanOutReport:
    bulletin_id: str
    recipients: int = 0  # active subscribers when the run started
    accepted: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    skipped: int = 0  # opted out during the run
    retries: int = 0
    throttled: int = 0
    reconciled: int = 0  # unknown outcomes from a dead run, put back to retry
    state: str = "done"  # done, paused, failed
    reason: str | None = None
    seconds: float = 0.0
    first_accept_at: float | None = None  # time.monotonic() of the first accepted message

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


@dataclass
class FanOutOptions:
    rate: float = 80.0
    max_in_flight: int | None = None  # default: enough for 0.6 s of latency at the rate
    claim_size: int | None = None
    max_attempts: int = 6
    error_streak: int = 50
    unknown_grace: float = 30.0  # wait this long for a receipt before resending an uncertain attempt
    retry_base: float = 1.0  # first backoff after a transient error; doubles each attempt
    stale_after: float = 15.0  # a run silent this long is dead; its unknown rows are reconciled
    progress: bool = True

    def in_flight(self) -> int:
        return self.max_in_flight or max(8, min(512, math.ceil(self.rate * 0.6)))

    def claim(self) -> int:
        return self.claim_size or max(10, min(500, math.ceil(self.rate / 4)))


class FanOut:
    def __init__(self, store: Store, sender: Sender, run_id: str, options: FanOutOptions | None = None):
        self.store = store
        self.sender = sender
        self.run_id = run_id
        self.opt = options or FanOutOptions()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def run(self, bulletin_id: str, build_payload: Callable[[str], dict[str, Any]],
                  priority: str = "normal", channel: str = "whatsapp_list") -> FanOutReport:
        opt = self.opt
        report = FanOutReport(bulletin_id)
        started = time.monotonic()
        report.recipients = await self._db(self.store.count_active)
        report.reconciled = await self._db(self.store.reconcile_unknown, bulletin_id, channel, opt.stale_after)
        pacer = Pacer(opt.rate)
        queue: asyncio.Queue[tuple[int, int, str, int] | None] = asyncio.Queue(maxsize=opt.claim() * 2)
        results: list[Result] = []
        undeliverable: list[int] = []
        opted_out_by_api: list[int] = []
        opted_out: set[int] = set()
        stop: dict[str, str] = {}
        resume = asyncio.Event()
        resume.set()
        streak = 0
        bar = _progress(report.recipients, bulletin_id, opt.progress)

        def finish_one(result: Result) -> None:
            results.append(result)
            if result.state in ("accepted", "failed", "skipped"):
                bar.update(1)

        released: list[int] = []  # claimed but never sent: given back at the end
        busy = 0  # items taken by workers and not yet finished

        async def worker() -> None:
            nonlocal busy
            while True:
                item = await queue.get()
                if item is None:
                    return
                busy += 1
                try:
                    await handle(item)
                finally:
                    busy -= 1

        async def handle(item: tuple[int, int, str, int]) -> None:
            nonlocal streak
            delivery_id, sub_id, phone, attempt = item
            if stop:
                released.append(delivery_id)
                return
            await resume.wait()
            if sub_id in opted_out:
                report.skipped += 1
                finish_one(Result(delivery_id, sub_id, "skipped"))
                return
            await pacer.wait()
            if stop:
                released.append(delivery_id)
                return
            if sub_id in opted_out:  # checked again after waiting for the slot
                report.skipped += 1
                finish_one(Result(delivery_id, sub_id, "skipped"))
                return
            outcome = await self.sender.send(build_payload(phone))
            if outcome.ok:
                streak = 0
                report.accepted += 1
                if report.first_accept_at is None:
                    report.first_accept_at = time.monotonic()
                finish_one(Result(delivery_id, sub_id, "accepted", wamid=outcome.message_id))
                return
            finish_one(self._on_error(outcome, delivery_id, sub_id, attempt, pacer, report, stop,
                                      undeliverable, opted_out_by_api))
            # Throttling is handled by slowing down; a streak means the server keeps failing.
            if outcome.action in (Action.RETRY, Action.MAINTENANCE):
                streak += 1
                if streak >= opt.error_streak and not stop:
                    stop["paused"] = f"{streak} errori di fila (ultimo: {outcome.detail}): invio sospeso"

        async def producer() -> None:
            last_id = 0
            while not stop:
                batch = await self._db(self.store.active_batch, last_id, opt.claim())
                if not batch:
                    break
                last_id = batch[-1][0]
                claimed = await self._db(self.store.claim_new, bulletin_id, channel, self.run_id,
                                         batch[0][0], batch[-1][0])
                for sub_id, phone in batch:
                    if sub_id in claimed:
                        await queue.put((claimed[sub_id], sub_id, phone, 1))
            while not stop:  # retries, until nothing is left pending
                rows = await self._db(self.store.claim_retries, bulletin_id, channel, self.run_id, opt.claim())
                if rows:
                    report.retries += len(rows)
                    for row in rows:
                        await queue.put(row)
                    continue
                if queue.empty() and busy == 0:
                    await flush()
                    pending = await self._db(self.store.pending_count, bulletin_id, channel)
                    if pending == 0 and queue.empty() and busy == 0:
                        break
                await asyncio.sleep(0.1)
                report.reconciled += await self._db(self.store.reconcile_unknown, bulletin_id, channel,
                                                    opt.stale_after)

        flush_lock = asyncio.Lock()

        async def flush() -> None:
            async with flush_lock:
                if results:
                    batch = results[:]
                    del results[:len(batch)]
                    await self._db(self.store.record_results, batch)
                if undeliverable:
                    ids = undeliverable[:]
                    del undeliverable[:len(ids)]
                    await self._db(self.store.record_undeliverable, ids)
                if opted_out_by_api:
                    ids = opted_out_by_api[:]
                    del opted_out_by_api[:len(ids)]
                    await self._db(self.store.unsubscribe_ids, ids)

        async def housekeeping() -> None:
            since = time.time() - 1.0
            beat = 0.0
            while True:
                await asyncio.sleep(0.1)
                await flush()
                now = time.time()
                opted_out.update(await self._db(self.store.opted_out_since, since - 1.0))
                since = now
                if now - beat >= 1.0:
                    beat = now
                    await self._db(self.store.heartbeat, self.run_id)
                    if priority != "urgent":
                        urgent = await self._db(self.store.urgent_in_progress, bulletin_id)
                        if urgent and resume.is_set():
                            resume.clear()
                            bar.set_postfix_str("in pausa: avviso urgente in corso")
                        elif not urgent and not resume.is_set():
                            resume.set()
                            bar.set_postfix_str("")

        keeper = asyncio.create_task(housekeeping())
        workers = [asyncio.create_task(worker()) for _ in range(opt.in_flight())]
        try:
            await producer()
        finally:
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers, return_exceptions=True)
            while not queue.empty():
                item = queue.get_nowait()
                if item is not None:
                    released.append(item[0])
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            await flush()
            await self._db(self.store.release, self.run_id, released)
            bar.close()
            self._pool.shutdown(wait=True)
        report.seconds = time.monotonic() - started
        if "failed" in stop:
            report.state, report.reason = "failed", stop["failed"]
        elif "paused" in stop:
            report.state, report.reason = "paused", stop["paused"]
        return report

    def _on_error(self, outcome: Outcome, delivery_id: int, sub_id: int, attempt: int, pacer: Pacer,
                  report: FanOutReport, stop: dict[str, str], undeliverable: list[int],
                  opted_out_by_api: list[int]) -> Result:
        action = outcome.action
        now = time.time()
        code = outcome.code
        detail = outcome.detail
        if action is Action.STOP_RUN:
            stop.setdefault("failed", f"{detail} (codice {code})")
            return Result(delivery_id, sub_id, "retry", error_code=code, error=detail, next_attempt_at=None)
        if action is Action.PAUSE_RUN:
            stop.setdefault("paused", f"{EXPLAIN.get(code or 0, detail)} (codice {code}): il resto resta in attesa")
            return Result(delivery_id, sub_id, "retry", error_code=code, error=detail, next_attempt_at=None)
        if action in (Action.PERMANENT, Action.OPT_OUT):
            report.failed[str(code)] += 1
            if code == 131026:
                undeliverable.append(sub_id)
            if action is Action.OPT_OUT:
                opted_out_by_api.append(sub_id)
            return Result(delivery_id, sub_id, "failed", error_code=code, error=detail)
        if action is Action.THROTTLE:
            # Not this message's fault: slow everyone down, retry it soon, no attempt lost.
            report.throttled += 1
            delay = outcome.retry_after or self.opt.retry_base * random.uniform(0.5, 1.5)
            pacer.throttled(delay)
            return Result(delivery_id, sub_id, "retry", error_code=code, error=detail, next_attempt_at=now + delay,
                          refund=True)
        if attempt >= self.opt.max_attempts:
            report.failed[f"{code or detail}"] += 1
            return Result(delivery_id, sub_id, "failed", error_code=code, error=f"{detail} dopo {attempt} tentativi")
        if action is Action.RETRY_LATER:
            delay = 4.0 ** attempt
        elif action is Action.MAINTENANCE:
            delay = 60.0
        elif outcome.uncertain:
            delay = self.opt.unknown_grace  # a receipt may still show it arrived
        else:
            delay = min(60.0, self.opt.retry_base * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.5)
        return Result(delivery_id, sub_id, "retry", error_code=code, error=detail,
                      next_attempt_at=now + min(delay, MAX_RETRY_DELAY))


def _progress(total: int, label: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="msg", desc=label[:30], disable=not enabled, smoothing=0.1,
                mininterval=0.5, dynamic_ncols=True)
