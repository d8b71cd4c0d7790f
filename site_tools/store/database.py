"""One database code path for SQLite (the default, a file) and PostgreSQL (by URL).

SQL in this project is written once, with ``?`` placeholders and portable
syntax (``ON CONFLICT``, ``RETURNING``); :class:`Database` adapts the few
differences: placeholders, identity columns, ``FOR UPDATE SKIP LOCKED``.
Schema changes are numbered migrations applied in order, recorded in
``schema_migrations``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from site_tools.store.migrations import _TYPES, MIGRATIONS


@dataclass(frozen=True)
class Target:
    dialect: str
    location: str  # a file path for SQLite, a conninfo URL for PostgreSQL

    def describe(self) -> str:
        """For logs: never print a password."""
        hidden = re.sub(r"//([^:/@]+):[^@]*@", r"//\1:•••@", self.location)
        return re.sub(r"([?&]password=)[^&]*", r"\1•••", hidden)  # libpq takes it as a parameter too


def parse_url(url: str | None, default_dir: Path | None = None) -> Target:
    """The store at ``url``; without one, ``data/site-tools.db`` in ``default_dir`` (the current folder).

    The package reads ``SITE_TOOLS_DB`` in one place, :mod:`site_tools.settings`: its callers pass it here.
    """
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


class StoreUnavailable(Exception):
    """A transient failure: the connection dropped (and could not be made again yet), the database is busy
    or locked, a transaction lost a race. Nothing was changed; the caller retries later, with backoff."""


#: SQLite's primary result codes that mean "try again later" (its extended codes keep these in the low byte):
#: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CANTOPEN. Anything else ("no such column", a syntax
#: error, a constraint) is a bug in the SQL or the schema: retrying would repeat it forever.
SQLITE_TRANSIENT = {5: "SQLITE_BUSY", 6: "SQLITE_LOCKED", 10: "SQLITE_IOERR", 14: "SQLITE_CANTOPEN"}


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - SQLite-only installs
        return None
    return psycopg


def _transient(exc: BaseException) -> bool:
    """Errors that mean "try again later", for both drivers.

    SQLite: by result code (:data:`SQLITE_TRANSIENT`). PostgreSQL: the connection-level errors (a failed
    or dropped connection, an administrator's shutdown, a cancelled statement, lack of resources) and the
    transaction that lost a race (serialization failure, deadlock), which the caller retries whole. A
    ``ProgrammingError`` (an undefined column, a syntax error), a constraint the code does not expect and
    SQLSTATE class 54 ("program limit exceeded") are bugs.
    """
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(code, int) and (code & 0xFF) in SQLITE_TRANSIENT
    psycopg = _psycopg()
    if psycopg is None:
        return False
    if isinstance(exc, psycopg.errors.ProgramLimitExceeded):
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def store_bug(exc: BaseException) -> bool:
    """A database error that retrying cannot fix: the loop that met it must stop and say so."""
    if isinstance(exc, sqlite3.Error):
        return not _transient(exc)
    psycopg = _psycopg()
    return psycopg is not None and isinstance(exc, psycopg.Error) and not _transient(exc)


def describe_error(exc: BaseException) -> str:
    """``SQLITE_ERROR: no such column: x`` or ``UndefinedColumn (42703): column "x" does not exist``."""
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
        return f"{name}: {text}"
    sqlstate = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__}{f' ({sqlstate})' if sqlstate else ''}: {text}"


#: No statement waits longer than this for the server's answer: a connection that stops answering without
#: closing (a frozen server, a middlebox keeping a half-open socket) must not hold a caller forever.
QUERY_TIMEOUT = 30.0


def _timed_connection() -> Any:
    """psycopg's Connection whose every wait on the socket is bounded by :data:`QUERY_TIMEOUT`.

    On expiry the connection is closed (its state is unknown) and the wait raises an
    OperationalError: the caller sees :class:`StoreUnavailable` and the next call connects again.
    """
    import psycopg

    class TimedConnection(psycopg.Connection):
        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            try:
                return super().wait(gen, interval=interval, timeout=QUERY_TIMEOUT if timeout is None else timeout)
            except psycopg.errors._WaitTimeout:
                self.pgconn.finish()
                raise

    return TimedConnection


class Database:
    """A connection with the project's SQL conventions, that reconnects after a drop.

    A dropped connection (a server restart, a failover, ``pg_terminate_backend``)
    is noticed on the next statement: the connection is made again and a lone
    statement is retried once; inside a transaction the whole unit fails with
    :class:`StoreUnavailable` (nothing half-written) and the caller retries it.
    """

    def __init__(self, target: Target):
        self.target = target
        self.dialect = target.dialect
        self._lock = threading.RLock()
        self._depth = 0
        self.conn: Any = None
        self.reconnects = 0
        self._connect()

    def _connect(self) -> None:
        if self.dialect == "sqlite":
            if self.target.location != ":memory:":
                Path(self.target.location).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.target.location, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self.conn = conn
        else:
            self.conn = _timed_connection().connect(
                self.target.location,
                autocommit=True,
                connect_timeout=5,
                # A peer that died without closing (a failover, a cut cable) is noticed in seconds, not minutes.
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
                tcp_user_timeout=30_000,
            )

    def _broken(self) -> bool:
        if self.conn is None:
            return True
        return self.dialect == "postgresql" and bool(self.conn.closed or self.conn.broken)

    def _ensure(self) -> None:
        if not self._broken():
            return
        if self._depth:
            raise StoreUnavailable("the connection dropped inside a transaction: it was rolled back")
        if self.target.location == ":memory:":
            raise StoreUnavailable("the in-memory database is gone")
        try:
            if self.conn is not None:
                self.conn.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail in any way
            pass
        self.conn = None
        try:
            self._connect()
        except Exception as exc:
            if _transient(exc):
                raise StoreUnavailable(f"database unreachable ({type(exc).__name__})") from exc
            raise
        self.reconnects += 1

    def _run(self, action: Any) -> Any:
        """Run ``action(conn)``; reconnect after a drop; retry a lone statement once."""
        with self._lock:
            for attempt in (1, 2):
                self._ensure()
                try:
                    return action(self.conn)
                except Exception as exc:
                    if not _transient(exc):
                        raise
                    lost = self._broken()
                    if self._depth or not lost or attempt == 2:
                        raise StoreUnavailable(describe_error(exc)) from exc
            raise AssertionError("unreachable")

    @classmethod
    def open(cls, url: str | None = None, default_dir: Path | None = None) -> Database:
        db = cls(parse_url(url, default_dir))
        db.migrate()
        return db

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def ping(self) -> None:
        """Raise StoreUnavailable when the database cannot answer a trivial query."""
        self.scalar("SELECT 1")

    # -- SQL -----------------------------------------------------------------
    def sql(self, text: str) -> str:
        if self.dialect == "postgresql":
            text = text.replace("?", "%s")
            text = text.replace("{skip_locked}", "FOR UPDATE SKIP LOCKED")
            text = text.replace("{for_update}", "FOR UPDATE")
        else:
            text = text.replace("{skip_locked}", "").replace("{for_update}", "")
        return text

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        sql, args = self.sql(text), tuple(params)
        return self._run(lambda conn: conn.execute(sql, args))

    def all(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        sql, args = self.sql(text), tuple(params)
        return self._run(lambda conn: list(conn.execute(sql, args).fetchall()))

    def one(self, text: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        sql, args = self.sql(text), tuple(params)
        return self._run(lambda conn: conn.execute(sql, args).fetchone())

    def scalar(self, text: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (a count, an id); None when there is no row."""
        row = self.one(text, params)
        return None if row is None else row[0]

    def many(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        sql = self.sql(text)

        def action(conn: Any) -> None:
            if self.dialect == "sqlite":
                conn.executemany(sql, rows)
            else:
                with conn.cursor() as cur:
                    cur.executemany(sql, rows)

        self._run(action)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite: writers queue, never deadlock).

        Nested calls join the outer transaction. A drop inside it rolls everything back and raises
        :class:`StoreUnavailable`.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._ensure()
            self._depth = 1
            try:
                if self.dialect == "sqlite":
                    yield from self._sqlite_transaction()
                else:
                    yield from self._pg_transaction()
            finally:
                self._depth = 0

    def _sqlite_transaction(self) -> Iterator[Database]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            if _transient(exc):
                raise StoreUnavailable(f"database busy: {describe_error(exc)}") from exc
            raise
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if _transient(exc):
                raise StoreUnavailable(f"commit failed: {describe_error(exc)}") from exc
            raise

    def _pg_transaction(self) -> Iterator[Database]:
        try:
            with self.conn.transaction():
                yield self
        except StoreUnavailable:
            raise
        except Exception as exc:
            if _transient(exc):
                raise StoreUnavailable(describe_error(exc)) from exc
            raise

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
