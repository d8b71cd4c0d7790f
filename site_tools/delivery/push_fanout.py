"""The Web Push fan-out: one request per stored subscription, once, with a bounded number in flight.

Subscriptions are claimed from the store in batches (``store.push.claim``: a ledger row ``sending`` each, in one
transaction, *before* any request); each answer is recorded as it comes: ``sent``; ``gone`` for 404 and 410 (the
subscription is deleted with it); ``failed`` for other refusals; ``retry`` (for the next run) when the push service
kept answering 429 or 5xx. A timeout stays ``sending``: the push service may have queued it, and a notification
lost is better than one shown twice; a run that dies leaves the same. So running twice sends nothing twice, and a
run after a crash resumes with the subscriptions not yet claimed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from site_tools.channels.base import FanOutReport, Outcome
from site_tools.channels.errors import Action
from site_tools.store import Store
from site_tools.store.push import FAILED, GONE, RETRY, SENT

#: Subscriptions claimed per transaction; their answers are recorded together when the batch is done (one
#: transaction, not one per answer: on SQLite a commit each cost more than the request). A crash mid-batch leaves
#: at most this many rows ``sending``: never resent.
CLAIM = 200

PushSend = Callable[[dict[str, Any]], Awaitable[Outcome]]


async def push_fan_out(store: Store, bulletin_id: str, run_id: str, send: PushSend, concurrency: int) -> FanOutReport:
    report = FanOutReport(bulletin_id, recipients=store.push.count())
    started = time.monotonic()
    gate = asyncio.Semaphore(concurrency)
    stop: list[Outcome] = []
    results: list[tuple[int, str, int | None]] = []

    async def one(subscription_id: int, info: dict[str, Any]) -> None:
        async with gate:
            if stop:
                results.append((subscription_id, RETRY, None))
                return
            outcome = await send(info)
        if outcome.ok:
            report.accepted += 1
            report.first_accept_at = report.first_accept_at or time.monotonic()
            results.append((subscription_id, SENT, outcome.http_status))
        elif outcome.uncertain:
            report.failed["incerto"] += 1  # left `sending`: never resent
        elif outcome.http_status in (404, 410):
            report.failed["scaduta"] += 1
            results.append((subscription_id, GONE, outcome.http_status))
        elif outcome.action is Action.STOP_RUN:
            stop.append(outcome)
            results.append((subscription_id, RETRY, outcome.http_status))
        elif outcome.action in (Action.THROTTLE, Action.RETRY):
            report.throttled += 1
            results.append((subscription_id, RETRY, outcome.http_status))
        else:
            report.failed[f"HTTP {outcome.http_status}" if outcome.http_status else outcome.detail or "errore"] += 1
            results.append((subscription_id, FAILED, outcome.http_status))

    while not stop:
        batch = store.push.claim(bulletin_id, run_id, CLAIM)  # what this run leaves to `retry` waits for the next
        if not batch:
            break
        await asyncio.gather(*(one(s.id, s.info()) for s in batch))
        store.push.record_many(bulletin_id, results)
        results.clear()
    report.seconds = time.monotonic() - started
    if stop:
        report.state, report.reason = "failed", stop[0].detail or f"HTTP {stop[0].http_status}"
    elif store.push.totals(bulletin_id).get(RETRY):
        report.state, report.reason = "waiting", "alcuni servizi di notifica hanno chiesto di riprovare più tardi"
    return report
