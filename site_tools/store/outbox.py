"""The outbox: replies to citizens, written with the change that caused them, sent at the API's rate."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from site_tools.store.database import Database

#: How long after an earlier waiting reply to the same citizen a later one leaves (the sender sends in parallel).
ORDER_GAP = 0.5


class Reply(NamedTuple):
    id: int
    phone: str
    body: str
    attempt: int
    #: A template object (name, language, components) when the reply must be a template, else None.
    template: dict[str, Any] | None = None

    def message(self) -> dict[str, Any]:
        """The Cloud API request body: free text inside the 24-hour window, else the template."""
        base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": self.phone}
        if self.template is not None:
            return {**base, "type": "template", "template": self.template}
        return {**base, "type": "text", "text": {"preview_url": True, "body": self.body}}


class ReplyOutcome(NamedTuple):
    id: int
    state: str  # sent, pending (retry at), failed
    wamid: str | None = None
    error: str | None = None
    retry_at: float | None = None


class Outbox:
    def __init__(self, db: Database):
        self.db = db

    def queue(
        self, phone: str, body: str, not_before: float | None = None, template: dict[str, Any] | None = None
    ) -> int:
        """Queue a reply; ``body`` is what the citizen reads (for a template: the hydrated text). Returns its id.

        A reply never overtakes an earlier one to the same citizen that waits (an opt-out's confirmation waits a
        second): it leaves :data:`ORDER_GAP` after it, so «OFF» then «ON» read in that order, the last word true."""
        now = time.time()
        at = not_before or now
        waiting = self.db.scalar(
            "SELECT MAX(not_before) FROM outbox WHERE state = 'pending' AND not_before > ? AND phone = ?", (now, phone)
        )
        if waiting is not None and float(waiting) >= at:
            at = float(waiting) + ORDER_GAP
        row = self.db.one(
            "INSERT INTO outbox (phone, body, state, not_before, created_at, template)"
            " VALUES (?, ?, 'pending', ?, ?, ?) RETURNING id",
            (phone, body, at, now, json.dumps(template) if template is not None else None),
        )
        assert row is not None
        return int(row[0])

    def due(self, limit: int) -> list[Reply]:
        now = time.time()
        with self.db.transaction():
            rows = self.db.all(
                "SELECT id, phone, body, attempts, template FROM outbox WHERE state = 'pending' AND not_before <= ?"
                " ORDER BY id LIMIT ? {skip_locked}",
                (now, limit),
            )
            self.db.many(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?", [(r[0],) for r in rows]
            )
        return [Reply(r[0], r[1], r[2], r[3] + 1, json.loads(r[4]) if r[4] else None) for r in rows]

    def done(self, rows: Sequence[ReplyOutcome]) -> None:
        """What became of each reply, in one transaction."""
        now = time.time()
        with self.db.transaction():
            self.db.many(
                "UPDATE outbox SET state = ?, wamid = ?, error = ?, sent_at = ?,"
                " not_before = COALESCE(?, not_before) WHERE id = ?",
                [(state, wamid, error, now, retry_at, reply_id) for reply_id, state, wamid, error, retry_at in rows],
            )

    def release_stuck(self) -> int:
        """Replies a crashed sender left 'sending' with no outcome: sent again (a repeated confirmation is better
        than a missing one)."""
        return self.db.execute(
            "UPDATE outbox SET state = 'pending' WHERE state = 'sending' AND sent_at IS NULL"
        ).rowcount

    def pending(self) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')")

    def oldest_pending_age(self, now: float | None = None) -> float:
        """Seconds the oldest reply still to send has waited; 0 when none.

        A reply already tried has waited since it was queued; one not tried yet, since it was due (an «OFF»
        confirmation delayed on purpose is not late before its time). Pending rows only, through ``outbox_state``.
        """
        oldest = self.db.scalar(
            "SELECT MIN(CASE WHEN attempts > 0 THEN created_at ELSE not_before END) FROM outbox"
            " WHERE state IN ('pending', 'sending')"
        )
        return max(0.0, (now or time.time()) - float(oldest)) if oldest is not None else 0.0

    def has_wamid(self, wamid: str) -> bool:
        """Is this message id one of our replies?"""
        return self.db.one("SELECT 1 FROM outbox WHERE wamid = ?", (wamid,)) is not None
