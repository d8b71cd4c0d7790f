"""The webhook inbox: events stored before they are acknowledged, inbound ids seen, automatic answers given.

An event is ``new`` until it is processed (then deleted: raw bodies hold
phone numbers) or parked (a permanent problem, kept with its reason for a
person to look at: ``site-tools webhook-events``). A transient failure
leaves it ``new`` with a later ``next_attempt_at``: nothing acknowledged is
ever lost.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from site_tools.store.database import Database


class StoredEvent(NamedTuple):
    id: int
    body: str
    attempts: int = 0


class ParkedEvent(NamedTuple):
    id: int
    received_at: float
    attempts: int
    error: str | None


class Inbox:
    def __init__(self, db: Database):
        self.db = db

    def add(self, body: str, at: float | None = None) -> int:
        row = self.db.one(
            "INSERT INTO events (received_at, body, state) VALUES (?, ?, 'new') RETURNING id", (at or time.time(), body)
        )
        assert row is not None
        return int(row[0])

    def new(self, limit: int, now: float | None = None) -> list[StoredEvent]:
        """Events due for processing, oldest first."""
        return [
            StoredEvent(*r)
            for r in self.db.all(
                "SELECT id, body, attempts FROM events WHERE state = 'new'"
                " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
                (now or time.time(), limit),
            )
        ]

    def done(self, event_id: int) -> None:
        # Raw bodies hold phone numbers: gone as soon as they are processed.
        self.db.execute("DELETE FROM events WHERE id = ?", (event_id,))

    def retry_later(self, event_id: int, error: str, delay: float) -> None:
        self.db.execute(
            "UPDATE events SET attempts = attempts + 1, next_attempt_at = ?, error = ? WHERE id = ? AND state = 'new'",
            (time.time() + delay, error, event_id),
        )

    def park(self, event_id: int, error: str) -> None:
        """A permanent problem: kept, with its reason, for a person to look at."""
        self.db.execute("UPDATE events SET state = 'parked', error = ? WHERE id = ?", (error, event_id))

    def parked(self, limit: int = 100) -> list[ParkedEvent]:
        return [
            ParkedEvent(*r)
            for r in self.db.all(
                "SELECT id, received_at, attempts, error FROM events WHERE state = 'parked' ORDER BY id LIMIT ?",
                (limit,),
            )
        ]

    def requeue(self, event_id: int) -> bool:
        """After a fix: process a parked event again (processing is idempotent)."""
        cur = self.db.execute(
            "UPDATE events SET state = 'new', next_attempt_at = NULL WHERE id = ? AND state = 'parked'", (event_id,)
        )
        return cur.rowcount > 0

    def pending(self) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM events WHERE state = 'new'")

    def parked_count(self) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM events WHERE state = 'parked'")

    def oldest_pending_age(self, now: float | None = None) -> float:
        """Seconds the oldest unprocessed event has waited (0 when none)."""
        oldest = self.db.scalar("SELECT MIN(received_at) FROM events WHERE state = 'new'")
        return max(0.0, (now or time.time()) - oldest) if oldest is not None else 0.0

    def first_time(self, wamid: str, sender_hash: str | None = None, at: float | None = None) -> bool:
        """True the first time an inbound message id is seen (Meta retries; replays happen)."""
        rows = self.db.all(
            "INSERT INTO inbound (wamid, received_at, sender_hash) VALUES (?, ?, ?)"
            " ON CONFLICT (wamid) DO NOTHING RETURNING wamid",
            (wamid, at or time.time(), sender_hash),
        )
        return bool(rows)

    def prune_inbound(self, older_than: float) -> int:
        """Forget inbound ids (they encode the sender's number) past the retention period."""
        return self.db.execute("DELETE FROM inbound WHERE received_at < ?", (older_than,)).rowcount

    def auto_reply_due(self, phone: str, day: str) -> bool:
        rows = self.db.all(
            "INSERT INTO auto_replies (phone, day) VALUES (?, ?) ON CONFLICT (phone, day) DO NOTHING RETURNING phone",
            (phone, day),
        )
        return bool(rows)
