"""Receipts in batches: many stored status-only events applied in one transaction.

During a send Meta posts two or three status webhooks per message; applied one
event at a time (a transaction each) the worker fell behind them and a citizen's
«ON» waited behind thousands. Here the statuses of hundreds to thousands of
events go to :meth:`~site_tools.store.ledger.Ledger.apply_statuses` at once,
with the same rules and the same end state as :func:`~site_tools.service.events.process_event`
applying them one by one (a property test holds them to it), and the events
are deleted in the same transaction: all of it is written, or none of it.

An event that is not Meta's shape is parked on its own; an event with an item
that cannot be applied is parked after its other items are (as one by one).
Anything else that fails the batch is the caller's to handle (see the worker:
a transient failure retries the batch, any other one falls back to one event
at a time so that only the bad event is parked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from site_tools.phones import mask_all
from site_tools.service.events import Outcome, _list, _reply_status, parse, receipt, stopped_marketing, values
from site_tools.store import Store
from site_tools.store.inbox import StoredEvent
from site_tools.store.ledger import Receipt


@dataclass
class BatchReport:
    done: list[int] = field(default_factory=list)  # events applied and deleted
    parked: list[tuple[int, str]] = field(default_factory=list)  # (event id, reason), already parked
    single: list[StoredEvent] = field(default_factory=list)  # not receipts only: for process_event, one by one
    outcome: Outcome = field(default_factory=Outcome)  # the batch's totals


@dataclass
class _Parsed:
    event: StoredEvent
    receipts: list[Receipt]
    outcome: Outcome


def _parse(event: StoredEvent, number_id: str | None) -> _Parsed | str | None:
    """The event's receipts; a reason to park it (str); None when it carries more than receipts."""
    try:
        payload = parse(event.body)
    except ValueError as exc:
        return str(exc)
    outcome = Outcome()
    receipts: list[Receipt] = []
    for value in values(payload, number_id, outcome):
        if _list(value, "messages") or _list(value, "user_preferences"):
            return None
        for status in _list(value, "statuses"):
            try:
                r = receipt(status)
            except ValueError as exc:
                outcome.errors.append(mask_all(f"status: ValueError: {exc}")[:300])
                continue
            if r is None:
                outcome.ignored.append(f"status {str(status.get('status'))[:20]!r}")
            else:
                receipts.append(r)
    return _Parsed(event, receipts, outcome)


def apply_receipt_events(
    store: Store, events: Sequence[StoredEvent], number_id: str | None, counter: bool
) -> BatchReport:
    """Apply the statuses of ``events`` in one transaction and delete (or park) the events in it.

    Raises :class:`~site_tools.store.database.StoreUnavailable` (nothing was written: retry), a database bug as
    it is, and any other failure of an item (nothing was written: the caller applies the events one by one)."""
    report = BatchReport()
    parsed: list[_Parsed] = []
    for event in events:
        got = _parse(event, number_id)
        if got is None:
            report.single.append(event)
        elif isinstance(got, str):
            report.parked.append((event.id, got))
        else:
            parsed.append(got)
    flat = [(p, r) for p in parsed for r in p.receipts]
    with store.db.transaction():
        results = store.ledger.apply_statuses([r for _, r in flat])
        held: list[Receipt] = []
        for (p, r), result in zip(flat, results, strict=True):
            _after(store, p.outcome, r, result, counter, held)
        store.ledger.hold_receipts(held)
        for p in parsed:
            if p.outcome.errors:
                report.parked.append((p.event.id, "; ".join(p.outcome.errors)[:1000]))
            else:
                report.done.append(p.event.id)
        for event_id, reason in report.parked:
            store.inbox.park(event_id, mask_all(reason))
        store.inbox.done_many(report.done)
    for p in parsed:
        report.outcome.statuses += p.outcome.statuses
        report.outcome.held += p.outcome.held
        report.outcome.unsubscribed += p.outcome.unsubscribed
        report.outcome.foreign += p.outcome.foreign
    return report


def _after(store: Store, outcome: Outcome, r: Receipt, result: str, counter: bool, held: list[Receipt]) -> None:
    """What :func:`~site_tools.service.events._status` does once the ledger has answered."""
    if result == "unmatched":
        if not r.callback and _reply_status(store, r.wamid, r.status, r.error_code, counter):
            outcome.statuses += 1
        else:
            held.append(r)
            outcome.held += 1
        return
    if result == "applied":
        outcome.statuses += 1
    if r.error_code == 131026 and r.phone and result == "applied":
        sub = store.subscribers.get(r.phone)
        if sub:
            store.subscribers.record_undeliverable([sub.id])
    stopped_marketing(store, r, outcome)
