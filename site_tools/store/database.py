"""One database code path for SQLite (the default, a file) and PostgreSQL (by URL).

SQL in this project is written once, with ``?`` placeholders and portable
syntax (``ON CONFLICT``, ``RETURNING``); :class:`Database` adapts the few
differences: placeholders, identity columns, ``FOR UPDATE SKIP LOCKED``.
Schema changes are numbered migrations applied in order, recorded in
``schema_migrations``.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from site_tools.store.migrations import _TYPES, MIGRATIONS

DEFAULT_URL_ENV = "SITE_TOOLS_DB"


@dataclass(frozen=True)
class Target:
    dialect: str
    location: str  # a file path for SQLite, a conninfo URL for PostgreSQL

    def describe(self) -> str:
        """For logs: never print a password."""
        return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:•••@", self.location)


def parse_url(url: str | None, default_dir: Path | None = None) -> Target:
    url = url or os.environ.get(DEFAULT_URL_ENV)
    if not url:
        folder = default_dir or Path.cwd() / "data"
        return Target("sqlite", str(folder / "site-tools.db"))
    if url.startswith(("postgresql://", "postgres://")):
        return Target("postgresql", url)
    if url.startswith("sqlite:///"):
        return Target("sqlite", url[len("sqlite:///") :] or ":memory:")
    if "://" in url:
        raise ValueError(f"unsupported database URL {url!r}: use a file path, sqlite:///path or postgresql://…")
    return Target("sqlite", url)


class Database:
    """A connection with the project's SQL conventions. Not shared between threads."""

    def __init__(self, target: Target):
        self.target = target
        self.dialect = target.dialect
        self._lock = threading.RLock()
        if self.dialect == "sqlite":
            if target.location != ":memory:":
                Path(target.location).parent.mkdir(parents=True, exist_ok=True)
            self.conn: Any = sqlite3.connect(target.location, isolation_level=None, check_same_thread=False, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=30000")
        else:
            import psycopg

            self.conn = psycopg.connect(target.location, autocommit=True)
        self._depth = 0

    @classmethod
    def open(cls, url: str | None = None, default_dir: Path | None = None) -> Database:
        db = cls(parse_url(url, default_dir))
        db.migrate()
        return db

    def close(self) -> None:
        self.conn.close()

    # -- SQL -----------------------------------------------------------------
    def sql(self, text: str) -> str:
        if self.dialect == "postgresql":
            text = text.replace("?", "%s")
            text = text.replace("{skip_locked}", "FOR UPDATE SKIP LOCKED")
        else:
            text = text.replace("{skip_locked}", "")
        return text

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self.conn.execute(self.sql(text), tuple(params))

    def all(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self.conn.execute(self.sql(text), tuple(params)).fetchall())

    def one(self, text: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            return self.conn.execute(self.sql(text), tuple(params)).fetchone()

    def scalar(self, text: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (a count, an id); None when there is no row."""
        row = self.one(text, params)
        return None if row is None else row[0]

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self._lock:
            if self.dialect == "sqlite":
                self.conn.executemany(self.sql(text), rows)
            else:
                with self.conn.cursor() as cur:
                    cur.executemany(self.sql(text), rows)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite: writers queue, never deadlock)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                if self.dialect == "sqlite":
                    self.conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield self
                    except BaseException:
                        self.conn.execute("ROLLBACK")
                        raise
                    self.conn.execute("COMMIT")
                else:
                    with self.conn.transaction():
                        yield self
            finally:
                self._depth = 0

    # -- schema --------------------------------------------------------------
    def migrate(self) -> int:
        """Apply missing migrations; return the schema version."""
        with self.transaction():
            self.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
            if self.dialect == "postgresql":
                # Two processes starting together must not both migrate.
                self.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
            done = {row[0] for row in self.all("SELECT version FROM schema_migrations")}
            for version, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements:
                    self.execute(statement.format(**_TYPES[self.dialect]))
                self.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)", (version,)
                )
        return max(v for v, _ in MIGRATIONS)
