"""Site build benchmark: `site-tools build` against plain MkDocs on the same Markdown.

    .venv/bin/python bench/site_build.py                 # 1,000, 5,000 and 10,000 bulletins
    .venv/bin/python bench/site_build.py --sizes 1000    # one size

Plain ProperDocs: the same bulletin files as ordinary pages (same theme,
search plugin, nothing in the nav), without our plugin: no listings, feeds,
QR pages, posters, sanitising or search tiers. Each build is a fresh process,
cold; the two builds of a size run one after the other, so that the noise of
a shared machine falls on both alike (see the load average printed).
Peak RSS: the build process's own (ru_maxrss).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORDS = (
    "comune strada chiusura lavori piazza scuola evento cittadini servizio acqua rete via ponte parco "
    "allerta meteo traffico uffici sportello avviso orario biblioteca raccolta rifiuti torrente"
).split()
CATEGORIES = [
    "emergenza",
    "protezione-civile",
    "meteo",
    "viabilita",
    "scuola",
    "eventi",
    "bandi-e-concorsi",
    "scadenze",
    "servizi",
    "ambiente",
]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def make_town(n: int) -> Path:
    rng = random.Random(n)
    root = Path(tempfile.mkdtemp(prefix=f"site-bench-{n}-"))
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    content = root / "content"
    content.mkdir()
    for page in ("index.md", "privacy.md", "accessibilita.md"):
        shutil.copy(REPO / "content" / page, content / page)
    shutil.copytree(REPO / "content" / "img", content / "img")  # the coat of arms mkdocs.yml names
    for i in range(n):
        y, m, d = 2016 + i % 10, 1 + (i // 10) % 12, 1 + i % 28
        folder = content / "notizie" / str(y)
        folder.mkdir(parents=True, exist_ok=True)
        cats = rng.sample(CATEGORIES, rng.choice((1, 2)))
        body = "\n\n".join(words(rng, rng.randint(40, 80)).capitalize() + "." for _ in range(4))
        (folder / f"{y}-{m:02d}-{d:02d}-avviso-{i}.md").write_text(
            f"---\nid: avviso-{i}\ntitle: {words(rng, 6).capitalize()} {i}\ndate: {y}-{m:02d}-{d:02d} 09:00\n"
            f"type: {rng.choice(['avviso', 'notizia', 'comunicato', 'bando'])}\ncategories: [{', '.join(cats)}]\n"
            f"summary: {words(rng, 25).capitalize()}.\n---\n\n{body}\n",
            encoding="utf-8",
        )
    # Plain MkDocs on the same files: our plugin and our nav off.
    plain = (REPO / "mkdocs.yml").read_text(encoding="utf-8").replace("  - site-tools\n", "")
    plain = (
        plain.split("\nnav:\n")[0]
        + "\nnav:\n  - Home: index.md\nnot_in_nav: |\n  /notizie/**\n"
        + "\nplugins:\n  - search:\n      lang: it\n"
    )
    (root / "plain.yml").write_text(plain, encoding="utf-8")
    return root


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "SITE_TOOLS_NOW": "2026-11-23 12:00"}
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    return time.monotonic() - started, usage.ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000, 10000])
    args = parser.parse_args()
    print(
        f"{'bulletins':>9} {'plain MkDocs':>13} {'site-tools':>11} {'ratio':>6} {'RSS':>7} "
        f"{'search index':>13} {'plain index':>12} {'pages':>6} {'load':>5}"
    )
    for n in args.sizes:
        town = make_town(n)
        try:
            load = os.getloadavg()[0]
            plain_s, _ = timed(
                [str(REPO / ".venv/bin/properdocs"), "build", "-q", "-f", "plain.yml", "-d", "plain-site"], town
            )
            ours_s, rss = timed([str(REPO / ".venv/bin/site-tools"), "build", "--site-dir", "site"], town)
            index = (town / "site/search/search_index.json").stat().st_size
            plain_index = (town / "plain-site/search/search_index.json").stat().st_size
            pages = sum(1 for _ in (town / "site").rglob("index.html"))
            print(
                f"{n:>9,} {plain_s:>11.1f} s {ours_s:>9.1f} s {ours_s / plain_s:>6.2f} {rss:>4} MB "
                f"{index / 1e6:>10.2f} MB {plain_index / 1e6:>9.2f} MB {pages:>6} {load:>5.1f}",
                flush=True,
            )
        finally:
            shutil.rmtree(town)


if __name__ == "__main__":
    main()
