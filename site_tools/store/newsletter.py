"""The e-mail newsletter: addresses with their double opt-in, and the ledger of what each was sent.

An address is ``pending`` from the form until its owner follows the confirmation link, then ``active``;
``left`` once it unsubscribed, ``bouncing`` once the town's SMTP server refused it for good (a 5xx). Only
``active`` addresses are sent bulletins. The consent (time, source, text) is recorded on confirmation.

Exactly once per address: a bulletin's rows are written ``queued`` for every active address when its send
starts; a sender claims one (``sending``, with its run) before handing the message to the SMTP server and
marks it ``sent``, ``deferred`` (a 4xx: again later), ``failed`` or ``uncertain`` after. A row left
``sending`` by a run that died is never claimed again: the message may have been accepted, and a second copy
is worse than a missing one (the loss is bounded by the connections open at the crash).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from site_tools.store.database import Database

PENDING = "pending"
ACTIVE = "active"
LEFT = "left"
BOUNCING = "bouncing"
#: Erased on request: the row keeps only its id (see :meth:`Newsletter.forget`).
FORGOTTEN = "forgotten"

#: A bulletin's row for one address, in order of its life.
QUEUED, SENDING, SENT, DEFERRED, FAILED, UNCERTAIN = "queued", "sending", "sent", "deferred", "failed", "uncertain"


@dataclass(frozen=True)
class Request:
    """What the form's request did: the address's id, and whether a confirmation e-mail is owed."""

    address_id: int
    confirm: bool


class Newsletter:
    def __init__(self, db: Database):
        self.db = db

    # -- addresses ---------------------------------------------------------------------------------------
    def request(self, address: str, now: float | None = None) -> Request:
        """The form: a new address is pending; a pending, left or bouncing one asks again (a new confirmation);
        an active one owes nothing (the form says the same either way: it never tells who is subscribed)."""
        now = time.time() if now is None else now
        with self.db.transaction():
            row = self.db.one(
                # A mailbox is one whatever the capitals it is typed with (the domain is stored in lower case; no
                # provider a citizen uses tells «Mario@» from «mario@»): never two subscriptions for one person.
                "SELECT id, status FROM newsletter_addresses WHERE LOWER(address) = LOWER(?) ORDER BY id LIMIT 1",
                (address,),
            )
            if row is None:
                new = self.db.one(
                    "INSERT INTO newsletter_addresses (address, status, requested_at, updated_at)"
                    " VALUES (?, ?, ?, ?) RETURNING id",
                    (address, PENDING, now, now),
                )
                assert new is not None
                return Request(int(new[0]), True)
            if row[1] == ACTIVE:
                return Request(int(row[0]), False)
            self.db.execute(
                "UPDATE newsletter_addresses SET status = ?, requested_at = ?, updated_at = ? WHERE id = ?",
                (PENDING, now, now, row[0]),
            )
            return Request(int(row[0]), True)

    def confirm(self, address_id: int, source: str, text: str, now: float | None = None) -> bool:
        """The confirmation link: pending becomes active, with the consent recorded. True if the address is
        (now, or already) active; False if it left or is unknown since."""
        now = time.time() if now is None else now
        self.db.execute(
            "UPDATE newsletter_addresses SET status = ?, consent_at = ?, consent_source = ?, consent_text = ?,"
            " left_at = NULL, last_error = NULL, updated_at = ? WHERE id = ? AND status = ?",
            (ACTIVE, now, source, text, now, address_id, PENDING),
        )
        return self.status(address_id) == ACTIVE

    def unsubscribe(self, address_id: int, now: float | None = None) -> bool:
        """The unsubscribe link (one click): True if the address exists (it is ``left`` now, whatever it was); False
        if it is unknown or was erased."""
        now = time.time() if now is None else now
        cur = self.db.execute(
            "UPDATE newsletter_addresses SET status = ?, left_at = COALESCE(left_at, ?), updated_at = ? WHERE id = ?"
            " AND status <> ?",
            (LEFT, now, now, address_id, FORGOTTEN),
        )
        return bool(cur.rowcount)

    def status(self, address_id: int) -> str | None:
        row = self.db.one("SELECT status FROM newsletter_addresses WHERE id = ?", (address_id,))
        return str(row[0]) if row else None

    def address(self, address_id: int) -> str | None:
        row = self.db.one("SELECT address FROM newsletter_addresses WHERE id = ?", (address_id,))
        return str(row[0]) if row else None

    def consent(self, address_id: int) -> tuple[float | None, str | None, str | None]:
        row = self.db.one(
            "SELECT consent_at, consent_source, consent_text FROM newsletter_addresses WHERE id = ?", (address_id,)
        )
        return (row[0], row[1], row[2]) if row else (None, None, None)

    def count(self, status: str = ACTIVE) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM newsletter_addresses WHERE status = ?", (status,)))

    def add_active(self, addresses: list[str], source: str, text: str, now: float | None = None) -> None:
        """Addresses already confirmed elsewhere (the bench, an import the town declares)."""
        now = time.time() if now is None else now
        self.db.many(
            "INSERT INTO newsletter_addresses (address, status, requested_at, consent_at, consent_source,"
            " consent_text, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address) DO NOTHING",
            [(a, ACTIVE, now, now, source, text, now) for a in addresses],
        )

    def forget(self, address: str) -> bool:
        """Erasure: the address, its consent and its deliveries are gone. The row itself stays, holding nothing
        but its id: the links already e-mailed name that id, and SQLite would give a deleted newest id to the next
        person who signs up, whom the erased person's old links would then unsubscribe or confirm."""
        with self.db.transaction():
            row = self.db.one(
                "SELECT id FROM newsletter_addresses WHERE LOWER(address) = LOWER(?) AND status <> ? ORDER BY id LIMIT 1",
                (address, FORGOTTEN),
            )
            if row is None:
                return False
            self.db.execute("DELETE FROM newsletter_deliveries WHERE address_id = ?", (row[0],))
            self.db.execute(
                "UPDATE newsletter_addresses SET address = ?, status = ?, requested_at = 0, consent_at = NULL,"
                " consent_source = NULL, consent_text = NULL, left_at = NULL, last_error = NULL, updated_at = 0"
                " WHERE id = ?",
                (f"#{row[0]}", FORGOTTEN, row[0]),
            )
            return True

    # -- the ledger ----------------------------------------------------------------------------------------
    def enqueue(self, bulletin_id: str, now: float | None = None) -> int:
        """A row for every active address that has none for this bulletin yet; returns how many were added."""
        now = time.time() if now is None else now
        cur = self.db.execute(
            "INSERT INTO newsletter_deliveries (bulletin_id, address_id, state, updated_at)"
            " SELECT ?, id, ?, ? FROM newsletter_addresses WHERE status = ?"
            " ON CONFLICT (bulletin_id, address_id) DO NOTHING",
            (bulletin_id, QUEUED, now, ACTIVE),
        )
        return int(cur.rowcount)

    def claim(self, bulletin_id: str, run_id: str, now: float | None = None) -> tuple[int, str] | None:
        """The next address owed this bulletin, marked ``sending`` by this run before anything is sent; None when
        none is due now. An address that left since it was queued is skipped."""
        now = time.time() if now is None else now
        for _ in range(20):  # another run may take the same row first (PostgreSQL): try the next one
            row = self.db.one(
                "SELECT address_id FROM newsletter_deliveries WHERE bulletin_id = ? AND (state = ?"
                " OR (state = ? AND next_attempt_at <= ?)) ORDER BY address_id LIMIT 1",
                (bulletin_id, QUEUED, DEFERRED, now),
            )
            if row is None:
                return None
            claimed = self.db.one(
                "UPDATE newsletter_deliveries SET state = ?, run_id = ?, attempts = attempts + 1, updated_at = ?"
                " WHERE bulletin_id = ? AND address_id = ? AND state IN (?, ?) RETURNING address_id",
                (SENDING, run_id, now, bulletin_id, row[0], QUEUED, DEFERRED),
            )
            if claimed is None:
                continue
            address = self.db.one(
                "SELECT address FROM newsletter_addresses WHERE id = ? AND status = ?", (row[0], ACTIVE)
            )
            if address is None:
                self.finish(bulletin_id, int(row[0]), FAILED, None, now=now)
                continue
            return int(row[0]), str(address[0])
        return None

    def finish(
        self,
        bulletin_id: str,
        address_id: int,
        state: str,
        code: int | None,
        retry_at: float | None = None,
        now: float | None = None,
    ) -> None:
        """The SMTP server's answer for one claimed row."""
        now = time.time() if now is None else now
        self.db.execute(
            "UPDATE newsletter_deliveries SET state = ?, smtp_code = ?, next_attempt_at = ?, updated_at = ?"
            " WHERE bulletin_id = ? AND address_id = ?",
            (state, code, retry_at, now, bulletin_id, address_id),
        )

    def bounce(self, address_id: int, code: int, now: float | None = None) -> None:
        """The SMTP server refused the address for good (a 5xx to RCPT): nothing more is sent to it."""
        now = time.time() if now is None else now
        self.db.execute(
            "UPDATE newsletter_addresses SET status = ?, last_error = ?, updated_at = ? WHERE id = ? AND status = ?",
            (BOUNCING, f"SMTP {code}", now, address_id, ACTIVE),
        )

    def attempts(self, bulletin_id: str, address_id: int) -> int:
        value = self.db.scalar(
            "SELECT attempts FROM newsletter_deliveries WHERE bulletin_id = ? AND address_id = ?",
            (bulletin_id, address_id),
        )
        return int(value or 0)

    def release(self, bulletin_id: str, address_id: int) -> None:
        """Claimed but never handed over (the connection failed before the message): owed again."""
        self.db.execute(
            "UPDATE newsletter_deliveries SET state = ?, run_id = NULL WHERE bulletin_id = ? AND address_id = ?"
            " AND state = ?",
            (QUEUED, bulletin_id, address_id, SENDING),
        )

    def next_retry(self, bulletin_id: str) -> float | None:
        """When the earliest deferred row is due (None: none is deferred)."""
        value = self.db.scalar(
            "SELECT MIN(next_attempt_at) FROM newsletter_deliveries WHERE bulletin_id = ? AND state = ?",
            (bulletin_id, DEFERRED),
        )
        return float(value) if value is not None else None

    def counts(self, bulletin_id: str) -> dict[str, int]:
        rows = self.db.all(
            "SELECT state, COUNT(*) FROM newsletter_deliveries WHERE bulletin_id = ? GROUP BY state", (bulletin_id,)
        )
        return {str(state): int(n) for state, n in rows}
