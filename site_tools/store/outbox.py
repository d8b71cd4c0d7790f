"""The outbox: replies to citizens, written with the change that caused them, sent at the API's rate."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

from site_tools.store.database import Database


class Reply(NamedTuple):
    id: int
    phone: str
    body: str
    attempt: int


class ReplyOutcome(NamedTuple):
    id: int
    state: str  # sent, pending (retry at), failed
    wamid: str | None = None
    error: str | None = None
    retry_at: float | None = None


class Outbox:
    def __init__(self, db: Database):
        self.db = db

    def queue(self, phone: str, body: str, not_before: float | None = None) -> None:
        now = time.time()
        self.db.execute(
            "INSERT INTO outbox (phone, body, state, not_before, created_at) VALUES (?, ?, 'pending', ?, ?)",
            (phone, body, not_before or now, now),
        )

    def due(self, limit: int) -> list[Reply]:
        now = time.time()
        with self.db.transaction():
            rows = self.db.all(
                "SELECT id, phone, body, attempts FROM outbox WHERE state = 'pending' AND not_before <= ?"
                " ORDER BY id LIMIT ? {skip_locked}",
                (now, limit),
            )
            self.db.many(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?", [(r[0],) for r in rows]
            )
        return [Reply(r[0], r[1], r[2], r[3] + 1) for r in rows]

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
