"""From a merge to the first phone: each step of the publish job, measured locally, and a GitHub runner estimate.

    .venv/bin/python bench/merge_to_phone.py                  # 10,000 bulletins
    .venv/bin/python bench/merge_to_phone.py --bulletins 1000

A town repository is made from this checkout's committed tree plus N archive
bulletins (one commit) and an urgent bulletin (the "merge", a second commit).
Then, as the publish job does, each step in a fresh process:

1. **clone**: ``git clone --depth 2 file://…`` (a shallow checkout; depth 2 so
   that ``--since HEAD~1`` still has the commit before the push);
2. **install**: ``uv sync --frozen`` into a fresh ``.venv`` — **cold** with an
   empty uv cache, **warm** with the cache the cold run filled (CI restores it
   keyed on uv.lock);
3. **validate** (optional in the job, shown apart): ``site-tools validate`` of the whole town;
4. **first send**: ``site-tools publish --since HEAD~1`` against the simulator,
   with a store that knows the archive (ledger and parse cache warm, as a
   persistent SITE_TOOLS_DB is after the previous run): seconds to the first
   message accepted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from fanout import URGENT, start_simulator, write_archive  # noqa: E402

from site_tools.store import Store  # noqa: E402

UV = REPO / ".venv" / "bin" / "uv"


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    return time.monotonic() - started


def git(root: Path, *args: str) -> None:
    run(["git", "-c", "user.email=bench@example.it", "-c", "user.name=bench", *args], root)


def make_origin(work: Path, n: int) -> Path:
    origin = work / "origin"
    origin.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(origin)], input=archive, check=True)
    write_archive(origin, n)
    git(origin, "init", "-q", ".")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "archive")
    (origin / "content" / "notizie" / "2026" / "2026-11-23-piena.md").write_text(
        URGENT.format(id="piena"), encoding="utf-8"
    )
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "merge: urgent bulletin")
    return origin


def prepare_store(origin: Path, db_path: Path, env: dict[str, str]) -> None:
    """The store as the previous publish left it: the archive adopted, its parses cached."""
    store = Store.open(f"sqlite:///{db_path}")
    store.subscribers.bulk_subscribe([f"39333{i:07d}" for i in range(1000)], "bench")
    store.close()
    before = origin.parent / "before"
    run(["git", "clone", "-q", f"file://{origin}", str(before)], origin.parent)
    git(before, "checkout", "-q", "HEAD~1")
    run([str(REPO / ".venv/bin/site-tools"), "publish", "--no-progress"], before, env)


def install(checkout: Path, cache: Path) -> float:
    env = {**os.environ, "UV_CACHE_DIR": str(cache), "UV_PROJECT_ENVIRONMENT": str(checkout / ".venv")}
    env.pop("VIRTUAL_ENV", None)
    return run([str(UV), "sync", "--frozen", "--quiet"], checkout, env)


def first_send(checkout: Path, env: dict[str, str], sim_url: str) -> float:
    started = time.time()
    run([str(checkout / ".venv/bin/site-tools"), "publish", "--since", "HEAD~1", "--no-progress"], checkout, env)
    msgs = httpx.get(f"{sim_url}/_sim/messages", timeout=60).json()
    times = [m["t"] for m in msgs["whatsapp"] + msgs["telegram"] if m["t"] >= started]
    return min(times) - started if times else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bulletins", type=int, default=10000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="merge-to-phone-"))
    sim, url = start_simulator(1000, args.latency)
    try:
        origin = make_origin(work, args.bulletins)
        db = work / "store.db"
        env = {
            **os.environ,
            "SITE_TOOLS_DB": f"sqlite:///{db}",
            "SITE_TOOLS_NOW": "2026-11-23 12:00",
            "WHATSAPP_API_URL": f"{url}/v24.0",
            "WHATSAPP_TOKEN": "sim-whatsapp-token",
            "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
            "TELEGRAM_API_URL": url,
            "TELEGRAM_BOT_TOKEN": "123456:sim-telegram-token",
        }
        prepare_store(origin, db, env)
        cache = work / "uv-cache"
        rows = []
        for kind in ("cold", "warm"):
            checkout = work / f"checkout-{kind}"
            clone = run(["git", "clone", "-q", "--depth", "2", f"file://{origin}", str(checkout)], work)
            setup = install(checkout, cache)
            validate = run([str(checkout / ".venv/bin/site-tools"), "validate"], checkout, env)
            if kind == "cold":
                shutil.copy(db, work / "store-after-adoption.db")
            else:
                shutil.copy(work / "store-after-adoption.db", db)  # the urgent bulletin is new again
            first = first_send(checkout, env, url)
            rows.append((kind, clone, setup, validate, first))
        print(f"merge → first phone, {args.bulletins:,} bulletins, simulator latency {args.latency * 1000:.0f} ms")
        print(
            f"{'install':>8} {'clone':>7} {'uv sync':>8} {'validate':>9} {'first msg':>10} {'total':>7} {'(no validate)':>14}"
        )
        for kind, clone, setup, validate, first in rows:
            print(
                f"{kind:>8} {clone:>5.1f} s {setup:>6.1f} s {validate:>7.1f} s {first:>8.2f} s "
                f"{clone + setup + validate + first:>5.1f} s {clone + setup + first:>12.1f} s",
                flush=True,
            )
    finally:
        sim.terminate()
        sim.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
