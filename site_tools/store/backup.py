"""Backups of the store and restoring them: one format for both databases, a SQLite file.

A backup reads every table in one snapshot (PostgreSQL: a ``REPEATABLE READ, READ ONLY`` transaction; SQLite: one
read transaction, which WAL mode isolates from the writers) and streams the rows, in batches, into a new SQLite
file whose schema is made by the store's own migrations, up to the source's version. The file also holds
``site_tools_backup``: the format, the schema version, the site-tools version, the source's dialect, when, and the
rows per table. So one format serves both stores and restores into either (a SQLite town moves to PostgreSQL by
backup and restore), needs no ``pg_dump`` of the server's major version, and skips the tables that need no backup.

Restoring checks the file first (a SQLite file, intact, of this format, from a schema this code knows, the rows it
says it holds), migrates a copy of an older backup, then writes the target in one transaction: refused when the
target holds anything (unless ``replace``: then emptied in the same transaction), rows streamed in (``COPY`` on
PostgreSQL), identity sequences moved past the restored ids, and the counts checked before the commit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from site_tools import __version__
from site_tools.store.database import Database, Target, describe_error
from site_tools.store.migrations import _TYPES, MIGRATIONS
from site_tools.store.service_state import SECRET_PREFIX

FORMAT = "site-tools-backup/1"
#: The backup's own table: what it is and what it holds. Not a table of the store (a test checks the name is free).
INFO_TABLE = "site_tools_backup"
SUFFIX = ".sqlite"
#: The name of a backup written into a folder; ``--keep`` prunes only files with this name.
NAME = re.compile(r"^site-tools-(\d{8}T\d{6}Z)" + re.escape(SUFFIX) + r"$")
#: Rows read, written and held in memory at a time; of a table with a binary column (the counter's media, up to
#: 25 MB each), a few.
BATCH = 2000
BLOB_BATCH = 4
SQLITE_MAGIC = b"SQLite format 3\x00"

#: Every table of the store, and whether a backup keeps it. A migration that adds a table must add it here
#: (tests/test_backup.py fails otherwise); a table missing from both is kept, the safe default.
KEEP: dict[str, str] = {
    "subscribers": "numbers, consent (date, source, text) and opt-outs: a legal record",
    "candidates": "the app's contacts waiting for a basis of consent (coexistence), and their answers",
    "publications": "the ledger: what went out on which channel",
    "deliveries": "the ledger: who was sent what (never twice to a person)",
    "runs": "the ledger: the runs that sent",
    "refusals": "bulletins refused, reported once",
    "adoption": "when this store adopted the repository (older bulletins are never sent)",
    "bulletin_origins": "which file each sent bulletin id stood for",
    "events": "webhook events stored before they were acknowledged",
    "inbound": "ids of inbound messages already handled",
    "pending_receipts": "receipts waiting for their delivery",
    "outbox": "replies to citizens",
    "auto_replies": "days a number had an automatic answer",
    "rate_budget": "the shared sending budget",
    "conversations": "the counter's conversations",
    "conversation_messages": "the counter's messages",
    "media_blobs": "the counter's media",
    "reply_statuses": "receipts of the replies",
    "staff": "staff accounts",
    "login_throttle": "failed logins being throttled",
    "audit_log": "what staff did",
    "used_tokens": "publish tokens already used (a replay stays refused)",
    "jobs": "publish jobs and their results",
    "job_lines": "publish jobs' output",
    "service_state": "what the service remembers across restarts",
    "push_subscriptions": "the browsers subscribed to the site's notifications (Web Push)",
    "push_deliveries": "the Web Push ledger: which browser was sent what (never twice)",
    "newsletter_addresses": "the newsletter's addresses and their double opt-in (date, source, text): a legal record",
    "newsletter_deliveries": "the newsletter's ledger: who was sent which bulletin (never twice to an address)",
}
SKIP: dict[str, str] = {
    "parsed_bulletins": "the parse cache: rebuilt from content/ by the next publish",
    "staff_sessions": "logins: after a restore staff log in again (a session ended since the backup stays ended)",
}
#: Rows a kept table's backup leaves out, as an SQL condition on the rows it keeps: live credentials. A backup is
#: copied off the server, and a restored credential would be stale anyway (the service logs in again).
KEEP_ROWS: dict[str, str] = {
    "service_state": f"key NOT LIKE '{SECRET_PREFIX}%'",  # the Bluesky session (channels/bluesky.py)
}
#: Handled apart: copied as the backup's schema version, never emptied.
MIGRATIONS_TABLE = "schema_migrations"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message (Italian, for town staff) names the thing and the fix."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    schema_version: int
    site_tools_version: str
    source: str  # "sqlite" or "postgresql"
    created_at: str  # ISO 8601, UTC
    counts: dict[str, int]
    skipped: dict[str, str] = field(default_factory=dict)


def known_version() -> int:
    return max(version for version, _ in MIGRATIONS)


def schema_tables(version: int | None = None) -> list[str]:
    """The store's tables at schema ``version`` (default: this code's), as the migrations make them, without
    ``schema_migrations``. Only these are read, emptied or written: a database the store shares with other
    tables (PostgreSQL's ``public`` schema) keeps those out of its backups, and a restore never touches them."""
    scratch = sqlite3.connect(":memory:")
    try:
        _create_schema(scratch, known_version() if version is None else version)
        return _tables(scratch)
    finally:
        scratch.close()


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
    return sorted(name for (name,) in rows if name not in (MIGRATIONS_TABLE, INFO_TABLE))


def backup_name(at: float) -> str:
    return f"site-tools-{datetime.fromtimestamp(at, UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"


# -- backup ----------------------------------------------------------------------------------------------------------
def backup(db: Database, dest: Path, on_table: Callable[[str, int], None] | None = None) -> BackupInfo:
    """Write the store behind ``db`` to the new file ``dest`` (a temporary name, then an atomic rename).

    ``on_table(name, rows)`` is called after each table is copied, inside the snapshot."""
    if dest.exists():
        raise BackupError(f"{dest} esiste già: scegli un altro nome o una cartella.")
    if not dest.parent.is_dir():
        raise BackupError(f"la cartella {dest.parent} non esiste: creala o scegline un'altra.")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    # Personal data: readable by its owner only, whatever the umask (an empty file is a new SQLite database).
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        info = _write(db, tmp, on_table)
        _durable_rename(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupInfo(dest, dest.stat().st_size, *info)


def _write(
    db: Database, tmp: Path, on_table: Callable[[str, int], None] | None
) -> tuple[int, str, str, str, dict[str, int], dict[str, str]]:
    out = sqlite3.connect(tmp, isolation_level=None)
    try:
        out.execute("PRAGMA journal_mode=OFF")  # a new file, renamed only once complete: no journal needed
        out.execute("PRAGMA synchronous=OFF")  # fsync'd once, before the rename
        out.execute("BEGIN")
        with snapshot(db) as read:
            version, migrations = _source_version(read)
            created = datetime.now(UTC).isoformat(timespec="seconds")  # the snapshot's time: its first read is done
            _create_schema(out, version)
            out.executemany(f"INSERT INTO {MIGRATIONS_TABLE} (version, applied_at) VALUES (?, ?)", migrations)
            counts: dict[str, int] = {}
            tables = _tables(out)
            for table in tables:
                if table in SKIP:
                    continue
                counts[table] = _copy_out(read, out, table)
                if on_table is not None:
                    on_table(table, counts[table])
        skipped = {table: SKIP[table] for table in tables if table in SKIP}
        out.execute(f"CREATE TABLE {INFO_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = {
            "format": FORMAT,
            "schema_version": str(version),
            "site_tools_version": __version__,
            "source": db.dialect,
            "created_at": created,
            "counts": json.dumps(counts),
            "skipped": json.dumps(skipped),
        }
        out.executemany(f"INSERT INTO {INFO_TABLE} (key, value) VALUES (?, ?)", list(meta.items()))
        out.execute("COMMIT")
    finally:
        out.close()
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    return version, __version__, db.dialect, created, counts, skipped


@dataclass
class _Reader:
    """Reads of the source inside its snapshot."""

    db: Database

    def batch_size(self, table: str) -> int:
        if self.db.dialect == "postgresql":
            blobs = self.all(
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema()"
                f" AND table_name = '{table}' AND data_type = 'bytea'"
            )
        else:
            blobs = self.all(f"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE type = 'BLOB'")
        return BLOB_BATCH if blobs[0][0] else BATCH

    def rows(self, table: str) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
        """``(columns, batch)`` pairs: a server-side cursor on PostgreSQL, ``fetchmany`` on SQLite."""
        size = self.batch_size(table)
        conn = self.db.conn
        cursor = conn.cursor(name="site_tools_backup") if self.db.dialect == "postgresql" else conn.cursor()
        try:
            where = f" WHERE {KEEP_ROWS[table]}" if table in KEEP_ROWS else ""
            cursor.execute(f"SELECT * FROM {table}{where}")
            columns: list[str] | None = None
            while True:
                batch = cursor.fetchmany(size)
                if columns is None:
                    columns = [d[0] for d in cursor.description]
                if not batch:
                    if columns is not None:
                        yield columns, []
                    return
                yield columns, batch
        finally:
            cursor.close()

    def all(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.db.conn.execute(sql).fetchall())


@contextmanager
def snapshot(db: Database) -> Iterator[_Reader]:
    """One consistent, read-only view of the whole store, whatever others write meanwhile."""
    with db._lock:
        db._ensure()
        conn = db.conn
        if db.dialect == "postgresql":
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield _Reader(db)
        else:
            conn.execute("BEGIN")  # deferred: the snapshot is taken by the first read, and kept until the end
            try:
                yield _Reader(db)
            finally:
                conn.execute("ROLLBACK")


def _source_version(read: _Reader) -> tuple[int, list[tuple[Any, ...]]]:
    try:
        migrations = read.all(f"SELECT version, applied_at FROM {MIGRATIONS_TABLE} ORDER BY version")
    except Exception as exc:
        raise BackupError(
            f"l'archivio non sembra di site-tools (manca la tabella {MIGRATIONS_TABLE}: {describe_error(exc)})."
        ) from exc
    if not migrations:
        raise BackupError("l'archivio è vuoto (nessuna versione dello schema): non c'è nulla da salvare.")
    version = max(int(v) for v, _ in migrations)
    if version > known_version():
        raise BackupError(
            f"l'archivio è alla versione {version} dello schema, questo site-tools conosce fino alla "
            f"{known_version()}: usa la versione di site-tools che il servizio usa."
        )
    return version, [(int(v), None if at is None else str(at)) for v, at in migrations]


def _create_schema(out: sqlite3.Connection, version: int) -> None:
    """The store's schema as SQLite has it, up to ``version``: the same migrations as a live store."""
    out.execute(f"CREATE TABLE {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for number, statements in MIGRATIONS:
        if number <= version:
            for statement in statements:
                out.execute(statement.format(**_TYPES["sqlite"]))


def _copy_out(read: _Reader, out: sqlite3.Connection, table: str) -> int:
    total = 0
    for columns, batch in read.rows(table):
        if batch:
            out.executemany(_insert(table, columns), batch)
            total += len(batch)
    return total


def _insert(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _durable_rename(tmp: Path, dest: Path) -> None:
    os.replace(tmp, dest)
    try:
        fd = os.open(dest.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory handles
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune(folder: Path, keep: int, written: Path | None = None) -> list[Path]:
    """Delete all but the ``keep`` newest backups in ``folder`` (only files named as :data:`NAME`).

    ``written``, the backup just made, is always one of those kept: a name from a clock that was wrong (a future
    date) sorts after it, and would otherwise have it deleted."""
    ours = sorted((p for p in folder.iterdir() if NAME.match(p.name) and p.is_file()), key=lambda p: p.name)
    if written is not None and written in ours:
        ours.remove(written)
        keep -= 1
    doomed = ours[: max(0, len(ours) - keep)]
    for path in doomed:
        path.unlink()
    return doomed


# -- reading a backup --------------------------------------------------------------------------------------------------
def inspect(path: Path) -> BackupInfo:
    """What the backup at ``path`` holds, once it is shown to be whole: refused with :class:`BackupError` otherwise."""
    if not path.is_file():
        raise BackupError(f"{path} non esiste o non è un file.")
    with open(path, "rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(f"{path} non è un backup di site-tools (non è un file SQLite).")
    try:
        conn = _read_only(path)
        try:
            return _checked(path, conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} è danneggiato o incompleto ({describe_error(exc)}): usa un altro backup.") from exc


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _checked(path: Path, conn: sqlite3.Connection) -> BackupInfo:
    problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise BackupError(f"{path} è danneggiato ({problems[0]}): usa un altro backup.")
    try:
        meta = dict(conn.execute(f"SELECT key, value FROM {INFO_TABLE}").fetchall())
    except sqlite3.OperationalError as exc:
        raise BackupError(f"{path} è un file SQLite ma non un backup di site-tools.") from exc
    if meta.get("format") != FORMAT:
        raise BackupError(f"{path}: formato «{meta.get('format')}» sconosciuto (questo site-tools legge {FORMAT}).")
    version = int(meta["schema_version"])
    if version > known_version():
        raise BackupError(
            f"{path} viene da una versione più recente di site-tools ({meta['site_tools_version']}, schema "
            f"{version}; questa conosce fino allo schema {known_version()}): ripristinalo con quella versione."
        )
    counts: dict[str, int] = json.loads(meta["counts"])
    strange = sorted(set(counts) - set(schema_tables(version)))
    if strange:  # names from the file never reach a query unless they are the schema's own
        raise BackupError(f"{path} elenca tabelle che lo schema {version} non ha: non è un backup di site-tools.")
    _same_columns(path, conn, version)
    for table, expected in counts.items():
        found = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        if found != expected:
            raise BackupError(
                f"{path} è incompleto: la tabella {table} ha {found} righe invece di {expected}. Usa un altro backup."
            )
    return BackupInfo(
        path,
        path.stat().st_size,
        version,
        meta["site_tools_version"],
        meta["source"],
        meta["created_at"],
        counts,
        json.loads(meta.get("skipped", "{}")),
    )


def _same_columns(path: Path, conn: sqlite3.Connection, version: int) -> None:
    """Each table of the file has the columns the store's migrations give it at ``version``, no more, no fewer: a
    restore writes only those (a crafted name never reaches a statement)."""
    expected = sqlite3.connect(":memory:")
    try:
        _create_schema(expected, version)
        for table in schema_tables(version):
            wanted = [row[1] for row in expected.execute(f"SELECT * FROM pragma_table_info('{table}')")]
            found = [row[1] for row in conn.execute(f"SELECT * FROM pragma_table_info('{table}')")]
            if sorted(found) != sorted(wanted):
                raise BackupError(
                    f"{path}: la tabella {table} ha colonne diverse da quelle dello schema {version}: non è un backup "
                    "di site-tools (o è stato modificato). Usa un altro backup."
                )
    finally:
        expected.close()


# -- restore ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Restored:
    backup: BackupInfo
    counts: dict[str, int]  # rows restored per table (the backup's, and those its migration to this schema made)
    migrated_from: int | None  # the backup's schema version when it was older than this code's
    replaced: int  # rows the target held before (0 unless ``replace``)


def restore(path: Path, target: Target, replace: bool = False) -> Restored:
    """Restore the backup at ``path`` into the store at ``target`` (created when it does not exist)."""
    info = inspect(path)
    with tempfile.TemporaryDirectory(prefix="site-tools-restore-") as scratch:
        source, migrated_from = path, None
        if info.schema_version < known_version():
            source = Path(scratch) / path.name
            shutil.copyfile(path, source)
            _migrate_copy(source)
            migrated_from = info.schema_version
        db = Database(target)
        try:
            version = db.migrate()
            target_version = int(db.scalar(f"SELECT MAX(version) FROM {MIGRATIONS_TABLE}"))
            if target_version > version:
                raise BackupError(
                    f"l'archivio di destinazione è alla versione {target_version} dello schema, più recente di "
                    f"questo site-tools ({version}): usa la versione di site-tools che il servizio usa."
                )
            conn = _read_only(source)
            try:
                counts = _source_counts(conn)
                replaced = _load(db, conn, counts, replace)
            finally:
                conn.close()
        finally:
            db.close()
    return Restored(info, counts, migrated_from, replaced)


def _source_counts(source: sqlite3.Connection) -> dict[str, int]:
    """The rows to restore per table: the backup's (checked by :func:`inspect`), and on an older backup what its
    migration made too (a migration may fill a new table from others, as 5 fills ``adoption``)."""
    return {t: int(source.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in _tables(source) if t not in SKIP}


def _migrate_copy(copy: Path) -> None:
    """An older backup brought to this code's schema by the store's own migrations (on a copy: the file stays)."""
    db = Database(Target("sqlite", str(copy)))
    try:
        db.migrate()
        db.execute("PRAGMA journal_mode=DELETE")  # one file again, readable read-only
    finally:
        db.close()


def _load(db: Database, source: sqlite3.Connection, counts: dict[str, int], replace: bool) -> int:
    tables = schema_tables()
    missing = sorted(set(counts) - set(tables))
    if missing:
        raise BackupError(f"il backup ha tabelle che l'archivio non ha ({', '.join(missing)}): è di un'altra versione?")
    with db.transaction():
        rows = {table: int(db.scalar(f"SELECT COUNT(*) FROM {table}")) for table in tables}
        # What a backup skips (the parse cache, sessions) does not make a store worth keeping: it is emptied anyway.
        held = {table: n for table, n in rows.items() if n and table not in SKIP}
        if held and not replace:
            full = ", ".join(f"{table} ({n})" for table, n in held.items())
            raise BackupError(
                f"l'archivio di destinazione non è vuoto: {full}. Nulla è stato cambiato. Per sostituirne il "
                "contenuto con il backup aggiungi --replace (prima fai un backup di quello che c'è)."
            )
        stale = [table for table, n in rows.items() if n]
        if stale:
            _empty(db, stale)
        for table in counts:
            _copy_in(db, source, table)
        if db.dialect == "postgresql":
            _reset_identities(db, tables)
        for table, expected in counts.items():
            found = int(db.scalar(f"SELECT COUNT(*) FROM {table}"))
            if found != expected:
                raise BackupError(
                    f"dopo il ripristino la tabella {table} ha {found} righe invece di {expected}: annullato, "
                    "nulla è stato cambiato."
                )
    return sum(held.values())


def _empty(db: Database, tables: list[str]) -> None:
    if db.dialect == "postgresql":
        db.execute(f"TRUNCATE {', '.join(tables)}")
    else:
        for table in tables:
            db.execute(f"DELETE FROM {table}")


def _columns(db: Database, table: str) -> list[str]:
    """The target's own columns of ``table``: the only names a restore writes (never names read from the file)."""
    if db.dialect == "sqlite":
        return [row[1] for row in db.all(f"SELECT * FROM pragma_table_info('{table}')")]
    return [
        row[0]
        for row in db.all(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
    ]


def _batches(
    source: sqlite3.Connection, table: str, columns: list[str]
) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    found = {row[1]: row[2] for row in source.execute(f"SELECT * FROM pragma_table_info('{table}')")}
    if set(found) != set(columns):
        raise BackupError(
            f"nel backup la tabella {table} ha colonne diverse da quelle dell'archivio: non è un backup di questa "
            "versione di site-tools. Nulla è stato cambiato."
        )
    blobs = any(kind.upper() == "BLOB" for kind in found.values())
    cursor = source.execute(f"SELECT {', '.join(columns)} FROM {table}")
    while batch := cursor.fetchmany(BLOB_BATCH if blobs else BATCH):
        yield columns, batch


def _copy_in(db: Database, source: sqlite3.Connection, table: str) -> None:
    columns = _columns(db, table)
    if db.dialect == "sqlite":
        for _, batch in _batches(source, table, columns):
            db.conn.executemany(_insert(table, columns), batch)
        return
    with db.conn.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for _, batch in _batches(source, table, columns):
                for row in batch:
                    copy.write_row(row)


def _reset_identities(db: Database, tables: list[str]) -> None:
    """Each identity column's sequence moved past the restored ids, so new rows never collide with them."""
    rows = db.all(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    for table, column in rows:
        if table not in tables:  # another application's
            continue
        db.execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)",
            (table, column),
        )


def describe_age(info: BackupInfo, now: float | None = None) -> str:
    """How old the backup is, for the restore's warning: ``meno di un'ora``, ``3 ore``, ``2 giorni``."""
    created = datetime.fromisoformat(info.created_at).timestamp()
    hours = max(0.0, ((now if now is not None else time.time()) - created) / 3600)
    if hours < 1:
        return "meno di un'ora"
    if hours < 48:
        return f"{hours:.0f} ore"
    return f"{hours / 24:.0f} giorni"
