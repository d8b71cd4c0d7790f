"""The service's clock: what planning costs at 1,000 and 10,000 bulletins.

    .venv/bin/python bench/agenda.py            # 1,000 and 10,000 bulletins, 5 runs each
    .venv/bin/python bench/agenda.py --sizes 10000 --repeat 3

The clock and the site refresh read the agenda (every bulletin's date, expiry and event end) after every sync
that moved and every publish: ``load_agenda`` parses only what the store's parse cache does not know. Printed:
the cold read (empty cache), the warm read (the cache filled, as in a running service), the fingerprint of what
the site shows, and a sync of the checkout that did not move (a fetch from a local bare remote, no network).
Medians, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import make_town  # noqa: E402

from site_tools.content.config import load_config  # noqa: E402
from site_tools.service.checkout import Checkout  # noqa: E402
from site_tools.service.schedule import load_agenda  # noqa: E402
from site_tools.service.site_refresh import fingerprint  # noqa: E402
from site_tools.store import Store  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def run_size(n: int, repeat: int) -> dict[str, float]:
    root = make_town(n)
    work = Path(tempfile.mkdtemp(prefix="bench-agenda-"))
    try:
        config = load_config(root / "mkdocs.yml")
        cold, warm, prints, syncs = [], [], [], []
        for i in range(repeat):
            store = Store.open(f"sqlite:///{work / f'cold-{i}.db'}")
            seconds, agenda = timed(lambda store=store: load_agenda(config, store))
            cold.append(seconds)
            store.close()
        store = Store.open(f"sqlite:///{work / 'cold-0.db'}")
        for _ in range(repeat):
            seconds, agenda = timed(lambda: load_agenda(config, store))
            warm.append(seconds)
            seconds, _ = timed(lambda agenda=agenda: fingerprint(agenda.bulletins, time.time()))
            prints.append(seconds)
        store.close()
        bare = work / "remote.git"
        for args in (["init", "-q", str(root)], ["-C", str(root), "add", "-A"]):
            subprocess.run(["git", *args], check=True)
        subprocess.run(
            ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.org", "commit", "-qm", "x"],
            check=True,
        )
        subprocess.run(["git", "clone", "-q", "--bare", str(root), str(bare)], check=True)
        checkout = Checkout(root, str(bare), branch="master" if _branch(root) == "master" else "main")
        for _ in range(repeat):
            seconds, _ = timed(lambda: asyncio.run(checkout.sync()))
            syncs.append(seconds)
        return {
            "cold": statistics.median(cold),
            "warm": statistics.median(warm),
            "fingerprint": statistics.median(prints),
            "sync": statistics.median(syncs),
            "bulletins": len(agenda.bulletins),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def _branch(root: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "branch", "--show-current"], check=True, capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'archive':>8}  {'agenda, cold':>14}  {'agenda, warm':>14}  {'fingerprint':>12}  {'sync, no move':>14}")
    for n in args.sizes:
        r = run_size(n, args.repeat)
        print(
            f"{n:>8,}  {ms(r['cold']):>14}  {ms(r['warm']):>14}  {ms(r['fingerprint']):>12}  {ms(r['sync']):>14}"
            f"   ({r['bulletins']:,.0f} bulletins in the agenda)"
        )


if __name__ == "__main__":
    main()
