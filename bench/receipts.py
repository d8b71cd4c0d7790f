"""Receipts at the rate a send brings them, with citizens' «ON» mixed in.

    .venv/bin/python bench/receipts.py [--db postgresql://…] [--rate 2000] [--seconds 30] [--ons 5]
                                       [--deliveries 30000] [--code /path/to/a/checkout]

The subscriptions service runs as `site-tools webhook` (uvicorn, its own process) on a store holding a send's
ledger (``--deliveries`` messages with their wamids); its replies go to the simulator (its own process). A load
generator, lean enough to keep up on a small host (every body built and signed beforehand, raw asyncio streams on
keep-alive connections, requests paced by the clock), posts one status webhook per request at ``--rate`` per
second for ``--seconds`` (each message's "sent", then its "delivered"), and ``--ons`` «ON» messages a second from
new numbers. ``/health`` is polled twice a second. ``--backlog N`` stores N receipts before the service starts: with
them waiting, the rate applied while the load arrives is the worker's capacity, not the webhook's.

Prints the rate the generator reached and the webhook's answer times, the events applied per second (while the
receipts arrive, and after), the backlog and the oldest waiting event (max), and the time from each «ON» to its
confirmation reaching the simulator (p50, p99, max). ``--code`` runs the service of another checkout (the code
before a change) against the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from site_tools.devtools.meta_events import event_body, inbound_text
from site_tools.service.signature import signature

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"
NUMBER_ID = "106540352242922"
BULLETIN = "bench-receipts"

#: Fills the store with a send's ledger; run by the checkout under test (its own Store, its own migrations).
PREPARE = """
import sys
from site_tools.store import Store
from site_tools.store.ledger import Result
url, n, bulletin = sys.argv[1], int(sys.argv[2]), sys.argv[3]
store = Store.open(url)
store.subscribers.bulk_subscribe([f"39320{i:07d}" for i in range(n)], "bench")
first, last = store.db.one("SELECT MIN(id), MAX(id) FROM subscribers")
claimed = store.ledger.claim_new(bulletin, "whatsapp_list", "bench-run", first, last)
phone = dict(store.db.all("SELECT id, phone FROM subscribers"))
store.ledger.record_results(
    [Result(d, s, "accepted", wamid=f"wamid.B{phone[s][5:]}") for s, d in claimed.items()]
)
backlog = [line for line in sys.stdin.read().splitlines() if line]
with store.db.transaction():
    for body in backlog:
        try:
            store.inbox.add(body, None, "status")
        except TypeError:  # the code before receipts had a kind
            store.inbox.add(body)
store.close()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(port: int, body: bytes) -> bytes:
    """One signed POST, as raw HTTP/1.1 bytes (keep-alive)."""
    head = (
        f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: {signature(SECRET, body)}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def receipt_body(i: int, state: str) -> bytes:
    phone = f"39320{i:07d}"
    status = {
        "id": f"wamid.B{i:07d}",
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": phone,
        "biz_opaque_callback_data": BULLETIN,
        "conversation": {"id": "c", "origin": {"type": "utility"}},
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"},
    }
    return event_body({"statuses": [status]})


@dataclass
class Load:
    sent: int = 0
    errors: int = 0
    reconnects: int = 0
    answers: list[float] = field(default_factory=list)  # seconds from write to the whole answer
    ons: dict[str, float] = field(default_factory=dict)  # phone → time.time() the ON was posted
    started: float = 0.0
    finished: float = 0.0


async def connection(port: int, queue: asyncio.Queue[tuple[bytes, str | None] | None], load: Load) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while (job := await queue.get()) is not None:
        raw, on_phone = job
        began = time.perf_counter()
        if on_phone:
            load.ons[on_phone] = time.time()
        for _ in range(3):
            try:
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                break
            except (asyncio.IncompleteReadError, ConnectionError):  # the server closed an idle keep-alive
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                load.reconnects += 1
        else:
            raise ConnectionError("the service closed three connections in a row")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        load.answers.append(time.perf_counter() - began)
        load.sent += 1
        load.errors += not head.startswith(b"HTTP/1.1 200")
    writer.close()


async def generate(port: int, receipts: list[bytes], ons: list[tuple[str, bytes]], rate: float, on_rate: float,
                   connections: int, load: Load) -> None:  # fmt: skip
    """Receipts at ``rate``/s and ONs at ``on_rate``/s, paced by the clock: what is due is queued every 5 ms."""
    queue: asyncio.Queue[tuple[bytes, str | None] | None] = asyncio.Queue()
    workers = [asyncio.create_task(connection(port, queue, load)) for _ in range(connections)]
    load.started = time.perf_counter()
    done_r = done_o = 0
    while done_r < len(receipts) or done_o < len(ons):
        elapsed = time.perf_counter() - load.started
        due_r = min(len(receipts), int(elapsed * rate))
        due_o = min(len(ons), int(elapsed * on_rate) + 1)
        for raw in receipts[done_r:due_r]:
            queue.put_nowait((raw, None))
        for phone, raw in ons[done_o:due_o]:
            queue.put_nowait((raw, phone))
        done_r, done_o = max(done_r, due_r), max(done_o, due_o)
        await asyncio.sleep(0.005)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    load.finished = time.perf_counter()


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:
        return json.loads(r.read())


async def watch(port: int, samples: list[tuple[float, dict[str, Any]]], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            samples.append((time.perf_counter(), await loop.run_in_executor(None, health, port)))
        except OSError as exc:
            samples.append((time.perf_counter(), {"error": str(exc)}))
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass


async def run(port: int, args: argparse.Namespace, load: Load) -> list[tuple[float, dict[str, Any]]]:
    n = int(args.rate * args.seconds)
    receipts = [request(port, receipt_body(i // 2, ("sent", "delivered")[i % 2])) for i in range(n)]
    receipts = [receipts[j] for j in _interleave(n)]
    ons = [
        (phone, request(port, inbound_text(phone, "VALFIORITA ON", f"wamid.ON{k}")))
        for k, phone in enumerate(f"39310{k:07d}" for k in range(int(args.ons * args.seconds)))
    ]
    samples: list[tuple[float, dict[str, Any]]] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(port, samples, stop))
    await generate(port, receipts, ons, args.rate, args.ons, args.connections, load)
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        last = samples[-1][1] if samples else {}
        if last.get("pending_events") == 0:
            break
    stop.set()
    await watcher
    return samples


def _interleave(n: int) -> list[int]:
    """Each message's "sent", then its "delivered" a little later (200 receipts on): the order Meta's come in."""
    order: list[int] = []
    lag = 200
    for j in range(0, n, 2):
        order.append(j)
        if j >= lag:
            order.append(j - lag + 1)
    order += [j + 1 for j in range(max(0, n - lag), n, 2)]
    return order


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=None, help="postgresql://… (a fresh schema is made in it), else SQLite")
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ons", type=float, default=5.0, help="«ON» messages per second, from new numbers")
    parser.add_argument("--deliveries", type=int, default=30000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--drain", type=float, default=300.0, help="seconds to wait for the backlog afterwards")
    parser.add_argument(
        "--backlog", type=int, default=0, help="receipts («read») already waiting when the service starts"
    )
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout whose service runs")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="receipts-"))
    schema = None
    if args.db and args.db.startswith("postgres"):
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(args.db, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        db = f"{args.db}{'&' if '?' in args.db else '?'}options=-csearch_path%3D{schema}"
    else:
        db = f"sqlite:///{tmp / 'store.db'}"
    code = args.code.resolve()
    backlog = "\n".join(receipt_body(i % args.deliveries, "read").decode() for i in range(args.backlog))
    subprocess.run(
        [sys.executable, "-c", PREPARE, db, str(args.deliveries), BULLETIN],
        cwd=code,
        check=True,
        input=backlog,
        text=True,
    )

    sim = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "simulator", "--port", "0", "--mps", "1000", "--latency", "0.05"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    sim_url = (sim.stdout.readline() if sim.stdout else "").strip().rsplit(" ", 1)[-1]
    port = free_port()
    env = {
        **os.environ,
        "SITE_TOOLS_DB": db,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_API_URL": f"{sim_url}/v24.0",
        "WHATSAPP_TOKEN": "sim-whatsapp-token",
        "WHATSAPP_PHONE_NUMBER_ID": NUMBER_ID,
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
        cwd=code,  # this checkout's package and its demo town (mkdocs.yml)
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    load = Load()
    try:
        for _ in range(200):
            try:
                health(port)
                break
            except OSError:
                time.sleep(0.1)
        samples = asyncio.run(run(port, args, load))
        confirmed: dict[str, float] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{sim_url}/_sim/messages", timeout=60) as r:
                messages = json.loads(r.read())["whatsapp"]
            for m in messages:
                if m["to"] in load.ons and m["to"] not in confirmed:
                    confirmed[m["to"]] = m["t"]
            if len(confirmed) == len(load.ons):
                break
            time.sleep(1)
    finally:
        service.terminate()
        sim.terminate()
        service.wait(30)
        sim.wait(30)
        if schema:
            import psycopg

            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    report(args, db, load, samples, confirmed)


def report(args: argparse.Namespace, db: str, load: Load, samples: list[tuple[float, dict[str, Any]]],
           confirmed: dict[str, float]) -> None:  # fmt: skip
    took = load.finished - load.started
    print(
        f"store {db.split(':', 1)[0]}, service from {args.code}, {args.backlog:,} receipts waiting at the start; "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )
    print(
        f"generator: {load.sent:,} webhooks in {took:.1f} s ({load.sent / took:,.0f}/s, asked {args.rate:,.0f}/s "
        f"+ {args.ons:g} ON/s); answers p50 {pct(load.answers, 0.5) * 1000:.1f} ms, "
        f"p99 {pct(load.answers, 0.99) * 1000:.1f} ms; non-200: {load.errors}; reconnections: {load.reconnects}"
    )
    good = [(t - load.started, s) for t, s in samples if "processed" in s]
    end = load.finished - load.started

    def rate(points: list[tuple[float, dict[str, Any]]]) -> float:
        if len(points) < 2:
            return float("nan")
        (t0, a), (t1, b) = points[0], points[-1]
        return (b["processed"] - a["processed"]) / (t1 - t0) if t1 > t0 else float("nan")

    during = [p for p in good if p[0] <= end]
    after = [p for p in good if p[0] >= end]
    peak = max(
        (rate([a, b]) for i, a in enumerate(good) for b in good[i + 1 : i + 2 + 8] if b[0] - a[0] >= 3.5),
        default=float("nan"),
    )
    print(
        f"applied: {rate(during):,.0f} events/s while receipts arrived, {rate(after):,.0f}/s after; "
        f"best 4 s: {peak:,.0f}/s"
    )
    print(
        f"backlog max {max((s['pending_events'] for _, s in good), default=0):,} events; oldest waiting max "
        f"{max((s['oldest_pending_seconds'] for _, s in good), default=0):.1f} s; "
        f"left at the end: {good[-1][1]['pending_events'] if good else '?'}; drained "
        f"{(good[-1][0] - end) if good else float('nan'):.1f} s after the last receipt"
    )
    waits = [confirmed[p] - at for p, at in load.ons.items() if p in confirmed]
    print(
        f"ON → confirmation at the simulator: p50 {pct(waits, 0.5):.2f} s, p99 {pct(waits, 0.99):.2f} s, "
        f"max {max(waits, default=float('nan')):.2f} s ({len(waits)}/{len(load.ons)} confirmed; goal < 5 s)"
    )
    timeline = " ".join(
        f"{t:.0f}s:{s['pending_events']}/{s['oldest_pending_seconds']:.0f}s"
        for t, s in good[:: max(1, len(good) // 16)]
    )
    print(f"backlog/oldest over time: {timeline}")


if __name__ == "__main__":
    main()
