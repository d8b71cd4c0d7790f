"""Screenshots of the demo site for the README and the docs (docs/img), taken from Debian's Chromium, on a phone and on a desktop.

.venv/bin/site-tools build --now "2026-11-23 12:00" && .venv/bin/python scripts/screenshots.py

Each page is saved twice in docs/img/: ``NAME.png`` at 1280×900 and ``NAME-mobile.png`` at 390×844
(an iPhone 12–15's viewport), the first screen a visitor sees.
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
PAGES = {
    "home": "",
    "bulletin": "notizie/2026/11/allerta-arancione-idrogeologica/",
    "signup": "iscriviti/",
    "category": "categorie/protezione-civile/",
    "open-data": "dati-aperti/",
}
VIEWPORTS = {"": (1280, 900), "-mobile": (390, 844)}
#: The browser's clock at the build's --now, so the urgent banner shows what the build shows.
NOW = "2026-11-23T12:00:00+01:00"


def main() -> None:
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "site"
    if not (site / "index.html").is_file():
        raise SystemExit(f"{site} has no built site: run site-tools build first (see this script's docstring)")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    out = REPO / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        for suffix, (width, height) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": width, "height": height}, locale="it-IT")
            context.clock.install(time=NOW)
            page = context.new_page()
            for name, path in PAGES.items():
                page.goto(f"http://127.0.0.1:{httpd.server_port}/{path}")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / f"{name}{suffix}.png"))
                print(out / f"{name}{suffix}.png")
            context.close()
        browser.close()
    httpd.shutdown()


if __name__ == "__main__":
    main()
