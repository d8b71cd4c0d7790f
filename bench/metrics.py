"""What a Prometheus scrape of ``/metrics`` costs on a large delivery ledger, on SQLite and PostgreSQL.

    .venv/bin/python bench/metrics.py [--deliveries 100000 1000000] [--pg URL] [--no-pg] [--scrapes 20]

For each store and size: a fresh store is filled with N deliveries over 50 bulletins (the states and error codes a
real ledger has: mostly delivered and read, a few failed with Meta's codes), 10,000 subscribers and 50 replies in the
outbox; then the subscriptions service app (in-process, its loops running) is scraped ``--scrapes``
times with the cache emptied before each (every scrape reads the store), and once more with it (a second Prometheus
within :data:`~site_tools.service.metrics.CACHE_SECONDS`). Prints the median and worst scrape time, the store read
alone, and the plan of the ledger's query (EXPLAIN).
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from starlette.testclient import TestClient

from site_tools.content.config import load_config
from site_tools.service.app import Service
from site_tools.settings import Settings
from site_tools.store import Store

REPO = Path(__file__).resolve().parents[1]
TOWN = REPO / "tests" / "fixtures" / "town"
STATES = ["delivered"] * 40 + ["read"] * 50 + ["accepted"] * 4 + ["sent"] * 2 + ["retry", "sending"] + ["failed"] * 2
CODES = [131026, 131026, 131049, 131047, 131000, 190]
QUERY = "SELECT channel, state, error_code, COUNT(*) FROM deliveries GROUP BY channel, state, error_code"


def fill(url: str, n: int) -> None:
    store = Store.open(url)
    rng = random.Random(7)
    store.subscribers.bulk_subscribe([f"39333{i:07d}" for i in range(10_000)], "bench")
    now = time.time()
    rows: list[tuple[object, ...]] = []
    for i in range(n):
        state = rng.choice(STATES)
        code = rng.choice(CODES) if state == "failed" else None
        channel = "whatsapp_list" if i % 50 else "telegram"
        rows.append((f"bulletin-{i // 20_000}", channel, i + 1, state, 1, code, now - rng.random() * 86400 * 30))
        if len(rows) == 50_000 or i == n - 1:
            with store.db.transaction():
                store.db.many(
                    "INSERT INTO deliveries (bulletin_id, channel, subscriber_id, state, attempts, error_code,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            rows = []
    assert store.db.scalar("SELECT COUNT(*) FROM deliveries") == n
    for i in range(50):
        store.outbox.queue(f"39333{i:07d}", "Iscrizione confermata.")
    store.budget.reserve("106540352242922", 80.0, 10)
    if store.db.dialect == "postgresql":
        store.close()
        with psycopg.connect(url.split("?")[0], autocommit=True, options=_options(url)) as conn:
            conn.execute("VACUUM ANALYZE deliveries")  # what autovacuum does after a send
    else:
        store.db.execute("ANALYZE")
        store.close()


def _options(url: str) -> str:
    return url.split("options=")[1].replace("%3D", "=") if "options=" in url else ""


def plan(url: str) -> list[str]:
    store = Store.open(url)
    try:
        if store.db.dialect == "postgresql":
            return [r[0] for r in store.db.all(f"EXPLAIN {QUERY}")]
        return [str(r[3]) for r in store.db.all(f"EXPLAIN QUERY PLAN {QUERY}")]
    finally:
        store.close()


def measure(url: str, scrapes: int) -> dict[str, float]:
    settings = Settings.from_env(
        {"WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_PHONE_NUMBER_ID": "106540352242922"}
    )
    app = Service(load_config(TOWN / "mkdocs.yml"), settings, lambda: Store.open(url))
    times, reads = [], []
    with TestClient(app.app()) as client:
        client.get("/metrics")  # the connection opened, the pages warm
        for _ in range(scrapes):
            app.exporter._last = None  # every scrape reads the store
            started = time.perf_counter()
            answer = client.get("/metrics")
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200 and "site_tools_store_up 1.0" in answer.text, answer.text[-500:]
            assert app.exporter._last is not None
            reads.append(app.exporter._last.seconds)
        started = time.perf_counter()
        client.get("/metrics")
        cached = time.perf_counter() - started
    return {
        "median": statistics.median(times),
        "max": max(times),
        "read": statistics.median(reads),
        "cached": cached,
    }


def pg_schema(base: str) -> tuple[str, str]:
    schema = f"bench_metrics_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema, f"{base}?options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the service's warnings (no token, no session secret) are not the figures
    print("store       deliveries  fill s  scrape median  scrape max  store read  cached scrape  ledger plan")
    for n in args.deliveries:
        for kind in ["sqlite"] + ([] if args.no_pg else ["postgresql"]):
            with tempfile.TemporaryDirectory() as tmp:
                schema = None
                if kind == "sqlite":
                    url = f"sqlite:///{Path(tmp) / 'store.db'}"
                else:
                    schema, url = pg_schema(args.pg)
                try:
                    started = time.perf_counter()
                    fill(url, n)
                    filled = time.perf_counter() - started
                    figures = measure(url, args.scrapes)
                    how = " / ".join(line.strip() for line in plan(url) if "Scan" in line or "SCAN" in line)
                    print(
                        f"{kind:<11} {n:>10,}  {filled:6.1f}  {figures['median'] * 1000:10.0f} ms"
                        f"  {figures['max'] * 1000:7.0f} ms  {figures['read'] * 1000:7.0f} ms"
                        f"  {figures['cached'] * 1000:9.1f} ms  {how}",
                        flush=True,
                    )
                finally:
                    if schema:
                        with psycopg.connect(args.pg, autocommit=True) as conn:
                            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
