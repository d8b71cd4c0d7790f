"""What /admin/ (the web editor) weighs, and what the public pages load: figures, not a test.

.venv/bin/python bench/admin_weight.py

Builds the demo site, opens /admin/ in Chromium until the editor's login shows, and sums what
it downloaded: bytes on disk, and gzip -6 sizes (what GitHub Pages and most hosts send).
Then opens four public pages and counts requests under /admin/ (there must be none).
"""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from site_tools.site.build import build_site  # noqa: E402


def main() -> None:
    os.environ["SITE_TOOLS_NOW"] = "2026-11-23 12:00"
    site = build_site(REPO / "mkdocs.yml", Path(tempfile.mkdtemp()) / "site")
    admin = site / "admin"
    on_disk = sum(p.stat().st_size for p in admin.rglob("*") if p.is_file())

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}/"
    loaded: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.on("requestfinished", lambda r: loaded.append(r.url))
        page.goto(base + "admin/")
        page.get_by_role("button", name="Accedi con GitHub").wait_for()
        page.wait_for_timeout(3000)  # a benchmark, not a test: let lazy chunks arrive
        public: list[str] = []
        other = browser.new_page()
        other.on("request", lambda r: public.append(r.url))
        for path in ("", "notizie/2026/11/allerta-arancione-idrogeologica/", "categorie/viabilita/", "iscriviti/"):
            other.goto(base + path)
            other.wait_for_load_state("networkidle")
        browser.close()
    httpd.shutdown()
    files = [site / urlparse(u).path.lstrip("/") for u in loaded]
    files = [f / "index.html" if f.is_dir() else f for f in files]
    raw = sum(f.stat().st_size for f in files if f.is_file())
    zipped = sum(len(gzip.compress(f.read_bytes(), 6)) for f in files if f.is_file())
    biggest = max((f for f in files if f.is_file()), key=lambda f: f.stat().st_size)
    print(f"/admin/ on disk: {len(list(admin.rglob('*')))} files, {on_disk / 1e6:.1f} MB (lazy chunks included)")
    print(f"/admin/ first load (login page): {len(files)} requests, {raw / 1e6:.2f} MB, {zipped / 1e6:.2f} MB gzipped")
    print(f"  largest: {biggest.relative_to(site)} {biggest.stat().st_size / 1e6:.2f} MB")
    print(f"public pages: {len(public)} requests, {sum('/admin/' in u for u in public)} under /admin/")


if __name__ == "__main__":
    main()
