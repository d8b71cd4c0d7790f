"""The weekly digest: what one digest costs against the same bulletins sent one by one, and what building the
digests' archive costs the site.

    .venv/bin/python bench/digest_cost.py                       # 15,000 subscribers, 1 to 8 bulletins a week
    .venv/bin/python bench/digest_cost.py --subscribers 40000 --bulletins 10000

The prices are the town's (``extra.town.price_per_template``, ``extra.town.digest.price_per_marketing``; the
defaults € 0.05 and € 0.12, near Germany's 2025 rates of € 0.0456 utility and € 0.1131 marketing). Then the
archive: every week's digest over ten years of synthetic bulletins (what the site build computes for
``riepiloghi/``), median of 3 runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from site_tools.content.bulletin import Bulletin, Event
from site_tools.content.config import load_config
from site_tools.content.town import Digest
from site_tools.formatting import euro, number
from site_tools.render import digest as render

ROOT = Path(__file__).resolve().parents[1]


def bulletins(n: int, until: datetime) -> list[Bulletin]:
    """``n`` bulletins over ten years before ``until``: a third events, a third calls with a deadline."""
    rng = random.Random(7)
    span = timedelta(days=3650)
    kinds = [("eventi", "notizia"), ("bandi-e-concorsi", "bando"), ("scadenze", "avviso"), ("viabilita", "avviso")]
    out = []
    for i in range(n):
        date = until - span * rng.random()
        category, kind = kinds[i % len(kinds)]
        event = Event(date + timedelta(days=rng.randint(1, 20))) if category == "eventi" else None
        expires = date + timedelta(days=rng.randint(1, 30)) if category != "eventi" else None
        out.append(
            Bulletin(
                id=f"b{i}", path=Path(f"b{i}.md"), title=f"Avviso numero {i}", date=date,
                summary="Un avviso di prova per misurare il riepilogo.", categories=(category,), body="",
                type=kind, event=event, expires=expires, slug=f"b{i}",
            )
        )  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=15_000)
    parser.add_argument("--bulletins", type=int, default=10_000)
    args = parser.parse_args()
    config = load_config(ROOT / "mkdocs.yml")
    config = dataclasses.replace(config, digest=Digest())
    digest = config.digest
    assert digest is not None
    print(f"{number(args.subscribers)} subscribers; utility {euro(config.price_per_template)}, "
          f"marketing {euro(digest.price_per_marketing)} per delivered message")  # fmt: skip
    print("| bulletins a week | one by one | one digest | saving |")
    print("|---:|---:|---:|---:|")
    for n in range(1, 9):
        c = render.cost(args.subscribers, n, config, digest)
        print(f"| {n} | {euro(c.separate_eur)} | {euro(c.digest_eur)} | {euro(c.saving_eur)} |")
    now = datetime(2026, 12, 19, 12, 0, tzinfo=config.timezone)
    made = bulletins(args.bulletins, now)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        weeks = render.archive(made, now, config, digest)
        times.append(time.perf_counter() - started)
    print(f"archive of {number(args.bulletins)} bulletins over ten years: {number(len(weeks))} digests, "
          f"{statistics.median(times) * 1000:,.0f} ms (median of 3)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
