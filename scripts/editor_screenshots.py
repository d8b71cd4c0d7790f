"""Screenshots of the web editor (/admin/) for the editors' guide (docs/redazione/guida.md), from Debian's Chromium.

.venv/bin/python scripts/editor_screenshots.py

Works on a throw-away copy of the demo town: starts decap-server (the local backend), builds the
site for it, fills in a bulletin and takes docs/img/editor.png (the form and the page preview)
and docs/img/editor-phones.png (the texts that reach phones).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from site_tools.content.config import load_config
from site_tools.site.admin import LOCAL_BACKEND_ENV
from site_tools.site.build import build_site
from site_tools.site.local_editor import local_backend

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    work = Path(tempfile.mkdtemp())
    shutil.copy(REPO / "mkdocs.yml", work / "mkdocs.yml")
    shutil.copytree(REPO / "content", work / "content")
    out = REPO / "docs" / "img"
    with local_backend(load_config(work / "mkdocs.yml")) as api:
        os.environ[LOCAL_BACKEND_ENV] = api
        os.environ["SITE_TOOLS_NOW"] = "2026-11-23 12:00"
        site = build_site(work / "mkdocs.yml", work / "site")

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_port}/admin/"
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu", "--lang=it-IT"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="it-IT", timezone_id="Europe/Rome")
            page.goto(base)
            page.get_by_role("button", name="Accedi").click()
            page.get_by_role("link", name="Nuovo avviso").wait_for()
            page.goto(base + "#/collections/notizie/new")
            page.get_by_label("Titolo", exact=True).fill("Viabilità: chiusura di via Città di Castello")
            page.get_by_label("Sintesi per i telefoni").fill(
                "Da lunedì 24 a venerdì 28 novembre via Città di Castello è chiusa per lavori: "
                "deviazioni da piazza Garibaldi."
            )
            page.get_by_label("Data e ora di pubblicazione").fill("2026-11-23T10:00")
            page.get_by_label("Categorie").click()
            page.get_by_role("option", name="Viabilità", exact=True).click()
            page.get_by_label("Scadenza").fill("2026-12-31T19:00")
            page.get_by_label("Zona interessata").fill("Via Città di Castello, tra piazza Garibaldi e via Leopardi")
            preview = page.frame_locator("iframe").first
            preview.get_by_role("heading", name="Come arriva sui telefoni").wait_for()
            page.get_by_label("Titolo", exact=True).scroll_into_view_if_needed()
            page.screenshot(path=str(out / "editor.png"))
            print(out / "editor.png")
            preview.locator(".st-tg").last.evaluate("e => e.scrollIntoView({block: 'end'})")
            page.screenshot(path=str(out / "editor-phones.png"))
            print(out / "editor-phones.png")
            browser.close()
        httpd.shutdown()
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
