"""One rate budget per phone number, shared by every process that sends from it.

Meta's throughput limit is per phone number: two publisher runs and the
service's replies together must stay under it. Each sender reserves a short
window of send slots (about 100 ms worth) from one row per number, under
the row's lock (``SELECT … FOR UPDATE`` on PostgreSQL, the write lock on
SQLite): windows never overlap, so the senders together start at most R
requests per second, evenly spaced, whatever their number.

Priorities: an urgent bulletin first, then replies to citizens, then normal
bulletins. A sender of lower priority gets no slot while one of higher
priority holds slots, or held them within the last :data:`HOLD` seconds.

Times are the database's (``clock_timestamp()`` on PostgreSQL, the file's
machine on SQLite): every sender places its slots on that one clock, estimating
its own offset from it like NTP does (the reservation with the shortest round
trip wins), so clocks of different machines never need to agree and a slow
reservation does not shift its window onto another sender's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from site_tools.store.database import Database

PRIORITIES = ("urgent", "reply", "normal")
#: A higher-priority sender counts as active this long after its last reservation.
HOLD = 0.3


@dataclass(frozen=True)
class Reservation:
    """``count`` slots, the first at ``start``, then one every ``spacing`` seconds (times on the database's
    clock, which read ``now`` when it reserved)."""

    count: int
    start: float
    spacing: float
    now: float

    @property
    def granted(self) -> bool:
        return self.count > 0

    @property
    def delay(self) -> float:
        """Seconds from the reservation to the first slot (or, when none was granted, before asking again)."""
        return self.start - self.now


class RateBudget:
    def __init__(self, db: Database):
        self.db = db

    def _now(self) -> float:
        if self.db.dialect == "postgresql":
            return float(self.db.scalar("SELECT EXTRACT(EPOCH FROM clock_timestamp())"))
        return time.time()

    def reserve(
        self, number_id: str, rate: float, count: int, priority: str = "normal", not_before: float = 0.0
    ) -> Reservation:
        """Reserve up to ``count`` slots at ``rate`` per second; none (count 0) while a higher priority sends.

        ``not_before`` (seconds from now) pushes every sender of the number back: what a throttled
        sender asks after the API said 130429.
        """
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        spacing = 1.0 / rate
        with self.db.transaction():
            now = self._now()
            select = "SELECT next_slot, urgent_seen, reply_seen FROM rate_budget WHERE number_id = ? {for_update}"
            row = self.db.one(select, (number_id,))
            if row is None:  # the number's first sender; another may be creating the row at this very moment
                self.db.execute(
                    "INSERT INTO rate_budget (number_id, next_slot) VALUES (?, ?) ON CONFLICT (number_id) DO NOTHING",
                    (number_id, now),
                )
                row = self.db.one(select, (number_id,))
                assert row is not None
            next_slot, urgent_seen, reply_seen = (float(v) for v in row)
            busy_above = {
                "urgent": False,
                "reply": now - urgent_seen < HOLD,
                "normal": now - urgent_seen < HOLD or now - reply_seen < HOLD,
            }[priority]
            start = max(now + not_before, next_slot)
            if busy_above:
                if not_before:
                    self.db.execute("UPDATE rate_budget SET next_slot = ? WHERE number_id = ?", (start, number_id))
                return Reservation(0, now + (min(HOLD, max(0.0, start - now)) or HOLD / 5), spacing, now)
            seen = {"urgent": ", urgent_seen = ?", "reply": ", reply_seen = ?", "normal": ""}[priority]
            end = start + count * spacing
            # "Seen" until the end of its window: lower priorities wait for that, plus the hold.
            params = (end, count, *((end,) if seen else ()), number_id)
            self.db.execute(
                f"UPDATE rate_budget SET next_slot = ?, reserved = reserved + ?{seen} WHERE number_id = ?", params
            )
            return Reservation(count, start, spacing, now)

    def release(self, number_id: str, priority: str) -> None:
        """A sender of this priority has nothing more to send: lower priorities need not wait out the hold."""
        column = {"urgent": "urgent_seen", "reply": "reply_seen"}.get(priority)
        if column:
            self.db.execute(f"UPDATE rate_budget SET {column} = 0 WHERE number_id = ?", (number_id,))

    def reserved(self, number_id: str | None = None) -> int:
        """Send slots granted so far, every sender of the number together (of every number when ``None``): a
        counter that only grows, whose rate is the number's sending rate, to set against its cap (``/metrics``)."""
        if number_id is None:
            return int(self.db.scalar("SELECT COALESCE(SUM(reserved), 0) FROM rate_budget"))
        return int(
            self.db.scalar("SELECT COALESCE(SUM(reserved), 0) FROM rate_budget WHERE number_id = ?", (number_id,))
        )
