"""Broken internal links on the demo site and on a generated site, and the weight of the home page.

    .venv/bin/python bench/site_quality.py              # the demo and 1,000 generated bulletins
    .venv/bin/python bench/site_quality.py --sizes 5000

The weight is what Chromium downloads to show the home page (HTML, CSS,
scripts, images, fonts), uncompressed; what the theme fetches afterwards for
the search box (worker, index, stemmers, sitemap) is listed apart.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import tempfile
import threading
import time
from pathlib import Path

from site_tools.content.config import load_config
from site_tools.devtools.generated import generate_town
from site_tools.devtools.linkcheck import check_site
from site_tools.site.build import build_site

REPO = Path(__file__).resolve().parents[1]
#: What the theme's script fetches after the page, for the search box: not part of the page's weight.
SEARCH = ("search/", "assets/javascripts/workers/", "assets/javascripts/lunr/", "sitemap.xml")
NOW = "2026-11-23 12:00"


def build(config: Path, out: Path) -> tuple[Path, float]:
    os.environ["SITE_TOOLS_NOW"] = NOW
    started = time.monotonic()
    site = build_site(config, out, strict=True)
    return site, time.monotonic() - started


def home_weight(site: Path) -> list[tuple[str, int]]:
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    loaded: list[tuple[str, int]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.on("response", lambda r: loaded.append((r.url.split("/", 3)[-1] or "index.html", len(r.body()))))
        page.goto(f"http://127.0.0.1:{httpd.server_port}/")
        page.wait_for_load_state("networkidle")
        browser.close()
    httpd.shutdown()
    return loaded


def report(name: str, site: Path, seconds: float, site_url: str) -> None:
    result = check_site(site, site_url)
    print(
        f"{name:>28}: built in {seconds:5.1f} s, {result.pages:>5} pages, "
        f"{result.checked:>7,} internal references, {len(result.broken)} broken"
    )
    for item in result.broken[:20]:
        print("   ", item)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000])
    args = parser.parse_args()
    site_url = load_config(REPO / "mkdocs.yml").site_url
    with tempfile.TemporaryDirectory() as tmp:
        demo, seconds = build(REPO / "mkdocs.yml", Path(tmp) / "demo")
        report("demo site", demo, seconds, site_url)
        for n in args.sizes:
            town = Path(tmp) / f"town-{n}"
            town.mkdir()
            site, seconds = build(generate_town(REPO, town, n), town / "site")
            report(f"generated, {n:,} bulletins", site, seconds, site_url)
        loaded = home_weight(demo)
        page = [(url, size) for url, size in loaded if not url.startswith(SEARCH)]
        total = sum(size for _, size in page)
        later = sum(size for url, size in loaded if url.startswith(SEARCH))
        print(
            f"home page: {total / 1000:.1f} kB uncompressed in {len(page)} files (+ {later / 1000:.1f} kB for search)"
        )
        for url, size in sorted(loaded, key=lambda item: -item[1]):
            print(
                f"  {size / 1000:8.1f} kB  {url}{'  (search, loaded by the theme after the page)' if url.startswith(SEARCH) else ''}"
            )


if __name__ == "__main__":
    main()
