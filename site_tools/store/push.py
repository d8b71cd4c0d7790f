"""Web Push: the browsers' subscriptions (what the site's button sent) and the ledger of what went to each.

A subscription is the browser's ``PushSubscription``: the push service's ``endpoint`` (a capability URL: whoever
holds it can send to that browser, so it is never logged) and the two keys the payload is encrypted for. It is
removed when its owner unsubscribes or when the push service answers 404 or 410 (gone).

The ledger (``push_deliveries``) is written *before* each request (state ``sending``) and after it (``sent``,
``gone``, ``failed`` or back to ``retry``): a second run sends nothing twice, and a run that died mid-request
leaves ``sending`` rows, which are *not* resent (the push service may have taken them; a notification lost is
better than one shown twice), and are counted as uncertain.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from site_tools.store.database import Database

SENDING, SENT, RETRY, GONE, FAILED = "sending", "sent", "retry", "gone", "failed"


@dataclass(frozen=True)
class PushSubscription:
    id: int
    endpoint: str
    p256dh: str
    auth: str

    def info(self) -> dict[str, object]:
        """As the browser gave it (``PushSubscription.toJSON()``)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PushStore:
    def __init__(self, db: Database):
        self.db = db

    # -- subscriptions -------------------------------------------------------------------------------------
    def subscribe(self, endpoint: str, p256dh: str, auth: str, at: float | None = None) -> bool:
        """Store a subscription (its keys replaced if the endpoint is known); True if it is new."""
        at = at or time.time()
        with self.db.transaction():
            known = self.db.scalar("SELECT id FROM push_subscriptions WHERE endpoint = ?", (endpoint,))
            if known is not None:
                self.db.execute(
                    "UPDATE push_subscriptions SET p256dh = ?, auth = ?, updated_at = ? WHERE id = ?",
                    (p256dh, auth, at, known),
                )
                return False
            self.db.execute(
                "INSERT INTO push_subscriptions (endpoint, p256dh, auth, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO NOTHING",
                (endpoint, p256dh, auth, at, at),
            )
            return True

    def unsubscribe(self, endpoint: str) -> bool:
        """Forget a subscription (its owner asked); True if it was there."""
        with self.db.transaction():
            known = self.db.scalar("SELECT id FROM push_subscriptions WHERE endpoint = ?", (endpoint,))
            if known is None:
                return False
            self.db.execute("DELETE FROM push_subscriptions WHERE id = ?", (known,))
            return True

    def prune(self, subscription_id: int) -> None:
        """The push service said the subscription is gone (404, 410): never send to it again."""
        self.db.execute("DELETE FROM push_subscriptions WHERE id = ?", (subscription_id,))

    def count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM push_subscriptions") or 0)

    def get(self, endpoint: str) -> PushSubscription | None:
        row = self.db.one("SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE endpoint = ?", (endpoint,))
        return PushSubscription(*row) if row else None

    # -- the ledger ----------------------------------------------------------------------------------------
    def claim(self, bulletin_id: str, run_id: str, limit: int = 500) -> list[PushSubscription]:
        """Up to ``limit`` subscriptions owed this bulletin (never sent, or left to retry by an earlier run), marked
        ``sending`` in one transaction before any request goes out.

        Runs may claim at once (the channel is shared): a row is this run's only if its own INSERT (``ON CONFLICT
        DO NOTHING``) or UPDATE (``WHERE state = 'retry'``) returned it, so two runs never claim one subscription,
        on PostgreSQL too (the second waits for the first's row, then finds it taken)."""
        now = time.time()
        claimed: list[PushSubscription] = []
        with self.db.transaction():
            rows = self.db.all(
                "SELECT s.id, s.endpoint, s.p256dh, s.auth, d.state FROM push_subscriptions s"
                " LEFT JOIN push_deliveries d ON d.subscription_id = s.id AND d.bulletin_id = ?"
                " WHERE d.id IS NULL OR (d.state = ? AND d.run_id <> ?) ORDER BY s.id LIMIT ?",
                (bulletin_id, RETRY, run_id, limit),
            )
            for *fields, state in rows:
                if state is None:
                    taken = self.db.one(
                        "INSERT INTO push_deliveries (bulletin_id, subscription_id, state, attempts, run_id, updated_at)"
                        " VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (bulletin_id, subscription_id) DO NOTHING RETURNING id",
                        (bulletin_id, fields[0], SENDING, run_id, now),
                    )
                else:
                    taken = self.db.one(
                        "UPDATE push_deliveries SET state = ?, attempts = attempts + 1, run_id = ?, updated_at = ?"
                        " WHERE bulletin_id = ? AND subscription_id = ? AND state = ? RETURNING id",
                        (SENDING, run_id, now, bulletin_id, fields[0], RETRY),
                    )
                if taken is not None:
                    claimed.append(PushSubscription(*fields))
        return claimed

    def record(self, bulletin_id: str, subscription_id: int, state: str, http_status: int | None) -> None:
        """What the push service answered for one subscription."""
        self.record_many(bulletin_id, [(subscription_id, state, http_status)])

    def record_many(self, bulletin_id: str, results: list[tuple[int, str, int | None]]) -> None:
        """What the push service answered, ``(subscription id, state, HTTP status)`` each, in one transaction; the
        subscriptions ``gone`` are deleted with it."""
        now = time.time()
        with self.db.transaction():
            self.db.many(
                "UPDATE push_deliveries SET state = ?, http_status = ?, updated_at = ?"
                " WHERE bulletin_id = ? AND subscription_id = ?",
                [(state, status, now, bulletin_id, sid) for sid, state, status in results],
            )
            self.db.many(
                "DELETE FROM push_subscriptions WHERE id = ?", [(sid,) for sid, state, _ in results if state == GONE]
            )

    def attempts(self, bulletin_id: str, subscription_id: int) -> int:
        return int(
            self.db.scalar(
                "SELECT attempts FROM push_deliveries WHERE bulletin_id = ? AND subscription_id = ?",
                (bulletin_id, subscription_id),
            )
            or 0
        )

    def totals(self, bulletin_id: str) -> dict[str, int]:
        """Rows of this bulletin's ledger by state."""
        rows = self.db.all(
            "SELECT state, COUNT(*) FROM push_deliveries WHERE bulletin_id = ? GROUP BY state", (bulletin_id,)
        )
        return {state: int(n) for state, n in rows}

    def states(self, bulletin_id: str) -> Iterator[tuple[int, str]]:
        yield from (
            (int(i), str(s))
            for i, s in self.db.all(
                "SELECT subscription_id, state FROM push_deliveries WHERE bulletin_id = ? ORDER BY subscription_id",
                (bulletin_id,),
            )
        )
