"""What ``/health`` (and ``/metrics``) read from the store, and what the service's sending side says about itself.

Every threshold that turns a figure into a warning (the answer stays 200) or a problem (503) is declared here once;
docs/operations/service.md lists them with each field. The checks of the inbox, the loops and the publish jobs stay
in :meth:`site_tools.service.app.Service.health_report`; the checkout's are the follower's
(:meth:`site_tools.service.follower.Follower.health`).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from site_tools.service.follower import Health
from site_tools.store import Store
from site_tools.store.inbox import MESSAGE

#: Events waiting longer than this mean the worker is not keeping up (or not running): a problem.
STALE_EVENTS = 120.0
#: A publish job nobody has taken for this long means no replica's runner is working: a problem.
STALE_JOBS = 60.0
#: The goal during a send: no event waits longer than this; a warning beyond it.
LATE_EVENTS = 30.0
#: A citizen's message («ON», a question) waiting longer than this: a warning.
LATE_MESSAGES = 5.0
#: A reply to a citizen waiting longer than this to leave: a warning (the sender is behind, or retrying).
LATE_REPLIES = 60.0
#: A reply waiting longer than this: a problem (the citizen who wrote «ON» has had no answer for ten minutes).
STALE_REPLIES = 600.0
#: Replies that failed in a row (each attempt counts; a success resets it): the sender is failing, a problem.
FAILING_REPLIES = 5


class ReplyState(Protocol):
    """What the reply sender tells about itself (:class:`~site_tools.service.outbox_sender.ReplySender`)."""

    @property
    def can_send(self) -> str | None: ...  # None when it can; else what is missing

    @property
    def failing(self) -> int: ...  # replies failed in a row

    @property
    def last_failure(self) -> str | None: ...


def store_figures(store: Store) -> dict[str, Any]:
    """The store's share of ``/health``: queue depths and ages, each through an index (no scan of a backlog)."""
    store.db.ping()
    now, pending = time.time(), store.inbox.pending_by_kind()
    return {
        "pending_events": sum(pending.values()),
        "parked_events": store.inbox.parked_count(),
        "pending_by_kind": pending,
        "oldest_pending_seconds": round(store.inbox.oldest_pending_age(now), 1),
        "oldest_pending_message_seconds": round(store.inbox.oldest_pending_age(now, MESSAGE), 1),
        "held_receipts": store.ledger.held_count(),
        "outbox_pending": store.outbox.pending(),
        "oldest_outbox_seconds": round(store.outbox.oldest_pending_age(now), 1),
        "oldest_waiting_job_seconds": round(store.jobs.oldest_waiting_age(), 1),
        "reconnects": store.db.reconnects,
    }


def replies_health(figures: dict[str, Any], sender: ReplyState) -> Health:
    """Replies waiting with no way out (no token, a sender failing), or waiting too long."""
    report = Health()
    waiting = int(figures.get("outbox_pending", 0))
    oldest = float(figures.get("oldest_outbox_seconds", 0))
    if waiting and sender.can_send is not None:
        report.problems.append(
            f"{waiting} replies waiting in the outbox and {sender.can_send}: nothing sends them "
            "(set what is missing and restart the service)"
        )
    elif sender.failing >= FAILING_REPLIES:
        report.problems.append(
            f"the last {sender.failing} replies to citizens failed"
            + (f" ({sender.last_failure})" if sender.last_failure else "")
            + (f"; {waiting} waiting" if waiting else "")
        )
    if oldest > STALE_REPLIES:
        report.problems.append(f"a reply has waited more than {STALE_REPLIES:.0f} s in the outbox")
    elif oldest > LATE_REPLIES:
        report.warnings.append(f"a reply has waited more than {LATE_REPLIES:.0f} s in the outbox")
    return report
