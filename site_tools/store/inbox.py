"""The webhook inbox: events stored before they are acknowledged, inbound ids seen, automatic answers given.

An event is ``new`` until it is processed (then deleted: raw bodies hold
phone numbers) or parked (a permanent problem, kept with its reason for a
person to look at: ``site-tools webhook-events``). A transient failure
leaves it ``new`` with a later ``next_attempt_at``: nothing acknowledged is
ever lost.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from site_tools.store.database import Database

#: Kinds of stored events (see :meth:`Inbox.add`).
MESSAGE, STATUS = "message", "status"
#: Ids per statement when many events are deleted or delayed at once (SQLite allows 32,766 parameters).
CHUNK = 900


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[tuple[int, ...]]:
    for start in range(0, len(ids), size):
        yield tuple(ids[start : start + size])


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

    def add(self, body: str, at: float | None = None, kind: str = MESSAGE) -> int:
        """Store an event; ``kind`` is :data:`MESSAGE` (a citizen wrote: applied first) or :data:`STATUS` (receipts
        only: applied in batches, after every waiting message)."""
        row = self.db.one(
            "INSERT INTO events (received_at, body, state, kind) VALUES (?, ?, 'new', ?) RETURNING id",
            (at or time.time(), body, kind),
        )
        assert row is not None
        return int(row[0])

    def add_many(self, events: Sequence[tuple[str, str]], at: float | None = None) -> None:
        """Store many (body, kind) events in one statement (pipelined on PostgreSQL)."""
        now = at or time.time()
        self.db.many(
            "INSERT INTO events (received_at, body, state, kind) VALUES (?, ?, 'new', ?)",
            [(now, body, kind) for body, kind in events],
        )

    def new(self, limit: int, now: float | None = None, kind: str | None = None) -> list[StoredEvent]:
        """Events due for processing, oldest first; only those of ``kind`` when given."""
        where, args = ("AND kind = ?", (kind,)) if kind else ("", ())
        return [
            StoredEvent(*r)
            for r in self.db.all(
                f"SELECT id, body, attempts FROM events WHERE state = 'new' {where}"
                " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
                (*args, now or time.time(), limit),
            )
        ]

    def done(self, event_id: int) -> None:
        # Raw bodies hold phone numbers: gone as soon as they are processed.
        self.db.execute("DELETE FROM events WHERE id = ?", (event_id,))

    def done_many(self, event_ids: Sequence[int]) -> None:
        """Delete processed events, a chunk of ids per statement (inside the caller's transaction, if any)."""
        for chunk in chunks(event_ids):
            self.db.execute(f"DELETE FROM events WHERE id IN ({', '.join('?' * len(chunk))})", chunk)

    def retry_later(self, event_id: int, error: str, delay: float) -> None:
        self.retry_many([event_id], error, delay)

    def retry_many(self, event_ids: Sequence[int], error: str, delay: float) -> None:
        at = time.time() + delay
        for chunk in chunks(event_ids):
            self.db.execute(
                "UPDATE events SET attempts = attempts + 1, next_attempt_at = ?, error = ?"
                f" WHERE id IN ({', '.join('?' * len(chunk))}) AND state = 'new'",
                (at, error, *chunk),
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

    def pending_by_kind(self) -> dict[str, int]:
        """Waiting events by kind: ``{"message": n, "status": n}``."""
        counts = dict.fromkeys((MESSAGE, STATUS), 0)
        counts.update(self.db.all("SELECT kind, COUNT(*) FROM events WHERE state = 'new' GROUP BY kind"))
        return counts

    def parked_count(self) -> int:
        return self.db.scalar("SELECT COUNT(*) FROM events WHERE state = 'parked'")

    def oldest_pending_age(self, now: float | None = None, kind: str | None = None) -> float:
        """Seconds the oldest unprocessed event (of ``kind``, when given) has waited; 0 when none.

        The first by id, through the index (ids follow arrival): no scan of a backlog of thousands."""
        where, args = ("AND kind = ?", (kind,)) if kind else ("", ())
        oldest = self.db.scalar(f"SELECT received_at FROM events WHERE state = 'new' {where} ORDER BY id LIMIT 1", args)
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
