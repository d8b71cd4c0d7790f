"""Subscribers of the WhatsApp list: consent, opt-out, reachability. Phone numbers live only here."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from site_tools.store import choices as choice_filter
from site_tools.store.choices import CHOICES, DEFAULT, URGENT_ONLY, WEEKLY
from site_tools.store.database import Database

ACTIVE, LEFT, UNREACHABLE = "active", "left", "unreachable"
#: After this many undeliverable results in a row a subscriber is unreachable.
UNREACHABLE_AFTER = 3


@dataclass(frozen=True)
class Subscriber:
    id: int
    phone: str
    status: str
    consent_at: float | None
    consent_source: str | None
    consent_text: str | None
    opted_out_at: float | None
    choice: str = DEFAULT


class Recipient(NamedTuple):
    id: int
    phone: str


class Subscribers:
    def __init__(self, db: Database):
        self.db = db

    def subscribe(
        self, phone: str, source: str, text: str | None = None, at: float | None = None, choice: str | None = None
    ) -> bool:
        """Opt in; True if this changed anything (a repeated ON changes nothing).

        ``choice`` (store/choices.py) is what they asked for; without one a new subscriber gets the default
        and a returning one keeps what they had chosen before leaving."""
        at = at or time.time()
        if choice is not None and choice not in CHOICES:
            raise ValueError(f"unknown choice {choice!r}")
        with self.db.transaction():
            row = self.db.one("SELECT status FROM subscribers WHERE phone = ?", (phone,))
            if row is None:  # without a choice, the column's default (DEFAULT)
                extra, params = (", choice", ", ?") if choice else ("", "")
                self.db.execute(
                    f"INSERT INTO subscribers (phone, status, consent_at, consent_source, consent_text, updated_at{extra})"
                    f" VALUES (?, 'active', ?, ?, ?, ?{params}) ON CONFLICT (phone) DO NOTHING",
                    (phone, at, source, text, at, *((choice,) if choice else ())),
                )
                return True
            if row[0] == ACTIVE:
                return False
            self.db.execute(
                "UPDATE subscribers SET status = 'active', consent_at = ?, consent_source = ?, consent_text = ?,"
                f" opted_out_at = NULL, failures = 0, updated_at = ?{', choice = ?' if choice else ''} WHERE phone = ?",
                (at, source, text, at, *((choice,) if choice else ()), phone),
            )
            return True

    def choose(self, phone: str, choice: str) -> bool:
        """An active subscriber's new choice; True if it changed."""
        if choice not in CHOICES:
            raise ValueError(f"unknown choice {choice!r}")
        with self.db.transaction():
            cur = self.db.execute(
                "UPDATE subscribers SET choice = ?, updated_at = ? WHERE phone = ? AND status = 'active'"
                " AND choice <> ?",
                (choice, time.time(), phone, choice),
            )
            return cur.rowcount > 0

    def unsubscribe(self, phone: str, at: float | None = None) -> bool:
        at = at or time.time()
        with self.db.transaction():
            cur = self.db.execute(
                "UPDATE subscribers SET status = 'left', opted_out_at = ?, updated_at = ?"
                " WHERE phone = ? AND status <> 'left'",
                (at, at, phone),
            )
            return cur.rowcount > 0

    def opted_out_before_consent(self, phone: str, at: float) -> bool:
        """An OFF known before the consent it withdraws (the chat history arrives newest first: an ON older than
        this OFF may come in a later chunk). Recorded as a row that left at ``at`` (no consent), or the time of a
        former opt-out moved forward to ``at``: an older ON then never subscribes. True if anything changed."""
        now = time.time()
        with self.db.transaction():
            cur = self.db.execute(
                "INSERT INTO subscribers (phone, status, opted_out_at, updated_at) VALUES (?, 'left', ?, ?)"
                " ON CONFLICT (phone) DO UPDATE SET opted_out_at = excluded.opted_out_at, updated_at = ?"
                " WHERE subscribers.status = 'left'"
                " AND (subscribers.opted_out_at IS NULL OR subscribers.opted_out_at < excluded.opted_out_at)",
                (phone, at, now, now),
            )
            return cur.rowcount > 0

    def unsubscribe_ids(self, subscriber_ids: Sequence[int]) -> None:
        """The API said the citizen stopped these messages (131050): honour it as an opt-out."""
        now = time.time()
        with self.db.transaction():
            self.db.many(
                "UPDATE subscribers SET status = 'left', opted_out_at = ?, updated_at = ? WHERE id = ?",
                [(now, now, i) for i in subscriber_ids],
            )

    def stop_marketing(self, phone: str) -> bool:
        """The citizen stopped marketing messages (131050 on the weekly digest): no digest any more, the urgent
        bulletins still (``settimanale`` → ``urgenti``). True if the choice changed."""
        now = time.time()
        with self.db.transaction():
            cur = self.db.execute(
                "UPDATE subscribers SET choice = ?, updated_at = ? WHERE phone = ? AND choice = ?",
                (URGENT_ONLY, now, phone, WEEKLY),
            )
            return cur.rowcount > 0

    def stop_marketing_ids(self, subscriber_ids: Sequence[int]) -> None:
        """:meth:`stop_marketing` by id (the fan-out's answer was already 131050)."""
        now = time.time()
        with self.db.transaction():
            self.db.many(
                "UPDATE subscribers SET choice = ?, updated_at = ? WHERE id = ? AND choice = ?",
                [(URGENT_ONLY, now, i, WEEKLY) for i in subscriber_ids],
            )

    def get(self, phone: str) -> Subscriber | None:
        row = self.db.one(
            "SELECT id, phone, status, consent_at, consent_source, consent_text, opted_out_at, choice"
            " FROM subscribers WHERE phone = ?",
            (phone,),
        )
        return Subscriber(*row) if row else None

    def import_rows(self, rows: Iterable[tuple[str, float, str]]) -> tuple[int, int]:
        """(phone, consent time, source) rows; returns (added, already there)."""
        added = existing = 0
        with self.db.transaction():
            for phone, consent_at, source in rows:
                cur = self.db.execute(
                    "INSERT INTO subscribers (phone, status, consent_at, consent_source, updated_at)"
                    " VALUES (?, 'active', ?, ?, ?) ON CONFLICT (phone) DO NOTHING",
                    (phone, consent_at, source, time.time()),
                )
                if cur.rowcount > 0:
                    added += 1
                else:
                    existing += 1
        return added, existing

    def bulk_subscribe(self, phones: Sequence[str], source: str) -> None:
        """Fast path for demos and benchmarks."""
        now = time.time()
        with self.db.transaction():
            self.db.many(
                "INSERT INTO subscribers (phone, status, consent_at, consent_source, updated_at)"
                " VALUES (?, 'active', ?, ?, ?) ON CONFLICT (phone) DO NOTHING",
                [(p, now, source, now) for p in phones],
            )

    def count_active(self, choices: tuple[str, ...] | None = None) -> int:
        """Active subscribers; with ``choices``, only those who chose one of them."""
        condition, params = choice_filter.where(choices)
        return self.db.scalar(f"SELECT COUNT(*) FROM subscribers WHERE status = 'active'{condition}", params)

    def count_by_choice(self) -> dict[str, int]:
        """Active subscribers by choice, every choice present (0 when nobody chose it)."""
        counts = dict.fromkeys(CHOICES, 0)
        for choice, n in self.db.all(
            "SELECT choice, COUNT(*) FROM subscribers WHERE status = 'active' GROUP BY choice"
        ):
            counts[str(choice)] = int(n)
        return counts

    def count_by_status(self) -> dict[str, int]:
        """Subscribers by status (active, left, unreachable): counts only (through ``subscribers_status_id``)."""
        return {
            str(status): int(n) for status, n in self.db.all("SELECT status, COUNT(*) FROM subscribers GROUP BY status")
        }

    def active_batch(self, after_id: int, limit: int, choices: tuple[str, ...] | None = None) -> list[Recipient]:
        condition, params = choice_filter.where(choices)
        return [
            Recipient(*r)
            for r in self.db.all(
                f"SELECT id, phone FROM subscribers WHERE status = 'active' AND id > ?{condition} ORDER BY id LIMIT ?",
                (after_id, *params, limit),
            )
        ]

    def opted_out_since(self, since: float, choices: tuple[str, ...] | None = None) -> set[int]:
        """Subscribers who left since ``since``; with ``choices`` (store/choices.py), also those who have since chosen
        none of them (a fan-out skips both: the message is no longer theirs)."""
        gone = "status <> 'active'"
        if choices:
            gone = f"({gone} OR choice NOT IN ({', '.join('?' for _ in choices)}))"
        return {
            r[0]
            for r in self.db.all(
                f"SELECT id FROM subscribers WHERE {gone} AND updated_at >= ?", (*(choices or ()), since)
            )
        }

    def record_undeliverable(self, subscriber_ids: Sequence[int]) -> None:
        if not subscriber_ids:
            return
        now = time.time()
        with self.db.transaction():
            self.db.many(
                "UPDATE subscribers SET failures = failures + 1, updated_at = ? WHERE id = ?",
                [(now, i) for i in subscriber_ids],
            )
            self.db.many(
                "UPDATE subscribers SET status = 'unreachable' WHERE id = ? AND failures >= ? AND status = 'active'",
                [(i, UNREACHABLE_AFTER) for i in subscriber_ids],
            )

    def weekly(self, since: float) -> list[tuple[str, int, int]]:
        """(ISO week, joined, left) since a time."""
        joined = self.db.all("SELECT consent_at FROM subscribers WHERE consent_at >= ?", (since,))
        left = self.db.all("SELECT opted_out_at FROM subscribers WHERE opted_out_at >= ?", (since,))

        def week(ts: float) -> str:
            y, w, _ = datetime.fromtimestamp(ts, UTC).isocalendar()
            return f"{y}-W{w:02d}"

        weeks: dict[str, list[int]] = {}
        for (ts,) in joined:
            weeks.setdefault(week(ts), [0, 0])[0] += 1
        for (ts,) in left:
            weeks.setdefault(week(ts), [0, 0])[1] += 1
        return [(k, v[0], v[1]) for k, v in sorted(weeks.items())]
