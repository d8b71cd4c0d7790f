"""The one-to-one counter under load, on SQLite and PostgreSQL.

    .venv/bin/python bench/counter.py [--questions 1000] [--seconds 60] [--conversations 10000] [--pg URL] [--no-pg]

1. *Arrivals*: N citizens' questions (non-keyword text) reach `site-tools webhook`
   (uvicorn, its own process) spread evenly over S seconds, each POST signed as
   Meta signs it; then we wait until every one is a stored conversation and
   count them in the inbox's list (logged in, over HTTP).
2. *Listing*: the store is filled to M open conversations; the inbox's first
   page (GET /sportello/, logged in, over HTTP) is timed 30 times.

Prints the webhook's answer latency (p50/p99), the time from the last question
to the last stored conversation, and the list's render time (median, p95).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx

from site_tools.devtools.meta_events import inbound_text
from site_tools.service.counter.auth import hash_password
from site_tools.service.signature import signature
from site_tools.store import Store

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"
PASSWORD = "bench password lunga"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def service(db: str) -> Iterator[str]:
    store = Store.open(db)
    if store.staff.by_username("bench") is None:
        store.staff.add("bench", "Bench", hash_password(PASSWORD))
    store.close()
    port = free_port()
    env = {
        **os.environ,
        "SITE_TOOLS_DB": db,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "v",
        "SITE_TOOLS_SESSION_SECRET": "bench-" + "s" * 32,
    }
    env.pop("WHATSAPP_TOKEN", None)  # replies stay in the outbox: this measures the inbox, not the sender
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def login(url: str) -> dict[str, str]:
    """The session cookie, sent by hand: httpx keeps a Secure cookie away from plain http (as it should)."""
    page = httpx.get(f"{url}/sportello/accesso")
    cookie = page.headers["set-cookie"].split(";")[0]
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = httpx.post(
        f"{url}/sportello/accesso",
        data={"csrf": token, "utente": "bench", "password": PASSWORD},
        headers={"Cookie": cookie},
    )
    assert answer.status_code == 303, answer.text[:300]
    return {"Cookie": answer.headers["set-cookie"].split(";")[0]}


async def arrivals(url: str, n: int, seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:

        async def citizen(i: int) -> None:
            nonlocal errors
            await asyncio.sleep(max(0.0, started + i * seconds / n - time.perf_counter()))
            body = inbound_text(f"39333{500000 + i:07d}", f"Buongiorno, domanda numero {i} sulla TARI", f"wamid.q{i}")
            sent = time.perf_counter()
            async with session.post(
                f"{url}/webhook",
                data=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature(SECRET, body)},
            ) as r:
                await r.read()
                latencies.append(time.perf_counter() - sent)
                errors += r.status != 200

        await asyncio.gather(*(citizen(i) for i in range(n)))
    return latencies, errors, time.perf_counter() - started


def seed(db: str, n: int) -> None:
    store = Store.open(db)
    have = store.conversations.count()
    now = time.time()
    rows = [
        (f"39334{i:07d}", now - 3600 - i, now - 3600 - i, now - 3600 - i, now - 3600 - i, f"Domanda {i}")
        for i in range(have, n)
    ]
    for start in range(0, len(rows), 2000):
        with store.db.transaction():
            store.db.many(
                "INSERT INTO conversations (phone, state, opened_at, last_inbound_at, last_message_at, waiting_since,"
                " preview) VALUES (?, 'open', ?, ?, ?, ?, ?)",
                rows[start : start + 2000],
            )
    store.close()


def listed(url: str, headers: dict[str, str]) -> int:
    text = httpx.get(f"{url}/sportello/", headers=headers, timeout=30).text
    match = re.search(r"([\d.]+) conversazioni", text)
    return int(match.group(1).replace(".", "")) if match else -1


def run(db: str, label: str, questions: int, seconds: float, conversations: int) -> None:
    with service(db) as url:
        latencies, errors, took = asyncio.run(arrivals(url, questions, seconds))
        sent_at = time.perf_counter()
        store = Store.open(db)
        while store.conversations.count() < questions and time.perf_counter() - sent_at < 120:
            time.sleep(0.05)
        stored, lag = store.conversations.count(), time.perf_counter() - sent_at
        store.close()
        headers = login(url)
        latencies.sort()
        print(
            f"{label}: {questions} questions in {took:.1f} s, HTTP errors {errors}, answer p50 "
            f"{statistics.median(latencies) * 1000:.1f} ms p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms; "
            f"stored {stored} ({lag:.2f} s after the last), listed {listed(url, headers)}",
            flush=True,
        )
        seed(db, conversations)
        httpx.get(f"{url}/sportello/", headers=headers)  # warm
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            answer = httpx.get(f"{url}/sportello/", headers=headers, timeout=30)
            times.append(time.perf_counter() - t0)
            assert answer.status_code == 200
        times.sort()
        print(
            f"{label}: inbox list with {listed(url, headers)} open conversations: median "
            f"{statistics.median(times) * 1000:.1f} ms, p95 {times[int(len(times) * 0.95) - 1] * 1000:.1f} ms "
            f"(first page of 50, over HTTP)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--conversations", type=int, default=10000)
    parser.add_argument(
        "--pg", default=os.environ.get("SITE_TOOLS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "SQLite", args.questions, args.seconds, args.conversations)
    if args.no_pg:
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        run(
            f"{args.pg}?options=-csearch_path%3D{schema}",
            "PostgreSQL",
            args.questions,
            args.seconds,
            args.conversations,
        )
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
