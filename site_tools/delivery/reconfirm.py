"""Sending the re-confirmation message to the app's contacts (candidates in ``new``), once per person ever.

Exactly-once is the candidate's own state, not the bulletin ledger (whose rows belong to subscribers, and these are
not): a batch of candidates is moved ``new`` → ``asked`` in one transaction *before* any of them is sent
(:meth:`~site_tools.store.candidates.Candidates.claim`). A crash, a kill or a second concurrent run therefore never
sends the message twice to anyone; what a crash can cost is the message to the few claimed but not yet sent (at most
one batch), who stay ``asked`` without a message — never a second message. A definite refusal by the API (nothing
reached the person) moves the candidate back to ``new`` for a later run. Requests are spaced by the number's shared
reservation (:class:`~site_tools.delivery.pacer.SharedPacer` over ``store.budget``), at the priority of a normal
bulletin, so this never adds to what the number sends at the same moment.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from site_tools.channels.base import Outcome
from site_tools.channels.errors import Action
from site_tools.content.config import TownConfig
from site_tools.delivery.fanout import Sender
from site_tools.delivery.pacer import SharedPacer
from site_tools.render import reconfirm_template
from site_tools.store import Store
from site_tools.store.budget import Reservation

BATCH = 20


@dataclass
class ReconfirmReport:
    sent: int = 0
    refused: int = 0  # back to ``new``: the API said no for that person
    stopped: str = ""  # why the run stopped early (credentials, template …), Italian
    errors: list[str] = field(default_factory=list)


def callback(config: TownConfig) -> str:
    since = config.whatsapp.coexistence.since if config.whatsapp and config.whatsapp.coexistence else None
    return f"riconferma-{since.isoformat() if since else 'x'}"


async def send_all(
    store: Store, config: TownConfig, sender: Sender, number_id: str, rate: float, limit: int | None = None
) -> ReconfirmReport:
    """Ask every candidate in ``new`` (or the first ``limit``), paced at ``rate`` per second shared by the number."""
    report = ReconfirmReport()

    async def reserve(count: int, priority: str, not_before: float, r: float) -> Reservation:
        return await asyncio.to_thread(store.budget.reserve, number_id, r, count, priority, not_before)

    async def release(priority: str) -> None:
        await asyncio.to_thread(store.budget.release, number_id, priority)

    pacer = SharedPacer(reserve, rate, release=release)
    tag = callback(config)
    left = limit if limit is not None else float("inf")
    unsent: list[str] = []  # refused, or claimed after a stop: back to ``new`` when the run ends (not before, or
    # this run would claim them again)
    try:
        while left > 0 and not report.stopped:
            batch = await asyncio.to_thread(store.candidates.claim, int(min(BATCH, left)))
            if not batch:
                break
            left -= len(batch)
            for candidate in batch:
                if report.stopped:  # claimed but not sent: nothing reached them
                    unsent.append(candidate.phone)
                    continue
                await pacer.wait()
                outcome = await sender.send(reconfirm_template.payload(candidate.phone.lstrip("+"), config, tag))
                if not _record(outcome, report, pacer):
                    unsent.append(candidate.phone)
    finally:
        await pacer.done()
        for phone in unsent:
            await asyncio.to_thread(store.candidates.unclaim, phone)
    return report


def _record(outcome: Outcome, report: ReconfirmReport, pacer: SharedPacer) -> bool:
    """Counts the outcome; False when the API refused it (nothing reached the person)."""
    if outcome.ok or outcome.uncertain:  # an uncertain one may have arrived: it stays asked (never a second)
        report.sent += 1
        return True
    report.refused += 1
    if outcome.action in (Action.THROTTLE, Action.MAINTENANCE):
        pacer.throttled(outcome.retry_after or 1.0)
    if outcome.action in (Action.STOP_RUN, Action.PAUSE_RUN):
        report.stopped = outcome.detail or f"codice {outcome.code}"
    else:
        report.errors.append(outcome.detail or f"codice {outcome.code}")
    return False


def preview(config: TownConfig) -> str:
    return reconfirm_template.text(config)
