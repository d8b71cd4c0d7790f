"""Fan-out benchmark: rate against the cap, flat memory, time to the first urgent message.

    .venv/bin/python bench/fanout.py                 # the full run: 100,000 recipients at 80 and 1,000/s (~25 min)
    .venv/bin/python bench/fanout.py --quick         # 10,000 and 20,000 recipients at 1,000/s, 5,000 bulletins
    .venv/bin/python bench/fanout.py --shared-only   # only two publishers at once on one phone number

Each publish runs as `site-tools publish` in its own process against the
simulator (150 ms latency) over loopback HTTP, with the store in SQLite.
Peak RSS is the publisher process's own (VmHWM, sampled).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from site_tools.store import Store

REPO = Path(__file__).resolve().parents[1]

URGENT = """---
id: {id}
title: Allerta rossa per la piena del torrente
date: 2026-11-23 11:59
categories: [protezione-civile]
priority: urgent
summary: Allerta rossa per la piena del torrente Fiora. Chi abita vicino agli argini salga ai piani alti o raggiunga la palestra comunale.
---

Testo dell'allerta.
"""


def start_simulator(mps: float, latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "simulator", "--port", "0", "--mps", str(mps), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    return proc, line.strip().rsplit(" ", 1)[-1]


def make_town(bulletins: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-town-"))
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "content", root / "content")
    write_archive(root, bulletins)
    return root


def write_archive(root: Path, bulletins: int) -> None:
    """``bulletins`` old bulletins (2016-2025) in content/notizie/archivio of the town at ``root``."""
    gen = root / "content" / "notizie" / "archivio"
    gen.mkdir(parents=True)
    for i in range(bulletins):
        y, m, d = 2016 + i % 10, 1 + i % 12, 1 + i % 28
        (gen / f"{y}-{m:02d}-{d:02d}-archivio-{i}.md").write_text(
            f"---\nid: archivio-{i}\ntitle: Avviso di archivio numero {i}\ndate: {y}-{m:02d}-{d:02d} 08:00\n"
            f"categories: [servizi]\nsummary: Un avviso di archivio per misurare il caricamento di migliaia di file.\n"
            f"---\n\nTesto dell'avviso {i}, con qualche parola in più per fare volume.\n",
            encoding="utf-8",
        )


def publish(town: Path, sim_url: str, db: str, rate: float, extra: list[str]) -> tuple[float, float, int, str]:
    env = {
        **os.environ,
        "SITE_TOOLS_DB": db,
        "SITE_TOOLS_NOW": "2026-11-23 12:00",
        "WHATSAPP_API_URL": f"{sim_url}/v24.0",
        "WHATSAPP_TOKEN": "sim-whatsapp-token",
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "TELEGRAM_API_URL": sim_url,
        "TELEGRAM_BOT_TOKEN": "123456:sim-telegram-token",
    }
    started_wall = time.time()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "publish", "--rate", str(rate), "--no-progress", *extra],
        cwd=town,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Peak RSS of the publisher itself: VmHWM after exec. (os.wait4's ru_maxrss also counts the
    # moment between fork and exec, when the child still maps this benchmark process's memory.)
    peak_kb = 0
    while proc.poll() is None:
        peak_kb = max(peak_kb, _hwm_kb(proc.pid))
        time.sleep(0.2)
    return started_wall, time.monotonic() - started, peak_kb // 1024, ""


def _hwm_kb(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def fanout_run(recipients: int, cap: float, latency: float) -> dict[str, float]:
    town = make_town(0)
    db = f"sqlite:///{town / 'store.db'}"
    store = Store.open(db)
    store.ledger.mark_historical(["placeholder"], ["telegram"])  # not a first run
    for start in range(0, recipients, 10000):
        store.subscribers.bulk_subscribe(
            [f"39333{i:07d}" for i in range(start, min(recipients, start + 10000))], "bench"
        )
    store.close()
    (town / "content" / "notizie" / "2026" / "2026-11-23-bench.md").write_text(
        URGENT.format(id="bench"), encoding="utf-8"
    )
    sim, url = start_simulator(cap, latency)
    try:
        _, seconds, rss, output = publish(town, url, db, cap, ["--channel", "whatsapp_list", "--only", "bench"])
        stats = httpx.get(f"{url}/_sim/stats").json()
        msgs = httpx.get(f"{url}/_sim/messages", timeout=120).json()["whatsapp"]
    finally:
        sim.terminate()
        sim.wait()
        shutil.rmtree(town)
    times = sorted(m["t"] for m in msgs)
    span = times[-1] - times[0] if len(times) > 1 else 0
    achieved = (len(times) - 1) / span if span else 0
    return {
        "recipients": recipients,
        "cap": cap,
        "accepted": stats.get("accepted", 0),
        "throttled": stats.get("throttled", 0),
        "duplicates": stats.get("duplicates", 0),
        "achieved": achieved,
        "ratio": achieved / cap,
        "seconds": seconds,
        "rss_mb": rss,
    }


def shared_run(recipients: int, cap: float, latency: float, senders: int) -> dict[str, float]:
    """Several publisher processes at once on one phone number, each with its own bulletin."""
    town = make_town(0)
    db = f"sqlite:///{town / 'store.db'}"
    store = Store.open(db)
    store.ledger.mark_historical(["placeholder"], ["telegram"])  # not a first run
    store.subscribers.bulk_subscribe([f"39333{i:07d}" for i in range(recipients)], "bench")
    store.close()
    for i in range(senders):
        text = URGENT.format(id=f"bench-{i}").replace("priority: urgent\n", "")  # all normal: they share equally
        (town / "content" / "notizie" / "2026" / f"2026-11-23-bench-{i}.md").write_text(text, encoding="utf-8")
    sim, url = start_simulator(cap, latency)
    try:
        runs = [
            threading.Thread(
                target=publish,
                args=(town, url, db, cap, ["--channel", "whatsapp_list", "--only", f"bench-{i}"]),
            )
            for i in range(senders)
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
        stats = httpx.get(f"{url}/_sim/stats").json()
        msgs = httpx.get(f"{url}/_sim/messages", timeout=120).json()["whatsapp"]
    finally:
        sim.terminate()
        sim.wait()
        shutil.rmtree(town)
    times = sorted(m["t"] for m in msgs)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    return {
        "senders": senders,
        "recipients": recipients,
        "cap": cap,
        "accepted": stats.get("accepted", 0),
        "throttled": stats.get("throttled", 0),
        "duplicates": stats.get("duplicates", 0),
        "achieved": achieved,
        "ratio": achieved / cap,
    }


def first_message(bulletins: int, latency: float) -> dict[str, float]:
    town = make_town(bulletins)
    db = f"sqlite:///{town / 'store.db'}"
    store = Store.open(db)
    store.subscribers.bulk_subscribe([f"39333{i:07d}" for i in range(1000)], "bench")
    store.close()
    sim, url = start_simulator(1000, latency)
    try:
        # Adoption: the first run marks every bulletin already there as historical and sends nothing.
        publish(town, url, db, 1000, [])
        (town / "content" / "notizie" / "2026" / "2026-11-23-bench.md").write_text(
            URGENT.format(id="bench"), encoding="utf-8"
        )
        started_wall, seconds, rss, output = publish(town, url, db, 1000, [])
        msgs = httpx.get(f"{url}/_sim/messages", timeout=60).json()
    finally:
        sim.terminate()
        sim.wait()
        shutil.rmtree(town)
    firsts = [m["t"] for m in msgs["whatsapp"]] + [m["t"] for m in msgs["telegram"]]
    return {
        "bulletins": bulletins,
        "first_message_s": min(firsts) - started_wall if firsts else float("nan"),
        "total_s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--latency", type=float, default=0.150)
    parser.add_argument("--shared-only", action="store_true", help="only the runs of several publishers at once")
    parser.add_argument("--senders", type=int, default=2, help="publisher processes on one number (shared budget)")
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="RECIPIENTS:CAP",
        help="only these runs, e.g. --run 100000:1000 (repeatable)",
    )
    args = parser.parse_args()
    sizes = (
        [(10000, 1000.0), (20000, 1000.0)]
        if args.quick
        else [(10000, 1000.0), (100000, 1000.0), (10000, 80.0), (100000, 80.0)]
    )
    if args.run:
        sizes = [(int(r.split(":")[0]), float(r.split(":")[1])) for r in args.run]
    if args.shared_only:
        sizes = []
    print(f"fan-out against the simulator, latency {args.latency * 1000:.0f} ms, SQLite store")
    print(
        f"{'recipients':>10} {'accepted':>9} {'cap/s':>6} {'achieved/s':>10} {'ratio':>6} {'seconds':>8} "
        f"{'peak RSS':>9} {'throttled':>9} {'dupes':>5}"
    )
    for recipients, cap in sizes:
        r = fanout_run(recipients, cap, args.latency)
        print(
            f"{r['recipients']:>10,} {r['accepted']:>9,} {r['cap']:>6.0f} {r['achieved']:>10.1f} {r['ratio']:>6.3f} {r['seconds']:>8.1f} "
            f"{r['rss_mb']:>6} MB {r['throttled']:>9} {r['duplicates']:>5}",
            flush=True,
        )
    print(f"\n{args.senders} publishers at once on one phone number (one rate budget in the store):")
    print(
        f"{'recipients':>10} {'accepted':>9} {'cap/s':>6} {'achieved/s':>10} {'ratio':>6} {'throttled':>9} {'dupes':>5}"
    )
    for recipients, cap in [(2000, 200.0)] if args.quick else [(5000, 80.0), (10000, 1000.0)]:
        r = shared_run(recipients, cap, args.latency, args.senders)
        print(
            f"{r['recipients']:>10,} {r['accepted']:>9,} {r['cap']:>6.0f} {r['achieved']:>10.1f} {r['ratio']:>6.3f} "
            f"{r['throttled']:>9} {r['duplicates']:>5}",
            flush=True,
        )
    if args.shared_only:
        return
    f = first_message(5000, args.latency)
    print(
        f"first urgent message on the wire with {f['bulletins']:,} bulletins in content/: "
        f"{f['first_message_s']:.2f} s after `site-tools publish` started (goal < 1 s)"
    )


if __name__ == "__main__":
    main()
