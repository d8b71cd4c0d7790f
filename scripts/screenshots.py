"""Screenshots of the demo site for the README, taken from Debian's Chromium.

.venv/bin/site-tools build --now "2026-11-23 12:00" && .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
PAGES = {"home.png": "", "bulletin.png": "notizie/2026/11/allerta-arancione-idrogeologica/", "signup.png": "iscriviti/"}


def main() -> None:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(REPO / "site"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    out = REPO / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="it-IT")
        for name, path in PAGES.items():
            page.goto(f"http://127.0.0.1:{httpd.server_port}/{path}")
            page.screenshot(path=str(out / name))
            print(out / name)
        browser.close()
    httpd.shutdown()


if __name__ == "__main__":
    main()
