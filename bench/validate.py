"""``site-tools validate`` timing: the pull-request check editors wait for.

    .venv/bin/python bench/validate.py                       # this checkout
    .venv/bin/python bench/validate.py --other /tmp/base     # and another checkout, runs interleaved

Figures, per checkout:

* ``demo (cold)``: the median wall time of ``site-tools validate`` as CI runs
  it, a fresh process on the demo town (29 bulletins, 3 pages), over
  ``--runs`` runs;
* ``N bulletins (in process)``: the best time of ``load_content`` on a
  generated town whose every body has links, an image and emphasis, so that
  no body is skipped as trivially clean;
* ``import``: the median time to import what parsing a bulletin needs
  (:mod:`site_tools.content.loading`, the first-message path's parser), in a
  fresh process, and whether pydantic came with it (it must not: about a
  quarter of a second; the bulletin's pydantic model is built only for the
  JSON Schema, the docs and the web editor).

``site-tools validate`` is run as ``python -m site_tools`` from the checkout,
so that ``--other`` may be a plain export of another commit (``git archive``)
with a ``.venv`` symlinked to this one's.

With ``--other``, both checkouts are measured turn by turn, so that the
noise of a shared machine falls on both alike. The other checkout needs its
own ``.venv`` (``scripts/setup``).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORDS = (
    "comune strada chiusura lavori piazza scuola evento cittadini servizio acqua rete via ponte parco "
    "allerta meteo traffico uffici sportello avviso orario biblioteca raccolta rifiuti torrente"
).split()

INPROCESS = """
import sys, time
from pathlib import Path
from site_tools.content.config import load_config
from site_tools.content.loading import load_content
config = load_config(Path(sys.argv[1]) / "mkdocs.yml")
best = float("inf")
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    content = load_content(config)
    best = min(best, time.perf_counter() - started)
assert not content.problems, content.problems[:3]
print(best)
"""


def make_town(source: Path, n: int) -> Path:
    rng = random.Random(n)
    root = Path(tempfile.mkdtemp(prefix=f"validate-bench-{n}-"))
    shutil.copy(source / "mkdocs.yml", root / "mkdocs.yml")
    content = root / "content"
    (content / "img").mkdir(parents=True)
    (content / "img" / "foto.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for page in ("index.md", "privacy.md", "accessibilita.md"):
        shutil.copy(source / "content" / page, content / page)
    for i in range(n):
        y, m, d = 2016 + i % 10, 1 + (i // 10) % 12, 1 + i % 28
        folder = content / "notizie" / str(y)
        folder.mkdir(parents=True, exist_ok=True)
        words = " ".join(rng.choice(WORDS) for _ in range(60))
        body = (
            f"{words.capitalize()}.\n\n**Attenzione**: vedi [il sito](https://www.example.it/{i}) e "
            f"[la pagina](/privacy/).\n\n![Foto](../../img/foto.png)\n\n- {words[:80]}\n- {words[80:160]}\n"
        )
        (folder / f"{y}-{m:02d}-{d:02d}-avviso-{i}.md").write_text(
            f"---\nid: avviso-{i}\ntitle: Avviso numero {i} del Comune\ndate: {y}-{m:02d}-{d:02d} 09:00\n"
            f"categories: [servizi]\nsummary: {words[:120].capitalize()}.\n---\n\n{body}",
            encoding="utf-8",
        )
    return root


IMPORT = """
import sys, time
started = time.perf_counter()
import site_tools.content.loading
print(time.perf_counter() - started, "pydantic" in sys.modules)
"""


def cold(checkout: Path) -> float:
    started = time.perf_counter()
    python = str(checkout / ".venv/bin/python")
    subprocess.run([python, "-m", "site_tools", "validate"], cwd=checkout, check=True, capture_output=True)
    return time.perf_counter() - started


def import_cost(checkout: Path, runs: int) -> tuple[float, bool]:
    """Median seconds to import the bulletin parser in a fresh process, and whether pydantic was imported."""
    seconds, loaded = [], False
    for _ in range(runs):
        out = subprocess.run(
            [str(checkout / ".venv/bin/python"), "-c", IMPORT], cwd=checkout, check=True, capture_output=True, text=True
        )
        took, pydantic = out.stdout.split()
        seconds.append(float(took))
        loaded = loaded or pydantic == "True"
    return statistics.median(seconds), loaded


def in_process(checkout: Path, town: Path, repeat: int) -> float:
    out = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-c", INPROCESS, str(town), str(repeat)],
        cwd=checkout,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", type=Path, help="another checkout to measure turn by turn (e.g. main)")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000])
    args = parser.parse_args()
    checkouts = [REPO] + ([args.other.resolve()] if args.other else [])
    times: dict[Path, list[float]] = {c: [] for c in checkouts}
    for c in checkouts:
        cold(c)  # warm the file cache and the bytecode
    for _ in range(args.runs):
        for c in checkouts:
            times[c].append(cold(c))
    print(
        f"{'checkout':<40} {'demo (cold, median)':>20} {'min':>7} "
        + " ".join(f"{n:>9,}" for n in args.sizes)
        + f" {'import (median)':>16} pydantic"
    )
    towns = {n: make_town(REPO, n) for n in args.sizes}
    try:
        for c in checkouts:
            sized = [in_process(c, towns[n], 3) for n in args.sizes]
            imported, pydantic = import_cost(c, args.runs)
            print(
                f"{str(c):<40} {statistics.median(times[c]):>18.3f} s {min(times[c]):>5.3f} s "
                + " ".join(f"{s:>7.3f} s" for s in sized)
                + f" {imported:>14.3f} s {'yes' if pydantic else 'no'}",
                flush=True,
            )
        if args.other:
            ratio = statistics.median(times[REPO]) / statistics.median(times[checkouts[1]])
            print(f"this checkout / other, demo (cold, median): {ratio:.2f}×")
    finally:
        for town in towns.values():
            shutil.rmtree(town)


if __name__ == "__main__":
    main()
