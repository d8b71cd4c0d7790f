"""Candidates: people who may have subscribed before the Cloud API, not yet subscribers (coexistence).

When a town connects the number its citizens already saved (Meta's «coexistence»), the WhatsApp Business app's
contacts arrive by the ``smb_app_state_sync`` webhook. Most long-standing subscribers wrote their keyword more than
180 days ago — beyond the chat history Meta shares — and appear only there. A contact is a *candidate*, never a
subscriber by itself: one becomes a subscriber only on one of two bases (:mod:`site_tools.store.consent`), a «Sì,
continuo» to the re-confirmation message or the town's declared import of its own records.

States: ``new`` (a contact, nothing asked), ``asked`` (the re-confirmation message went out), ``confirmed``
(answered yes: subscribed), ``declined`` (answered no), ``imported`` (the town declared it from its records:
subscribed), ``removed`` (staff removed the contact in the app before anything happened).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from site_tools.store.database import Database

NEW, ASKED, CONFIRMED, DECLINED, IMPORTED, REMOVED = "new", "asked", "confirmed", "declined", "imported", "removed"
STATES = (NEW, ASKED, CONFIRMED, DECLINED, IMPORTED, REMOVED)

#: The list has never known the number: not subscribed, not left (an OFF is the person's last word).
_NOT_ON_THE_LIST = "NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.phone = candidates.phone)"


@dataclass(frozen=True)
class Candidate:
    phone: str
    name: str | None
    state: str
    added_at: float
    asked_at: float | None
    answered_at: float | None


class Candidates:
    def __init__(self, db: Database):
        self.db = db

    def seen(self, phone: str, name: str | None, at: float | None = None) -> bool:
        """A contact of the app (added or still there): a new candidate, or its name updated; True if new."""
        at = at or time.time()
        with self.db.transaction():
            row = self.db.one("SELECT state FROM candidates WHERE phone = ?", (phone,))
            if row is None:
                self.db.execute(
                    "INSERT INTO candidates (phone, name, state, added_at, updated_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (phone) DO NOTHING",
                    (phone, name, NEW, at, at),
                )
                return True
            self.db.execute(
                "UPDATE candidates SET name = COALESCE(?, name), updated_at = ?,"
                " state = CASE WHEN state = ? THEN ? ELSE state END WHERE phone = ?",
                (name, at, REMOVED, NEW, phone),
            )
            return False

    def removed(self, phone: str, at: float | None = None) -> None:
        """Staff removed the contact in the app: a candidate nobody asked yet is dropped from the plan."""
        self.db.execute(
            "UPDATE candidates SET state = ?, updated_at = ? WHERE phone = ? AND state = ?",
            (REMOVED, at or time.time(), phone, NEW),
        )

    def set_state(self, phones: Sequence[str], state: str, at: float | None = None) -> int:
        """Move candidates to ``state`` (asked, confirmed, declined, imported); how many changed."""
        assert state in STATES, state
        at = at or time.time()
        column = "asked_at" if state == ASKED else "answered_at"
        changed = 0
        with self.db.transaction():
            for phone in phones:
                cur = self.db.execute(
                    f"UPDATE candidates SET state = ?, {column} = ?, updated_at = ? WHERE phone = ? AND state <> ?",
                    (state, at, at, phone, state),
                )
                changed += max(cur.rowcount, 0)
        return changed

    def claim(self, limit: int, at: float | None = None) -> list[Candidate]:
        """Up to ``limit`` candidates in ``new`` moved to ``asked`` *before* the message is sent: the claim is the
        once-per-person record (a crash after it never sends twice; concurrent runs claim disjoint rows)."""
        at = at or time.time()
        with self.db.transaction():
            rows = self.db.all(
                f"SELECT phone FROM candidates WHERE state = ? AND {_NOT_ON_THE_LIST}"
                " ORDER BY added_at, phone LIMIT ? {skip_locked}",
                (NEW, limit),
            )
            claimed = []
            for (phone,) in rows:
                cur = self.db.execute(
                    "UPDATE candidates SET state = ?, asked_at = ?, updated_at = ? WHERE phone = ? AND state = ?",
                    (ASKED, at, at, phone, NEW),
                )
                if cur.rowcount:
                    claimed.append(phone)
        return [c for c in (self.get(p) for p in claimed) if c is not None]

    def to_ask(self) -> int:
        """How many ``claim`` would ask: candidates in ``new`` the list has never known (a subscriber, or someone
        who left the list with the OFF keyword, is never asked)."""
        return int(self.db.scalar(f"SELECT COUNT(*) FROM candidates WHERE state = ? AND {_NOT_ON_THE_LIST}", (NEW,)))

    def unclaim(self, phone: str) -> None:
        """The API refused the message (nothing reached the person): back to ``new`` for a later run."""
        self.db.execute(
            "UPDATE candidates SET state = ?, asked_at = NULL, updated_at = ? WHERE phone = ? AND state = ?",
            (NEW, time.time(), phone, ASKED),
        )

    def answer(self, phone: str, yes: bool, at: float | None = None) -> bool:
        """An asked candidate's answer: ``confirmed`` or ``declined``; False (nothing changed) for anyone not asked."""
        at = at or time.time()
        cur = self.db.execute(
            "UPDATE candidates SET state = ?, answered_at = ?, updated_at = ? WHERE phone = ? AND state = ?",
            (CONFIRMED if yes else DECLINED, at, at, phone, ASKED),
        )
        return bool(cur.rowcount and cur.rowcount > 0)

    def get(self, phone: str) -> Candidate | None:
        row = self.db.one(
            "SELECT phone, name, state, added_at, asked_at, answered_at FROM candidates WHERE phone = ?", (phone,)
        )
        return Candidate(*row) if row else None

    def in_state(self, state: str, limit: int = 100_000) -> list[Candidate]:
        rows = self.db.all(
            "SELECT phone, name, state, added_at, asked_at, answered_at FROM candidates WHERE state = ?"
            " ORDER BY added_at, phone LIMIT ?",
            (state, limit),
        )
        return [Candidate(*row) for row in rows]

    def counts(self) -> dict[str, int]:
        return {str(s): int(n) for s, n in self.db.all("SELECT state, COUNT(*) FROM candidates GROUP BY state")}

    def forget(self, phone: str) -> None:
        """GDPR erasure."""
        self.db.execute("DELETE FROM candidates WHERE phone = ?", (phone,))
