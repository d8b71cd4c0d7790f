"""Backup and restore of a town's store, on SQLite and PostgreSQL.

    .venv/bin/python bench/backup.py [--subscribers 15000] [--bulletins 8] [--pg postgresql://…] [--no-pg]

Fills a store with ``--subscribers`` subscribers (one in ten opted out) and the ledger of ``--bulletins`` sends to
all of them (deliveries with wamids, some failed with an error code), plus 200 counter conversations with a medium
each, through the store's own methods. Then runs ``site-tools backup`` and ``site-tools restore`` as the town would
(each its own process, Python's start included) into a new store: SQLite → SQLite, PostgreSQL → PostgreSQL, and
SQLite → PostgreSQL (the move to a server). Prints each command's wall time and peak memory (RSS), and the file's
size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from site_tools.store import Store
from site_tools.store.conversations import Inbound
from site_tools.store.ledger import Result

REPO = Path(__file__).resolve().parents[1]


def fill(url: str, subscribers: int, bulletins: int) -> dict[str, int]:
    store = Store.open(url)
    phones = [f"39320{i:07d}" for i in range(subscribers)]
    store.subscribers.bulk_subscribe(phones, "bench")
    ids = [row[0] for row in store.db.all("SELECT id FROM subscribers ORDER BY id")]
    store.subscribers.unsubscribe_ids(ids[::10])
    first, last = ids[0], ids[-1]
    store.ledger.start_run("bench-run", os.getpid())
    for b in range(bulletins):
        bulletin = f"2026-11-{b + 1:02d}-bench"
        store.ledger.claim_publication(bulletin, "whatsapp_list", "api", "normal", shared=True)
        claimed = store.ledger.claim_new(bulletin, "whatsapp_list", "bench-run", first, last)
        results = [
            Result(d, s, "failed", error_code=131026)
            if s % 50 == 0
            else Result(d, s, "accepted", wamid=f"wamid.{b}.{s}")
            for s, d in claimed.items()
        ]
        for start in range(0, len(results), 5000):
            store.ledger.record_results(results[start : start + 5000])
    for i in range(200):
        _, message = store.conversations.record_inbound(
            phones[i], Inbound(f"wamid.in{i}", "image", "Foto della buca", 1000.0 + i, media_id=f"m{i}")
        )
        store.conversations.media_stored(message, os.urandom(20_000), "image/jpeg")
    counts = {
        table: int(store.db.scalar(f"SELECT COUNT(*) FROM {table}"))
        for table in ("subscribers", "deliveries", "conversation_messages", "media_blobs")
    }
    store.close()
    return counts


def command(*args: str) -> tuple[float, int]:
    """``site-tools ARGS`` as its own process: wall seconds and peak RSS in MB."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "site_tools", *args], cwd=REPO, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"site-tools {args[0]} failed ({proc.returncode})")
    return time.perf_counter() - start, usage.ru_maxrss // 1024


def pg_schema(base: str) -> str:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


def drop(base: str, schemas: list[str]) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=15_000)
    parser.add_argument("--bulletins", type=int, default=8)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    schemas: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as scratch:
        folder = Path(scratch)
        sources = {"sqlite": f"sqlite:///{folder / 'source.db'}"}
        if not args.no_pg:
            schemas.append(pg_schema(args.pg))
            sources["postgresql"] = f"{args.pg}?options=-csearch_path%3D{schemas[-1]}"
        try:
            for dialect, url in sources.items():
                start = time.perf_counter()
                counts = fill(url, args.subscribers, args.bulletins)
                print(f"{dialect}: filled in {time.perf_counter() - start:.1f} s: {counts}")
                if dialect == "sqlite":
                    size = sum(p.stat().st_size for p in folder.glob("source.db*"))
                    print(f"  the store's files (with its WAL): {size / 1e6:.1f} MB")
                file = folder / f"{dialect}.sqlite"
                seconds, rss = command("backup", str(file), "--db", url)
                print(f"  backup:  {seconds:5.2f} s, {rss} MB peak RSS, file {file.stat().st_size / 1e6:.1f} MB")
                moves = ["postgresql"] if dialect == "sqlite" and not args.no_pg else []
                for into in [dialect, *moves]:
                    if into == "postgresql":
                        schemas.append(pg_schema(args.pg))
                        target = f"{args.pg}?options=-csearch_path%3D{schemas[-1]}"
                    else:
                        target = f"sqlite:///{folder / 'restored.db'}"
                    seconds, rss = command("restore", str(file), "--db", target)
                    print(f"  restore into {into}: {seconds:5.2f} s, {rss} MB peak RSS")
            seconds, _ = command("--version")
            print(f"(site-tools --version alone: {seconds:.2f} s)")
        finally:
            if schemas:
                drop(args.pg, schemas)


if __name__ == "__main__":
    main()
