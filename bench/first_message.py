"""Time from `site-tools publish` starting to the first urgent message accepted by the simulator.

    .venv/bin/python bench/first_message.py                   # 1,000, 5,000 and 10,000 bulletins
    .venv/bin/python bench/first_message.py --sizes 10000

For each size: the demo town plus N archive bulletins, committed in a Git
repository (as a checkout in CI is), a SQLite store with 1,000 subscribers,
the simulator with --latency (default 50 ms: the "accepted" time includes one
simulated API round trip). A first publish adopts the archive (historical,
nothing sent). Then, each time with a new urgent bulletin committed:

* **cold**: the store's cache of parsed bulletins emptied: every file parsed
  before the first send (what every run cost before the cache);
* **warm**: the cache as the previous run left it: only the new file is
  parsed, checked against the cache's columns for the others, and sent;
  the rest of the archive is read after the first sends.

Figures: seconds from just before the process is started to the first
message the simulator accepted (WhatsApp list or Telegram), and the whole
run. Each publish is a fresh process.

Bytecode: Python's compiled modules (``__pycache__``) are written by the
first publish (the adoption) and used by the timed ones, as in CI when the
install step compiles them (``UV_COMPILE_BYTECODE=1``). ``--no-bytecode``
keeps ``PYTHONDONTWRITEBYTECODE`` if the environment sets it: then every
import is compiled from source in every run (about 1 s more at any size on
the shared 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

import httpx

from site_tools.store import Store

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from fanout import URGENT, make_town, publish, start_simulator  # noqa: E402


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=bench@example.it", "-c", "user.name=bench", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def first_after(sim_url: str, started_wall: float, seen: int) -> float:
    msgs = httpx.get(f"{sim_url}/_sim/messages", timeout=60).json()
    times = sorted(m["t"] for m in msgs["whatsapp"] + msgs["telegram"])
    new = [t for t in times[seen:] if t >= started_wall]
    return (min(new) - started_wall) if new else float("nan")


def count(sim_url: str) -> int:
    msgs = httpx.get(f"{sim_url}/_sim/messages", timeout=60).json()
    return len(msgs["whatsapp"]) + len(msgs["telegram"])


def run_size(n: int, latency: float, repeat: int) -> dict[str, float]:
    town = make_town(n)
    db = f"sqlite:///{town / 'store.db'}"
    (town / ".gitignore").write_text("store.db*\n", encoding="utf-8")
    git(town, "init", "-q", ".")
    git(town, "add", "-A")
    git(town, "commit", "-qm", "archive")
    store = Store.open(db)
    store.subscribers.bulk_subscribe([f"39333{i:07d}" for i in range(1000)], "bench")
    store.close()
    sim, url = start_simulator(1000, latency)
    result: dict[str, float] = {"bulletins": n}
    firsts: dict[str, list[float]] = {"cold": [], "warm": []}
    try:
        _, result["adopt_s"], _, _ = publish(town, url, db, 1000, [])  # adoption: historical, cache filled
        for run, kind in enumerate(["cold", *["warm"] * repeat]):
            if kind == "cold":
                with sqlite3.connect(town / "store.db") as conn:
                    conn.execute("DELETE FROM parsed_bulletins")
            name = f"2026-11-23-bench-{run}.md"
            (town / "content" / "notizie" / "2026" / name).write_text(
                URGENT.format(id=f"bench-{run}"), encoding="utf-8"
            )
            git(town, "add", "-A")
            git(town, "commit", "-qm", f"urgent {run}")
            seen = count(url)
            started_wall, total, rss, _ = publish(town, url, db, 1000, [])
            firsts[kind].append(first_after(url, started_wall, seen))
            result[f"{kind}_total_s"] = total
            result[f"{kind}_rss_mb"] = rss
    finally:
        sim.terminate()
        sim.wait()
        shutil.rmtree(town)
    result["cold_first_s"] = firsts["cold"][0]
    result["warm_first_s"] = statistics.median(firsts["warm"])
    result["warm_min_s"] = min(firsts["warm"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000, 10000])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per size (median and best shown)")
    parser.add_argument("--no-bytecode", action="store_true", help="compile every module in every run")
    args = parser.parse_args()
    os.environ.pop("SITE_TOOLS_DEBUG", None)
    if not args.no_bytecode:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    bytecode = "from source" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "bytecode cached"
    print(
        f"first urgent message, simulator latency {args.latency * 1000:.0f} ms, SQLite store, {bytecode}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'bulletins':>9} {'cold: first msg':>15} {'run':>6} {'warm: first msg (median, best)':>30} {'run':>6} "
        f"{'peak RSS warm':>13} {'load':>5}"
    )
    for n in args.sizes:
        r = run_size(n, args.latency, args.repeat)
        print(
            f"{n:>9,} {r['cold_first_s']:>13.2f} s {r['cold_total_s']:>4.1f} s "
            f"{r['warm_first_s']:>19.2f} s, {r['warm_min_s']:.2f} s "
            f"{r['warm_total_s']:>4.1f} s {r['warm_rss_mb']:>10} MB {os.getloadavg()[0]:>5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
