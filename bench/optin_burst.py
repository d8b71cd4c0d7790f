"""Opt-in burst: 10,000 citizens send the ON keyword as fast as a client can.

    .venv/bin/python bench/optin_burst.py [--n 10000] [--concurrency 64] [--db postgresql://…]

The subscriptions service runs as `site-tools webhook` (uvicorn, its own
process) with replies going to the simulator. Every POST is signed as Meta
signs it. Prints p50/p99 answer latency and checks that every opt-in is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from site_tools.devtools.meta_events import inbound_text
from site_tools.service.signature import signature
from site_tools.store import Store

REPO = Path(__file__).resolve().parents[1]

SECRET = "bench-secret"


def payload(i: int) -> bytes:
    return inbound_text(f"39333{i:07d}", "VALFIORITA ON", f"wamid.burst{i}")


async def burst(url: str, n: int, concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def client() -> None:
            nonlocal errors
            while not queue.empty():
                i = queue.get_nowait()
                body = payload(i)
                sig = signature(SECRET, body)
                started = time.perf_counter()
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig}
                ) as r:
                    await r.read()
                    latencies.append(time.perf_counter() - started)
                    errors += r.status != 200

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="optin-"))
    db = args.db or f"sqlite:///{tmp / 'store.db'}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sim = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "simulator", "--port", "0", "--mps", "80", "--latency", "0.15"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    sim_url = (sim.stdout.readline() if sim.stdout else "").strip().rsplit(" ", 1)[-1]
    env = {
        **os.environ,
        "SITE_TOOLS_DB": db,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_API_URL": f"{sim_url}/v24.0",
        "WHATSAPP_TOKEN": "sim-whatsapp-token",
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health")
                break
            except OSError:
                time.sleep(0.1)
        started = time.perf_counter()
        latencies, errors = asyncio.run(burst(f"http://127.0.0.1:{port}/webhook", args.n, args.concurrency))
        elapsed = time.perf_counter() - started
        deadline = time.time() + 300
        store = Store.open(db)
        while store.subscribers.count_active() < args.n and time.time() < deadline:
            time.sleep(0.5)
        processed_at = time.perf_counter() - started
        stored = store.subscribers.count_active()
        store.close()
    finally:
        service.terminate()
        sim.terminate()
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"{args.n:,} opt-ins, {args.concurrency} concurrent clients, store {db.split(':', 1)[0]}")
    print(f"answered in {elapsed:.1f} s ({args.n / elapsed:,.0f} req/s); HTTP errors: {errors}")
    print(f"latency p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms (goal p99 < 100 ms)")
    print(
        f"subscribers stored: {stored:,} of {args.n:,} (all processed after {processed_at:.1f} s); "
        f"mean latency {statistics.mean(latencies) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
