"""What the service remembers across restarts and replicas: a small key-value table, and the moments the
delivery ledger is waiting for (a send to resume).

* :meth:`ServiceState.get` / :meth:`ServiceState.put` — a value by name;
* :meth:`ServiceState.swap` — compare and set: the one replica whose write changed the value acts on the change
  (the site's fingerprint: one rebuild per change, however many replicas noticed it);
* :meth:`ServiceState.resumes` — sends left ``waiting`` or ``paused`` and when each may go on.
"""

from __future__ import annotations

import time

from site_tools.store.database import Database

#: Keys of live credentials (a session's tokens): kept like the others, but never copied into a backup
#: (store/backup.py). A channel that keeps one names its key with this prefix (channels/bluesky.py).
SECRET_PREFIX = "secret."


class ServiceState:
    def __init__(self, db: Database):
        self.db = db

    def get(self, key: str) -> str | None:
        row = self.db.one("SELECT value FROM service_state WHERE key = ?", (key,))
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO service_state (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, value, time.time()),
        )

    def put_many(self, values: dict[str, str]) -> None:
        with self.db.transaction():
            for key, value in values.items():
                self.put(key, value)

    def swap(self, key: str, value: str) -> bool:
        """Set ``key`` to ``value``; True only for the one caller that changed it (False: it was ``value``)."""
        with self.db.transaction():
            inserted = self.db.all(
                "INSERT INTO service_state (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING RETURNING key",
                (key, value, time.time()),
            )
            if inserted:
                return True
            changed = self.db.all(
                "UPDATE service_state SET value = ?, updated_at = ? WHERE key = ? AND value <> ? RETURNING key",
                (value, time.time(), key, value),
            )
            return bool(changed)

    def resumes(self, pause: float) -> list[float]:
        """When each send left ``waiting`` or ``paused`` may go on: its first recipient due again (131049: after
        24 hours), or ``pause`` seconds after the run that stopped it."""
        rows = self.db.all(
            "SELECT p.finished_at, p.started_at, (SELECT MIN(d.next_attempt_at) FROM deliveries d"
            " WHERE d.bulletin_id = p.bulletin_id AND d.channel = p.channel AND d.state = 'retry'"
            " AND d.next_attempt_at IS NOT NULL) FROM publications p WHERE p.state IN ('waiting', 'paused')"
        )
        now = time.time()
        return [
            float(due) if due is not None else float(finished or started or now) + pause
            for finished, started, due in rows
        ]
