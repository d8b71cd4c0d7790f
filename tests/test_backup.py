"""Backup and restore of the store (``site-tools backup`` / ``restore``): everything comes back, on either database."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from site_tools.store import Store
from site_tools.store import backup as backups
from site_tools.store.conversations import Inbound
from site_tools.store.database import Database, parse_url
from site_tools.store.ledger import Result
from site_tools.store.migrations import MIGRATIONS

from .command import Ran, site_tools
from .services import phones, wait_for

PHONES = phones(6)


def populate(store: Store) -> dict[str, Any]:
    """A small town's store, made by the store's own methods: what a backup must bring back."""
    for i, phone in enumerate(PHONES):
        store.subscribers.subscribe(phone, "whatsapp" if i % 2 else "import", f"VALFIORITA ON {i}", at=1000.0 + i)
    store.subscribers.unsubscribe(PHONES[1], at=5000.5)
    store.subscribers.unsubscribe(PHONES[4], at=5001.25)
    store.ledger.start_run("run-1", 4242)
    assert store.ledger.claim_publication("2026-11-20-via-roma", "whatsapp_list", "api", "urgent", shared=True)
    assert store.ledger.claim_publication("2026-11-20-via-roma", "telegram", "api", "urgent", shared=False)
    store.ledger.finish_publication("2026-11-20-via-roma", "telegram", "sent", external_id="777", recipients=1)
    claimed = store.ledger.claim_new("2026-11-20-via-roma", "whatsapp_list", "run-1", 1, 10_000)
    results = []
    for n, (sub_id, delivery_id) in enumerate(sorted(claimed.items())):
        if n == 0:
            results.append(Result(delivery_id, sub_id, "failed", error_code=131026, error="undeliverable"))
        elif n == 1:
            results.append(Result(delivery_id, sub_id, "retry", error_code=130429, next_attempt_at=9999.5))
        else:
            results.append(Result(delivery_id, sub_id, "accepted", wamid=f"wamid.OUT{n}"))
    store.ledger.record_results(results)
    store.ledger.apply_status("wamid.OUT2", None, "read", "2026-11-20-via-roma", None)
    staff_id = store.staff.add("mario.rossi", "Mario Rossi", "$argon2id$fake")
    store.staff.open_session("sid-1", staff_id, 3600)
    conv, _ = store.conversations.record_inbound(
        PHONES[0], Inbound("wamid.IN1", "text", "Orari dell'anagrafe?", 2000.0)
    )
    _, photo = store.conversations.record_inbound(
        PHONES[0], Inbound("wamid.IN2", "image", None, 2001.0, media_id="m-1", media_mime="image/jpeg")
    )
    store.conversations.media_stored(photo, b"\xff\xd8\x00binary\x00\xff", "image/jpeg")
    outbox_id = store.outbox.queue(PHONES[0], "Dalle 9 alle 12.")
    store.conversations.add_answer(conv, staff_id, "text", "Dalle 9 alle 12.", outbox_id, client_key="k1", at=2100.0)
    store.staff.audit(staff_id, "answer", conv, "risposta")
    return {"conversation": conv, "staff": staff_id}


def contents(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a backup keeps, in a stable order."""
    tables = sorted(set(backups.schema_tables()) - set(backups.SKIP))
    return {table: sorted(store.db.all(f"SELECT * FROM {table}"), key=repr) for table in tables}


def seen_by_users(store: Store) -> dict[str, Any]:
    """What staff and citizens would check, through the store's own reads."""
    return {
        "exports": [store.export(phone) for phone in PHONES],
        "deliveries": store.ledger.delivery_counts("2026-11-20-via-roma"),
        "publications": store.ledger.publications(),
        "messages": store.conversations.messages(1),
        "media": store.conversations.media(1, 2),
        "staff": store.staff.by_username("mario.rossi"),
        "audit": store.staff.audit_log(),
    }


def destroy(url: str) -> None:
    """The store is gone: its file deleted, or its PostgreSQL schema dropped (and made again, empty)."""
    target = parse_url(url)
    if target.dialect == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(target.location + suffix).unlink(missing_ok=True)
        return
    import psycopg

    schema = re.search(r"search_path%3D(\w+)", url)
    assert schema is not None
    base = url.split("?")[0]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema[1]} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema[1]}")


def run(*args: str, cwd: Path) -> Ran:
    return site_tools(*args, cwd=cwd, env={"SITE_TOOLS_DB": None})


def backup_to(url: str, folder: Path, *extra: str) -> Path:
    folder.mkdir(exist_ok=True)
    before = set(folder.iterdir())
    ran = run("backup", str(folder), "--db", url, *extra, cwd=folder.parent)
    assert ran.returncode == 0, ran.stderr
    (written,) = set(folder.iterdir()) - before
    return written


# -- what is kept ------------------------------------------------------------------------------------------------------
def live_tables(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        rows = db.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
    else:
        rows = db.all("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    return {name for (name,) in rows} - {"schema_migrations"}


def test_every_table_of_the_store_has_a_backup_decision(store_url: str) -> None:
    db = Database.open(store_url)
    tables = live_tables(db)
    db.close()
    assert set(backups.schema_tables()) == tables
    undecided = tables - set(backups.KEEP) - set(backups.SKIP)
    assert not undecided, f"add these tables to KEEP or SKIP in site_tools/store/backup.py: {sorted(undecided)}"
    assert not set(backups.KEEP) & set(backups.SKIP)
    assert set(backups.KEEP) | set(backups.SKIP) == tables, "KEEP or SKIP names a table the schema does not have"
    assert backups.INFO_TABLE not in tables


# -- the round trip ----------------------------------------------------------------------------------------------------
def test_backup_destroy_restore_brings_everything_back(store_url: str, tmp_path: Path) -> None:
    store = Store.open(store_url)
    populate(store)
    before, seen = contents(store), seen_by_users(store)
    max_sub = store.db.scalar("SELECT MAX(id) FROM subscribers")
    max_delivery = store.db.scalar("SELECT MAX(id) FROM deliveries")
    store.close()

    file = backup_to(store_url, tmp_path / "backups")
    assert backups.NAME.match(file.name)
    assert file.stat().st_mode & 0o077 == 0  # personal data: the owner's only
    destroy(store_url)
    ran = run("restore", str(file), "--db", store_url, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "subscribers: 6" in ran.stdout and "deliveries: 4" in ran.stdout

    store = Store.open(store_url)
    assert contents(store) == before
    assert seen_by_users(store) == seen
    assert store.subscribers.get(PHONES[1]).opted_out_at == 5000.5  # type: ignore[union-attr]
    assert store.subscribers.get(PHONES[2]).consent_at == 1002.0  # type: ignore[union-attr]
    assert store.db.scalar("SELECT COUNT(*) FROM staff_sessions") == 0  # skipped: staff log in again
    # The store still works, and new rows take new ids.
    assert store.subscribers.subscribe(phones(1, start=100)[0], "whatsapp", "VALFIORITA ON", at=7000.0)
    assert store.db.scalar("SELECT MAX(id) FROM subscribers") == max_sub + 1
    store.ledger.start_run("run-2", 1)
    claimed = store.ledger.claim_new("2026-12-01-nuovo", "whatsapp_list", "run-2", 1, 10_000)
    assert len(claimed) == 5  # four still subscribed, and the new one
    assert min(claimed.values()) == max_delivery + 1
    assert store.outbox.queue(PHONES[0], "Altro") > 1
    store.close()


def test_what_the_commands_print_holds_no_personal_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(url)
    populate(store)
    store.close()
    ran = run("backup", str(tmp_path / "b.sqlite"), "--db", url, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert re.search(r"Backup scritto: .*b\.sqlite \(\d+ KB, schema \d+\)", ran.stdout)
    restored = run("restore", str(tmp_path / "b.sqlite"), "--db", str(tmp_path / "new.db"), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    for out in (ran, restored):
        text = out.stdout + out.stderr
        assert "subscribers: 6" in text
        assert "3933" not in text and "Orari" not in text and "mario" not in text


@pytest.mark.postgres
@pytest.mark.parametrize("direction", ["sqlite-to-postgresql", "postgresql-to-sqlite"])
def test_a_backup_restores_into_the_other_database(direction: str, pg_url: str, tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'store.db'}"
    source, target = (sqlite_url, pg_url) if direction.startswith("sqlite") else (pg_url, sqlite_url)
    store = Store.open(source)
    populate(store)
    before, seen = contents(store), seen_by_users(store)
    store.close()
    file = backup_to(source, tmp_path / "backups")
    ran = run("restore", str(file), "--db", target, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    store = Store.open(target)
    assert contents(store) == before
    assert seen_by_users(store) == seen
    assert store.subscribers.subscribe(phones(1, start=100)[0], "whatsapp", "VALFIORITA ON")
    assert store.db.scalar("SELECT MAX(id) FROM subscribers") == len(PHONES) + 1
    store.close()


# -- consistency -------------------------------------------------------------------------------------------------------
def test_a_backup_is_one_snapshot_while_another_connection_writes(store_url: str, tmp_path: Path) -> None:
    """Rows another connection commits while the backup runs (between two of its tables) are not half in it."""
    store = Store.open(store_url)
    populate(store)
    before = contents(store)
    writer = Store.open(store_url)
    wrote: list[str] = []

    def meanwhile(table: str, rows: int) -> None:
        if wrote:
            return
        new = phones(1, start=500)[0]
        writer.subscribers.subscribe(new, "whatsapp", "VALFIORITA ON")
        writer.ledger.claim_new("2026-11-20-via-roma", "whatsapp_list", "run-1", 1, 10_000)
        writer.conversations.record_inbound(new, Inbound("wamid.LATE", "text", "Ciao", 3000.0))
        wrote.append(table)

    info = backups.backup(store.db, tmp_path / "b.sqlite", on_table=meanwhile)
    assert wrote == ["adoption"]  # the first table: every other one was read after the write
    assert store.db.scalar("SELECT COUNT(*) FROM subscribers") == 7  # the write is in the store…
    assert info.counts["subscribers"] == 6 and info.counts["deliveries"] == 4  # …not in the backup
    writer.close()
    store.close()
    destroy(store_url)
    backups.restore(tmp_path / "b.sqlite", parse_url(store_url))
    store = Store.open(store_url)
    assert contents(store) == before
    store.close()


# -- folders and --keep --------------------------------------------------------------------------------------------
def test_keep_prunes_only_our_own_older_backups(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.open(url).close()
    folder = tmp_path / "backups"
    folder.mkdir()
    old = [folder / f"site-tools-2026010{d}T020000Z.sqlite" for d in (1, 2, 3)]
    others = [
        folder / "site-tools.db",
        folder / "site-tools-latest.sqlite",
        folder / "notes.txt",
        folder / "site-tools-20260101T020000Z.sqlite.gpg",
    ]
    for path in old + others:
        path.write_text("x")
    newest = backup_to(url, folder, "--keep", "2")
    assert sorted(folder.iterdir()) == sorted([old[2], newest, *others])


def test_backup_refuses_a_missing_store_and_an_existing_file(tmp_path: Path) -> None:
    ran = run("backup", str(tmp_path), "--db", str(tmp_path / "nothing.db"), cwd=tmp_path)
    assert ran.returncode == 1 and "non esiste" in ran.stderr
    assert list(tmp_path.iterdir()) == []
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.open(url).close()
    (tmp_path / "taken.sqlite").write_text("mine")
    ran = run("backup", str(tmp_path / "taken.sqlite"), "--db", url, cwd=tmp_path)
    assert ran.returncode == 1 and "esiste già" in ran.stderr
    assert (tmp_path / "taken.sqlite").read_text() == "mine"
    ran = run("backup", str(tmp_path / "taken2.sqlite"), "--keep", "3", "--db", url, cwd=tmp_path)
    assert ran.returncode == 1 and "--keep" in ran.stderr
    ran = run("backup", str(tmp_path / "backups"), "--db", url, cwd=tmp_path)  # a folder nobody made
    assert ran.returncode == 1 and "la cartella" in ran.stderr and "non esiste" in ran.stderr
    assert not (tmp_path / "backups").exists()


def test_a_failed_backup_leaves_no_file(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    populate(store)

    def crash(table: str, rows: int) -> None:
        if table == "deliveries":
            raise OSError(28, "No space left on device")

    (tmp_path / "out").mkdir()
    with pytest.raises(OSError):
        backups.backup(store.db, tmp_path / "out" / "b.sqlite", on_table=crash)
    assert list((tmp_path / "out").iterdir()) == []
    assert backups.backup(store.db, tmp_path / "out" / "b.sqlite").counts["subscribers"] == 6  # the store is fine
    store.close()


# -- refusals ----------------------------------------------------------------------------------------------------------
def test_restore_into_a_store_with_data_refuses_unless_replace(store_url: str, tmp_path: Path) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    source = Store.open(source_url)
    populate(source)
    wanted = contents(source)
    source.close()
    file = backup_to(source_url, tmp_path / "backups")

    store = Store.open(store_url)
    store.subscribers.subscribe(phones(1, start=900)[0], "whatsapp", "ALTRO COMUNE ON", at=1.0)
    store.staff.add("anna.verdi", "Anna Verdi", "$argon2id$other")
    store.parsed.save("fp", [("a.md", "sha", "{}", "body", "{}", "id", "/a/", "2026-01-01")])
    store.parsed.flush()
    held = contents(store)
    store.close()

    ran = run("restore", str(file), "--db", store_url, cwd=tmp_path)
    assert ran.returncode == 1
    assert "non è vuoto" in ran.stderr and "--replace" in ran.stderr and "subscribers (1)" in ran.stderr
    store = Store.open(store_url)
    assert contents(store) == held
    store.close()

    ran = run("restore", str(file), "--db", store_url, "--replace", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "Sostituite" in ran.stdout
    store = Store.open(store_url)
    assert contents(store) == wanted
    assert store.db.scalar("SELECT COUNT(*) FROM parsed_bulletins") == 0
    store.close()


def _truncated(file: Path) -> None:
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def _scribbled(file: Path) -> None:
    data = bytearray(file.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = os.urandom(4096)
    file.write_bytes(bytes(data))


def _not_sqlite(file: Path) -> None:
    file.write_text("site-tools backup? no: a text file\n" * 100)


def _other_sqlite(file: Path) -> None:
    file.unlink()
    sqlite3.connect(file).execute("CREATE TABLE t (x)").connection.close()


def _rows_missing(file: Path) -> None:
    conn = sqlite3.connect(file)
    conn.execute("DELETE FROM deliveries WHERE id = (SELECT MAX(id) FROM deliveries)")
    conn.commit()
    conn.close()


def _hostile_column(file: Path) -> None:
    """A crafted file: a column whose name would close the INSERT and start another statement."""
    conn = sqlite3.connect(file)
    conn.execute("""ALTER TABLE subscribers ADD COLUMN "x) VALUES (1); DROP TABLE staff; --" TEXT""")
    conn.commit()
    conn.close()


def _hostile_counts(file: Path) -> None:
    """A crafted file: its recorded counts name a «table» that is a query."""
    conn = sqlite3.connect(file)
    counts = conn.execute("SELECT value FROM site_tools_backup WHERE key = 'counts'").fetchone()[0]
    forged = counts.replace('"subscribers"', '"subscribers WHERE 0 UNION SELECT 1"', 1)
    conn.execute("UPDATE site_tools_backup SET value = ? WHERE key = 'counts'", (forged,))
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (_hostile_column, "colonne diverse"),
        (_hostile_counts, "non è un backup di site-tools"),
        (_truncated, "danneggiato"),
        (_scribbled, "danneggiato"),
        (_not_sqlite, "non è un file SQLite"),
        (_other_sqlite, "non un backup di site-tools"),
        (_rows_missing, "incompleto: la tabella deliveries"),
    ],
)
def test_a_damaged_backup_is_refused_and_the_target_untouched(damage: Any, said: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(url)
    populate(store)
    # Enough rows that the damage falls on data pages, not only on free space.
    store.subscribers.bulk_subscribe(phones(3000, start=1000), "test")
    store.ledger.claim_new("b2", "whatsapp_list", "run-1", 1, 100_000)
    store.close()
    file = backup_to(url, tmp_path / "backups")
    damage(file)
    for target in (tmp_path / "new.db", tmp_path / "store.db"):
        before = target.read_bytes() if target.exists() else None
        ran = run("restore", str(file), "--db", str(target), "--replace", cwd=tmp_path)
        assert ran.returncode == 1, ran.stdout
        assert said in ran.stderr and "Errore imprevisto" not in ran.stderr
        assert (target.read_bytes() if target.exists() else None) == before


def test_a_backup_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.open(url).close()
    file = tmp_path / "b.sqlite"
    backups.backup(Database(parse_url(url)), file)
    conn = sqlite3.connect(file)
    conn.execute(f"UPDATE {backups.INFO_TABLE} SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    ran = run("restore", str(file), "--db", str(tmp_path / "new.db"), cwd=tmp_path)
    assert ran.returncode == 1 and "più recente" in ran.stderr
    assert not (tmp_path / "new.db").exists()


@pytest.mark.parametrize("known", [len(MIGRATIONS) - 1, 4], ids=["one-migration-fewer", "before-adoption"])
def test_an_older_backup_is_migrated_when_restored(known: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backup made by an older site-tools restores into this one's schema, with what the migrations derive."""
    import site_tools.store.backup as module
    import site_tools.store.database as database

    old = MIGRATIONS[:known]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with monkeypatch.context() as old_code:
        old_code.setattr(database, "MIGRATIONS", old)
        old_code.setattr(module, "MIGRATIONS", old)
        store = Store.open(url)
        populate(store)
        before = contents(store)
        file = tmp_path / "old.sqlite"
        info = backups.backup(store.db, file)
        store.close()
    assert info.schema_version == old[-1][0]
    # This code backs up a store it has not migrated yet as it is, and leaves it so.
    old_store = Database(parse_url(url))
    assert backups.backup(old_store, tmp_path / "old-by-new.sqlite").schema_version == old[-1][0]
    assert old_store.scalar("SELECT MAX(version) FROM schema_migrations") == old[-1][0]
    old_store.close()
    done = backups.restore(file, parse_url(str(tmp_path / "new.db")))
    assert done.migrated_from == old[-1][0]
    store = Store.open(str(tmp_path / "new.db"))
    assert store.db.scalar("SELECT MAX(version) FROM schema_migrations") == MIGRATIONS[-1][0]
    after = contents(store)
    # Every row comes back as it was; a column a later migration added (at the end) holds its default.
    kept = {
        table: [row[: len(before[table][0])] for row in rows] if before[table] else rows
        for table, rows in after.items()
        if table in before
    }
    assert kept == before
    if known < 15:  # migration 15: what each subscriber chose; everyone who subscribed before keeps everything
        assert {row[0] for row in store.db.all("SELECT choice FROM subscribers")} == {"tutto"}
    if known < 5:  # migration 5 dates the adoption of a store with history from its first publication
        assert store.ledger.adoption() is not None and done.counts["adoption"] == 1
    store.close()
    assert backups.inspect(file).schema_version == old[-1][0]  # the file itself is left as it was


def test_a_store_holding_only_what_backups_skip_counts_as_empty(tmp_path: Path) -> None:
    """A parse cache and a login session are not worth keeping: the restore goes ahead and empties them."""
    source_url, target_url = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    store = Store.open(source_url)
    populate(store)
    wanted = contents(store)
    store.close()
    file = backup_to(source_url, tmp_path / "backups")
    target = Store.open(target_url)
    target.db.execute(
        "INSERT INTO staff_sessions (sid, staff_id, created_at, last_seen_at, expires_at) VALUES ('s', 1, 0, 0, 9e9)"
    )
    target.parsed.save("fp", [("a.md", "sha", "{}", "body", "{}", "id", "/a/", "2026-01-01")])
    target.parsed.flush()
    target.close()
    ran = run("restore", str(file), "--db", target_url, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "Sostituite" not in ran.stdout
    target = Store.open(target_url)
    assert contents(target) == wanted
    assert target.db.scalar("SELECT COUNT(*) FROM staff_sessions") == 0
    assert target.db.scalar("SELECT COUNT(*) FROM parsed_bulletins") == 0
    target.close()


def test_restore_creates_a_new_sqlite_store_given_by_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = Store.open(url)
    populate(store)
    store.close()
    file = backup_to(url, tmp_path / "backups")
    target = tmp_path / "elsewhere" / "b.db"
    ran = run("restore", str(file), "--db", f"sqlite:///{target}", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    store = Store.open(str(target))
    assert store.subscribers.count_active() == 4
    store.close()


@pytest.mark.e2e
def test_a_backup_killed_half_way_leaves_no_file_under_a_backups_name(tmp_path: Path) -> None:
    """``kill -9`` while the file is being written: what is left is the temporary file, never a backup's name."""
    import signal
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(url)
    store.subscribers.bulk_subscribe(phones(2000), "test")
    store.db.execute("BEGIN")
    store.db.many(
        "INSERT INTO deliveries (bulletin_id, channel, subscriber_id, state, updated_at) VALUES (?, ?, ?, 'sent', 0)",
        [(f"b{n}", "whatsapp_list", s) for n in range(150) for s in range(1, 2001)],
    )
    store.db.execute("COMMIT")
    store.close()
    folder = tmp_path / "backups"
    folder.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "backup", str(folder), "--db", url],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: any(p.suffix == ".tmp" and p.stat().st_size > 0 for p in folder.iterdir()), interval=0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    left = [p.name for p in folder.iterdir()]
    assert len(left) == 1 and left[0].startswith(".site-tools-") and left[0].endswith(".tmp")
    assert not any(backups.NAME.match(name) for name in left)
    # The next backup is whole, and --keep leaves the leftover alone (it is not a backup).
    assert backups.inspect(backup_to(url, folder, "--keep", "1")).counts["deliveries"] == 300_000


def test_tables_that_are_not_the_stores_are_neither_saved_nor_touched(store_url: str, tmp_path: Path) -> None:
    """A database shared with another application: its tables stay out of the backup and survive ``--replace``."""
    store = Store.open(store_url)
    populate(store)
    store.db.execute("CREATE TABLE other_app (note TEXT)")
    store.db.execute("INSERT INTO other_app (note) VALUES ('not ours')")
    store.close()
    file = backup_to(store_url, tmp_path / "backups")
    assert "other_app" not in backups.inspect(file).counts
    with contextlib.closing(sqlite3.connect(file)) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'other_app'").fetchall() == []
    ran = run("restore", str(file), "--db", store_url, "--replace", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    store = Store.open(store_url)
    assert store.db.all("SELECT note FROM other_app") == [("not ours",)]
    store.close()
