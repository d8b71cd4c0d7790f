"""Publish jobs: one row each, shared by every replica of the service through the store.

A job has a unique ``key`` (``push:<run id>:<attempt>``, ``tick:<minute>``): asking twice for the same
publish — two replicas' clocks at the same minute, a request sent again — makes one job. A replica takes a
job with a *lease* (``owner``, ``lease_until``) and renews it while it works (:meth:`Jobs.renew`); a replica
that dies stops renewing, and once the lease has run out another one takes the job again
(:meth:`Jobs.claim`): the delivery ledger makes running a publish twice safe (what was sent is not sent
again). A job taken :data:`MAX_ATTEMPTS` times without finishing is failed, not retried for ever.

The run's output goes to ``job_lines`` (:meth:`Jobs.add_lines`, :meth:`Jobs.lines`), so whichever replica
answered the request streams it, wherever the job runs.

Why not procrastinate or pgqueuer: both are PostgreSQL-only, and a town's default store is SQLite on one
small server; the queue holds a few jobs a day, and what must be exactly-once — each recipient — is the
ledger's, in the same store and transactions. A lease on a row, claimed with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, is all the queue the jobs need (docs/architecture/trusted-publishing.md says more).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from site_tools.store.database import Database

#: A job taken this many times (its runner died each time) is failed: something kills it, a person looks.
MAX_ATTEMPTS = 3
#: States a job ends in.
FINAL = ("done", "failed")


@dataclass(frozen=True)
class Job:
    id: int
    key: str
    kind: str
    args: dict[str, Any]
    state: str
    attempts: int
    owner: str | None = None
    exit_code: int | None = None
    result: dict[str, Any] | None = None
    created_at: float = 0.0
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINAL


_COLUMNS = "id, key, kind, args, state, attempts, owner, exit_code, result, created_at, finished_at"


def _job(row: Sequence[Any]) -> Job:
    return Job(
        int(row[0]),
        row[1],
        row[2],
        json.loads(row[3]),
        row[4],
        int(row[5]),
        row[6],
        row[7],
        json.loads(row[8]) if row[8] else None,
        float(row[9]),
        row[10],
    )


class Jobs:
    def __init__(self, db: Database):
        self.db = db

    def enqueue(self, kind: str, key: str, args: dict[str, Any], at: float | None = None) -> tuple[int, bool]:
        """(job id, new): the job with this key, made now if there was none."""
        row = self.db.one(
            "INSERT INTO jobs (key, kind, args, state, attempts, created_at) VALUES (?, ?, ?, 'queued', 0, ?)"
            " ON CONFLICT (key) DO NOTHING RETURNING id",
            (key, kind, json.dumps(args, sort_keys=True), at or time.time()),
        )
        if row is not None:
            return int(row[0]), True
        return int(self.db.scalar("SELECT id FROM jobs WHERE key = ?", (key,))), False

    def claim(self, owner: str, lease: float, now: float | None = None) -> Job | None:
        """The oldest job waiting, or one whose runner's lease ran out, now ``owner``'s for ``lease`` seconds."""
        now = now or time.time()
        with self.db.transaction():
            self.db.execute(
                "UPDATE jobs SET state = 'failed', finished_at = ?, owner = NULL, exit_code = 3,"
                " result = ? WHERE state = 'running' AND lease_until < ? AND attempts >= ?",
                (now, json.dumps({"exit": 3, "error": "interrotto troppe volte"}), now, MAX_ATTEMPTS),
            )
            row = self.db.one(
                f"UPDATE jobs SET state = 'running', owner = ?, lease_until = ?, attempts = attempts + 1"
                f" WHERE id = (SELECT id FROM jobs WHERE state = 'queued' OR (state = 'running' AND lease_until < ?)"
                f" ORDER BY id LIMIT 1 {{skip_locked}}) RETURNING {_COLUMNS}",
                (owner, now + lease, now),
            )
        return _job(row) if row else None

    def renew(self, job_id: int, owner: str, lease: float) -> bool:
        """Still ours: the lease runs ``lease`` seconds more. False when another replica has taken the job."""
        cur = self.db.execute(
            "UPDATE jobs SET lease_until = ? WHERE id = ? AND owner = ? AND state = 'running'",
            (time.time() + lease, job_id, owner),
        )
        return cur.rowcount > 0

    def finish(self, job_id: int, owner: str, exit_code: int, result: dict[str, Any]) -> bool:
        cur = self.db.execute(
            "UPDATE jobs SET state = ?, exit_code = ?, result = ?, finished_at = ?, lease_until = NULL"
            " WHERE id = ? AND owner = ? AND state = 'running'",
            ("done" if exit_code == 0 else "failed", exit_code, json.dumps(result), time.time(), job_id, owner),
        )
        return cur.rowcount > 0

    def get(self, job_id: int) -> Job | None:
        row = self.db.one(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    def recent(self, limit: int = 20) -> list[Job]:
        return [_job(r) for r in self.db.all(f"SELECT {_COLUMNS} FROM jobs ORDER BY id DESC LIMIT ?", (limit,))]

    def waiting(self, now: float | None = None) -> int:
        """Jobs queued, or running under a lease that ran out (their runner is gone)."""
        return int(
            self.db.scalar(
                "SELECT COUNT(*) FROM jobs WHERE state = 'queued' OR (state = 'running' AND lease_until < ?)",
                (now or time.time(),),
            )
        )

    def oldest_waiting_age(self, now: float | None = None) -> float:
        """Seconds the queue has gone untended (0 when it is tended): the longest a job has waited while no replica
        was working — a job whose runner's lease ran out (since then), or a queued job when no job is running
        under a live lease (a queued job behind a long publish is only waiting its turn)."""
        now = now or time.time()
        expired = self.db.scalar(
            "SELECT MIN(lease_until) FROM jobs WHERE state = 'running' AND lease_until < ?", (now,)
        )
        busy = self.db.scalar("SELECT 1 FROM jobs WHERE state = 'running' AND lease_until >= ? LIMIT 1", (now,))
        queued = None if busy else self.db.scalar("SELECT MIN(created_at) FROM jobs WHERE state = 'queued'")
        moments = [float(m) for m in (expired, queued) if m is not None]
        return max(0.0, now - min(moments)) if moments else 0.0

    def has_key_prefix(self, prefix: str) -> bool:
        """A job whose key starts so exists (``push:<repository id>:<run id>:``: that run asked for a publish)."""
        return (
            self.db.scalar("SELECT 1 FROM jobs WHERE substr(key, 1, ?) = ? LIMIT 1", (len(prefix), prefix)) is not None
        )

    def add_lines(self, job_id: int, lines: Sequence[str]) -> None:
        now = time.time()
        self.db.many("INSERT INTO job_lines (job_id, at, line) VALUES (?, ?, ?)", [(job_id, now, x) for x in lines])

    def lines(self, job_id: int, after: int = 0, limit: int = 1000) -> list[tuple[int, str]]:
        """(line id, text) written after line id ``after``, in order."""
        return [
            (int(r[0]), r[1])
            for r in self.db.all(
                "SELECT id, line FROM job_lines WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
                (job_id, after, limit),
            )
        ]

    def prune(self, older_than: float) -> int:
        """Finished jobs and their lines, past ``older_than`` (the lines may name bulletins, never a number)."""
        with self.db.transaction():
            self.db.execute(
                "DELETE FROM job_lines WHERE job_id IN (SELECT id FROM jobs WHERE state IN ('done', 'failed')"
                " AND finished_at < ?)",
                (older_than,),
            )
            return self.db.execute(
                "DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < ?", (older_than,)
            ).rowcount
