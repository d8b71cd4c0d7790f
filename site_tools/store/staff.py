"""The town's staff who answer at the counter: accounts, sessions, login throttling, the audit log.

Passwords arrive here already hashed (argon2, in the service); sessions are
random ids carried in a signed cookie and revocable here (logout, a disabled
account). The audit log records who read and answered which conversation,
by id: never a phone number.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from site_tools.store.database import Database


@dataclass(frozen=True)
class StaffMember:
    id: int
    username: str
    display_name: str
    password_hash: str | None
    active: bool
    last_login_at: float | None


@dataclass(frozen=True)
class AuditEntry:
    at: float
    staff: str | None
    action: str
    conversation_id: int | None
    detail: str | None


_MEMBER = "SELECT id, username, display_name, password_hash, active, last_login_at FROM staff"


def _member(row: tuple[Any, ...] | None) -> StaffMember | None:
    if row is None:
        return None
    return StaffMember(row[0], row[1], row[2], row[3], bool(row[4]), row[5])


class Staff:
    def __init__(self, db: Database):
        self.db = db

    # -- accounts --------------------------------------------------------------------
    def add(self, username: str, display_name: str, password_hash: str) -> int:
        row = self.db.one(
            "INSERT INTO staff (username, display_name, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
            (username, display_name, password_hash, time.time()),
        )
        assert row is not None
        return int(row[0])

    def by_username(self, username: str) -> StaffMember | None:
        return _member(self.db.one(f"{_MEMBER} WHERE username = ?", (username,)))

    def get(self, staff_id: int) -> StaffMember | None:
        return _member(self.db.one(f"{_MEMBER} WHERE id = ?", (staff_id,)))

    def members(self, active_only: bool = True) -> list[StaffMember]:
        where = " WHERE active = 1" if active_only else ""
        return [m for r in self.db.all(f"{_MEMBER}{where} ORDER BY display_name, id") if (m := _member(r))]

    def set_password(self, staff_id: int, password_hash: str) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE staff SET password_hash = ? WHERE id = ?", (password_hash, staff_id))
            self.db.execute("DELETE FROM staff_sessions WHERE staff_id = ?", (staff_id,))

    def set_active(self, staff_id: int, active: bool) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE staff SET active = ? WHERE id = ?", (1 if active else 0, staff_id))
            if not active:
                self.db.execute("DELETE FROM staff_sessions WHERE staff_id = ?", (staff_id,))
                self.db.execute("UPDATE conversations SET assignee_id = NULL WHERE assignee_id = ?", (staff_id,))

    def logged_in(self, staff_id: int) -> None:
        self.db.execute("UPDATE staff SET last_login_at = ? WHERE id = ?", (time.time(), staff_id))

    # -- sessions --------------------------------------------------------------------
    def open_session(self, sid: str, staff_id: int, lifetime: float) -> None:
        now = time.time()
        self.db.execute(
            "INSERT INTO staff_sessions (sid, staff_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (sid, staff_id, now, now, now + lifetime),
        )

    def session(self, sid: str, idle: float) -> StaffMember | None:
        """The active member behind a session id, if the session is neither expired nor idle too long."""
        now = time.time()
        row = self.db.one(
            "SELECT s.staff_id, s.last_seen_at FROM staff_sessions s JOIN staff m ON m.id = s.staff_id"
            " WHERE s.sid = ? AND s.expires_at > ? AND m.active = 1",
            (sid, now),
        )
        if row is None or row[1] < now - idle:
            return None
        if now - row[1] > 60:  # one write a minute at most per session
            self.db.execute("UPDATE staff_sessions SET last_seen_at = ? WHERE sid = ?", (now, sid))
        return self.get(row[0])

    def close_session(self, sid: str) -> None:
        self.db.execute("DELETE FROM staff_sessions WHERE sid = ?", (sid,))

    # -- login throttling ---------------------------------------------------------------
    def blocked_until(self, keys: Sequence[str]) -> float:
        """The latest time until which any of these keys (user, address) may not try again."""
        if not keys:
            return 0.0
        marks = ", ".join("?" * len(keys))
        value = self.db.scalar(f"SELECT MAX(blocked_until) FROM login_throttle WHERE key IN ({marks})", tuple(keys))
        return float(value or 0.0)

    def failed_login(self, keys: Sequence[str], free: int, base: float, cap: float, window: float) -> float:
        """Count a failure for each key; after ``free`` failures within ``window`` s, block for base·2ⁿ s (≤ cap)."""
        now = time.time()
        until = 0.0
        with self.db.transaction():
            for key in keys:
                row = self.db.one("SELECT failures, last_failure_at FROM login_throttle WHERE key = ?", (key,))
                failures = 1 if row is None or row[1] < now - window else row[0] + 1
                blocked = now + min(cap, base * 2 ** (failures - free)) if failures >= free else 0.0
                until = max(until, blocked)
                self.db.execute(
                    "INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,"
                    " last_failure_at = excluded.last_failure_at, blocked_until = excluded.blocked_until",
                    (key, failures, now, blocked),
                )
        return until

    def attempt(self, limits: Sequence[tuple[str, int, float, float, float]]) -> float:
        """Count a login attempt *before* the password is checked: 0.0 if it may go on, else the seconds to wait.

        ``limits`` holds (key, free, base, cap, window) for the user and the address. The check and the count
        are one transaction, so concurrent guesses cannot all read "not blocked" before any of them is
        counted; a successful login then takes its attempt back (:meth:`login_succeeded`).
        """
        now = time.time()
        with self.db.transaction():
            keys = [limit[0] for limit in limits]
            blocked = self.blocked_until(keys)
            if blocked > now:
                return blocked - now
            for key, free, base, cap, window in limits:
                self.failed_login([key], free, base, cap, window)
            return 0.0

    def login_succeeded(self, key: str, address_key: str | None = None) -> None:
        """The user's count is cleared; the address gives back the attempt it was charged."""
        with self.db.transaction():
            self.db.execute("DELETE FROM login_throttle WHERE key = ?", (key,))
            if address_key:
                self.db.execute(
                    "UPDATE login_throttle SET failures = failures - 1 WHERE key = ? AND failures > 0", (address_key,)
                )

    # -- the audit log ------------------------------------------------------------------
    def audit(
        self, staff_id: int | None, action: str, conversation_id: int | None = None, detail: str | None = None
    ) -> None:
        self.db.execute(
            "INSERT INTO audit_log (at, staff_id, action, conversation_id, detail) VALUES (?, ?, ?, ?, ?)",
            (time.time(), staff_id, action, conversation_id, detail),
        )

    def audit_log(self, conversation_id: int | None = None, limit: int = 200) -> list[AuditEntry]:
        where, params = ("WHERE a.conversation_id = ?", (conversation_id,)) if conversation_id else ("", ())
        rows = self.db.all(
            "SELECT a.at, s.username, a.action, a.conversation_id, a.detail FROM audit_log a"
            f" LEFT JOIN staff s ON s.id = a.staff_id {where} ORDER BY a.id DESC LIMIT ?",
            (*params, limit),
        )
        return [AuditEntry(*r) for r in rows]

    def housekeeping(self, now: float | None = None) -> None:
        """Expired sessions and stale throttling rows go."""
        now = now or time.time()
        with self.db.transaction():
            self.db.execute("DELETE FROM staff_sessions WHERE expires_at < ?", (now,))
            self.db.execute(
                "DELETE FROM login_throttle WHERE blocked_until < ? AND last_failure_at < ?", (now, now - 86400)
            )
