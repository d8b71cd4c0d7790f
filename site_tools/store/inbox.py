"""The webhook inbox: events stored before they are acknowledged, inbound ids seen, automatic answers given."""

from __future__ import annotations

import time
from typing import NamedTuple

from site_tools.store.database import Database


class StoredEvent(NamedTuple):
    id: int
    body: str


class Inbox:
    def __init__(self, db: Database):
        self.db = db

    def add(self, body: str, at: float | None = None) -> int:
        row = self.db.one(
            "INSERT INTO events (received_at, body, state) VALUES (?, ?, 'new') RETURNING id", (at or time.time(), body)
        )
        assert row is not None
        return int(row[0])

    def new(self, limit: int) -> list[StoredEvent]:
        return [
            StoredEvent(*r)
            for r in self.db.all("SELECT id, body FROM events WHERE state = 'new' ORDER BY id LIMIT ?", (limit,))
        ]

    def done(self, event_id: int) -> None:
        # Raw bodies hold phone numbers: gone as soon as they are processed.
        self.db.execute("DELETE FROM events WHERE id = ?", (event_id,))

    def failed(self, event_id: int, error: str) -> None:
        self.db.execute("UPDATE events SET state = 'failed', error = ? WHERE id = ?", (error, event_id))

    def pending(self) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM events WHERE state = 'new'")

    def first_time(self, wamid: str, at: float | None = None) -> bool:
        """True the first time an inbound message id is seen (Meta retries; replays happen)."""
        rows = self.db.all(
            "INSERT INTO inbound (wamid, received_at) VALUES (?, ?) ON CONFLICT (wamid) DO NOTHING RETURNING wamid",
            (wamid, at or time.time()),
        )
        return bool(rows)

    def auto_reply_due(self, phone: str, day: str) -> bool:
        rows = self.db.all(
            "INSERT INTO auto_replies (phone, day) VALUES (?, ?) ON CONFLICT (phone, day) DO NOTHING RETURNING phone",
            (phone, day),
        )
        return bool(rows)
