"""The web editor at /admin/ in Debian's Chromium: writing a bulletin offline, its CSP, and the rest of the site untouched."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from lxml import html as lxml_html
from playwright.sync_api import expect

from site_tools.content.config import load_config
from site_tools.site.admin import LOCAL_BACKEND_ENV, config_yaml
from site_tools.site.build import build_site
from site_tools.site.local_editor import SAVE_REFUSED, free_port, local_backend

from .conftest import FIXTURE_TOWN, REPO
from .services import wait_for

NOW = "2026-11-23 12:00"
CLI = Path(sys.executable).parent / "site-tools"


def copy_town(root: Path) -> Path:
    shutil.copy(FIXTURE_TOWN / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(FIXTURE_TOWN / "content", root / "content")
    return root


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".yml": "text/yaml"}

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def static_server(folder: Path) -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/"
    finally:
        httpd.shutdown()


def build(config_file: Path, out: Path, local: str | None = None) -> Path:
    saved = {k: os.environ.get(k) for k in ("SITE_TOOLS_NOW", LOCAL_BACKEND_ENV)}
    os.environ["SITE_TOOLS_NOW"] = NOW
    if local:
        os.environ[LOCAL_BACKEND_ENV] = local
    try:
        return build_site(config_file, out, strict=True)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(FIXTURE_TOWN / "mkdocs.yml", tmp_path_factory.mktemp("site"))


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="it-IT", timezone_id="Europe/Rome")
    page = context.new_page()
    yield page
    context.close()


# -- /admin/ in the built site ----------------------------------------------------------------
def test_admin_is_built_with_decap_its_licence_config_and_own_policy(site: Path) -> None:
    admin = site / "admin"
    version = yaml.safe_load((REPO / "node_modules/decap-cms/package.json").read_text())["version"]
    decap = admin / f"decap-cms-{version}"
    assert (decap / "decap-cms.js").is_file() and (decap / "decap-cms.js.LICENSE.txt").is_file()
    assert "MIT" in (decap / "LICENSE.txt").read_text(encoding="utf-8")
    assert not list(decap.glob("*.map"))
    assert (admin / "config.yml").read_text(encoding="utf-8") == config_yaml(load_config(FIXTURE_TOWN / "mkdocs.yml"))
    assert "local_backend" not in (admin / "config.yml").read_text(encoding="utf-8")  # only under site-tools serve
    page = lxml_html.parse(str(admin / "index.html")).getroot()
    csp = page.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')[0]
    policy = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'", "'unsafe-eval'"]  # no inline script, no other host
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["connect-src"] == [
        "'self'",
        "blob:",
        "data:",
        "https://api.github.com",
        "https://servizi.valfiorita.example.it",
    ]
    assert policy["object-src"] == ["'none'"] and policy["form-action"] == ["'none'"]
    scripts = page.xpath("//script")
    assert all(s.get("src") and not urlparse(s.get("src")).netloc for s in scripts)  # all local files
    assert not any((s.text or "").strip() for s in scripts)


def test_no_page_outside_admin_refers_to_it(site: Path) -> None:
    pages = [p for p in site.rglob("*.html") if "admin" not in p.relative_to(site).parts]
    assert len(pages) > 40
    for path in pages:
        url = "http://x/" + path.relative_to(site).as_posix()
        root = lxml_html.parse(str(path)).getroot()
        for element in root.iter():
            for attribute in ("src", "href", "data"):
                value = element.get(attribute) if isinstance(element.tag, str) else None
                if value:
                    target = urlparse(urljoin(url, value))
                    assert not (target.netloc == "x" and target.path.startswith("/admin/")), (path, value)
        assert "decap" not in path.read_text(encoding="utf-8").lower(), path
    assert "admin/" not in (site / "sitemap.xml").read_text(encoding="utf-8")
    assert '"admin/' not in (site / "search/search_index.json").read_text(encoding="utf-8")


def test_public_pages_load_nothing_from_admin_nor_from_other_hosts(page, site: Path) -> None:  # type: ignore[no-untyped-def]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    with static_server(site) as base:
        for path in ("", "notizie/2026/11/allerta-arancione-idrogeologica/", "categorie/viabilita/", "iscriviti/"):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
    assert len(requests) > 10
    assert not [u for u in requests if "/admin/" in u]
    assert not [u for u in requests if not u.startswith("http://127.0.0.1:")]


# -- the editor under its own Content-Security-Policy -------------------------------------------
@pytest.fixture(scope="module")
def local_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A copy of the demo town, its site built for decap-server (the local backend) and served: (URL, site folder)."""
    town = copy_town(tmp_path_factory.mktemp("town"))
    with local_backend(load_config(town / "mkdocs.yml")) as api:
        out = build(town / "mkdocs.yml", tmp_path_factory.mktemp("local-site"), local=api)
        with static_server(out) as base:
            yield base, out


def open_editor(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "admin/")
    page.get_by_role("button", name="Accedi").click()  # the local backend's login: no password
    page.get_by_role("link", name="Nuovo avviso").wait_for()


def new_bulletin(page, base: str) -> None:  # type: ignore[no-untyped-def]
    # By address, not by the button: the list of bulletins is still moving while it loads.
    page.goto(base + "admin/#/collections/notizie/new")
    page.get_by_text("Scrivendo nella raccolta Avvisi e notizie").wait_for()
    expect(page.get_by_label("Titolo", exact=True)).to_have_value("")


VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));
"""


def test_the_editor_works_under_its_strict_policy_and_talks_only_to_localhost(page, local_site) -> None:  # type: ignore[no-untyped-def]
    """No violation of the admin page's policy while an editor does what editors do."""
    base, _ = local_site
    console: list[str] = []
    hosts: set[str] = set()
    page.add_init_script(VIOLATIONS)
    page.on("console", lambda m: console.append(m.text))
    page.on("request", lambda r: hosts.add(urlparse(r.url).netloc))
    open_editor(page, base)
    page.get_by_text("Allerta arancione: rischio idrogeologico e piene del torrente Fiora").first.click()
    preview = page.frame_locator("iframe").first
    preview.get_by_role("heading", name="Come arriva sui telefoni").wait_for()
    assert preview.get_by_text("🔴 URGENTE").first.is_visible()  # the Telegram and Channel texts
    new_bulletin(page, base)
    page.get_by_label("Titolo", exact=True).fill("Prova dell'anteprima: via Roma")
    preview.get_by_role("heading", name="Prova dell'anteprima: via Roma").wait_for()
    page.get_by_label("Categorie").click()
    page.get_by_role("option", name="Meteo", exact=True).click()
    page.get_by_label("Annulla l'avviso").click()
    page.get_by_role("option").first.wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Scegli un'immagine").click()
    page.get_by_text("Carica un file").wait_for()  # the media library, on content/notizie/<year>/
    page.keyboard.press("Escape")
    assert page.evaluate("window.__violations") == []
    assert not [m for m in console if "Content Security Policy" in m], console
    assert hosts and all(h.startswith("127.0.0.1:") for h in hosts), hosts  # the site and decap-server


# -- writing bulletins offline, through `site-tools serve` ------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    town = copy_town(tmp_path_factory.mktemp("served"))
    port = free_port()
    log = town / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(port)],
            cwd=town,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SITE_TOOLS_NOW": NOW},
        )
    base = f"http://127.0.0.1:{port}/"
    try:

        def ready() -> bool:
            assert process.poll() is None, log.read_text(encoding="utf-8")
            try:
                return httpx.get(base + "admin/config.yml").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=90)
        assert f"Editor web: {base}admin/" in log.read_text(encoding="utf-8")
        yield base, town
    finally:
        config = yaml.safe_load(httpx.get(base + "admin/config.yml").text)
        process.terminate()
        process.wait(10)
    backend = config["local_backend"]["url"]

    def stopped() -> bool:
        try:
            httpx.post(backend, json={"action": "info"}, timeout=1)
        except httpx.HTTPError:
            return True
        return False

    wait_for(stopped, timeout=10)  # `kill` on the preview stops decap-server too


def fill_bulletin(page, title: str, summary: str, category: str, expires: str | None = None) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Titolo", exact=True).fill(title)
    page.get_by_label("Sintesi per i telefoni").fill(summary)
    page.get_by_label("Data e ora di pubblicazione").fill("2026-11-23T10:00")
    page.get_by_label("Categorie").click()
    page.get_by_role("option", name=category, exact=True).click()
    if expires:
        page.get_by_label("Scadenza").fill(expires)


def publish(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Pubblica").click()
    page.get_by_role("menuitem", name="Pubblica ora").click()


def saved_frontmatter(path: Path, timeout: float = 30) -> dict[str, Any]:
    """The frontmatter of a file Decap saves, once it is whole (decap-server writes it in pieces)."""

    seen: list[bytes] = [b""]

    def whole() -> bool:  # closed frontmatter, a final newline, and the same bytes at two looks in a row
        data = path.read_bytes() if path.exists() else b""
        done = data.count(b"---\n") >= 2 and data.endswith(b"\n") and data == seen[0]
        seen[0] = data
        return done

    wait_for(whole, timeout=timeout)
    meta = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])
    assert isinstance(meta, dict), path.read_text(encoding="utf-8")
    return meta


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, "SITE_TOOLS_NOW": NOW}
    )


def test_an_editor_writes_a_bulletin_that_validates_unchanged_and_builds(page, served) -> None:  # type: ignore[no-untyped-def]
    base, town = served
    open_editor(page, base)
    new_bulletin(page, base)
    title = "Viabilità: chiusura di via Città di Castello"
    summary = "Da lunedì via Città di Castello è chiusa per lavori: deviazioni da piazza Garibaldi."
    fill_bulletin(page, title, summary, "Viabilità", expires="2026-12-31T18:00")
    publish(page)
    path = town / "content/notizie/2026/2026-11-23-viabilita-chiusura-di-via-citta-di-castello.md"
    meta = saved_frontmatter(path)
    written = path.read_bytes()
    assert meta["title"] == title and meta["summary"] == summary
    assert meta["categories"] == ["viabilita"] and meta["expires"] == "2026-12-31 18:00"
    assert meta["id"] == path.stem and str(meta["date"]) == "2026-11-23 10:00"
    assert not {k for k, v in meta.items() if v in ("", None, [], {})}  # no empty optional field
    checked = run("validate", str(path), cwd=town)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    built = run("build", "--strict", "--site-dir", str(town / "built"), cwd=town)
    assert built.returncode == 0, built.stdout + built.stderr
    html = (town / "built/notizie/2026/11/viabilita-chiusura-di-via-citta-di-castello/index.html").read_text(
        encoding="utf-8"
    )
    assert "Viabilità: chiusura di via Città di Castello</h1>" in html
    assert path.read_bytes() == written  # validate and build read it as the editor wrote it


def test_a_101_character_title_is_refused_in_italian(page, served) -> None:  # type: ignore[no-untyped-def]
    base, town = served
    before = sorted((town / "content/notizie").rglob("*.md"))
    open_editor(page, base)
    new_bulletin(page, base)
    long_title = "Allerta: " + "chiusura prolungata della strada provinciale " * 3
    long_title = long_title[:101]
    assert len(long_title) == 101
    fill_bulletin(page, long_title, "Una sintesi chiara e abbastanza lunga per il controllo.", "Meteo")
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.post_data or "") if r.method == "POST" else None)

    def saves() -> int:
        page.evaluate("0")  # let Playwright deliver the request events it holds
        return sum('"action":"persistEntry"' in body for body in posted)

    publish(page)
    page.get_by_text("Titolo: deve avere da 5 a 100 caratteri, senza spazi doppi.").wait_for()
    expect(page.get_by_text("Modifiche non salvate", exact=False).first).to_be_visible()
    assert saves() == 0 and sorted((town / "content/notizie").rglob("*.md")) == before  # nothing sent, nothing written
    title = page.get_by_label("Titolo", exact=True)
    title.press("Control+a")
    title.press("Delete")  # Decap's field keeps its text through a plain fill()
    title.fill(long_title[:100])
    publish(page)
    wait_for(lambda: len(list((town / "content/notizie").rglob("*.md"))) == len(before) + 1, timeout=30)
    (new,) = set((town / "content/notizie").rglob("*.md")) - set(before)
    assert saved_frontmatter(new)["title"] == long_title[:100]
    assert saves() == 1
    checked = run("validate", str(new), cwd=town)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_save_validate_would_refuse_is_refused_and_the_date_is_romes(browser, served) -> None:  # type: ignore[no-untyped-def]
    """Behind the form, the project's own check: a <script> is refused with validate's message, nothing written.

    The browser's clock is New York's: the date the save hook fills in is still Rome's.
    """
    base, town = served
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, locale="it-IT", timezone_id="America/New_York"
    )
    page = context.new_page()
    try:
        before = sorted((town / "content/notizie").rglob("*.md"))
        open_editor(page, base)
        new_bulletin(page, base)
        page.get_by_label("Titolo", exact=True).fill("Prova del controllo al salvataggio")
        page.get_by_label("Sintesi per i telefoni").fill("Una sintesi chiara e abbastanza lunga per il controllo.")
        page.get_by_label("Categorie").click()
        page.get_by_role("option", name="Meteo", exact=True).click()
        page.get_by_text("Markdown", exact=True).first.click()  # the body as Markdown text, as a file holds it
        body = page.locator('[data-slate-editor="true"]').last
        body.click()
        page.keyboard.type("Testo dell'avviso. <script>alert(1)</script>")
        publish(page)
        page.get_by_text(SAVE_REFUSED, exact=False).first.wait_for(timeout=30_000)
        expect(page.get_by_text("il tag «<script>»", exact=False).first).to_be_visible()
        assert sorted((town / "content/notizie").rglob("*.md")) == before
        body.click()
        page.keyboard.press("End")
        for _ in "<script>alert(1)</script>":
            page.keyboard.press("Backspace")
        page.keyboard.type("Senza codice.")
        expect(body).not_to_contain_text("<script")
        moment = datetime.now(ZoneInfo("Europe/Rome"))
        publish(page)
        wait_for(lambda: len(list((town / "content/notizie").rglob("*.md"))) == len(before) + 1, timeout=30)
        (new,) = set((town / "content/notizie").rglob("*.md")) - set(before)
        saved = datetime.strptime(str(saved_frontmatter(new)["date"]), "%Y-%m-%d %H:%M")
        assert abs(saved - moment.replace(tzinfo=None, second=0, microsecond=0)) <= timedelta(minutes=2)
    finally:
        context.close()


def test_an_update_picks_its_original_from_a_list(page, served) -> None:  # type: ignore[no-untyped-def]
    base, town = served
    open_editor(page, base)
    new_bulletin(page, base)
    fill_bulletin(
        page, "Via Roma riapre in anticipo", "I lavori sono finiti: via Roma riapre domani mattina alle 7.", "Viabilità"
    )
    field = page.get_by_label("Aggiorna l'avviso")
    field.click()
    field.fill("via Roma")
    options = page.get_by_role("option")
    options.first.wait_for()
    labels = options.all_inner_texts()
    assert "Chiusura di via Roma per lavori all'acquedotto (2026-10-26 08:15)" in labels
    page.get_by_role("option", name="Chiusura di via Roma per lavori all'acquedotto (2026-10-26 08:15)").click()
    preview = page.frame_locator("iframe").first
    preview.get_by_text("Questo avviso aggiorna").wait_for()  # the page shows the link to the original
    publish(page)
    path = town / "content/notizie/2026/2026-11-23-via-roma-riapre-in-anticipo.md"
    meta = saved_frontmatter(path)
    assert meta["updates"] == "2026-10-26-lavori-acquedotto-via-roma"
    checked = run("validate", str(path), cwd=town)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    "directive,keyword,symptom",
    [
        ("script-src", "'unsafe-eval'", "EvalError"),  # ajv compiles Decap's config checks
        ("style-src", "'unsafe-inline'", "style-src-elem inline"),  # emotion writes <style> elements
    ],
)
def test_what_each_unsafe_keyword_is_for(page, local_site, directive: str, keyword: str, symptom: str) -> None:  # type: ignore[no-untyped-def]
    """Decap does not start properly under a stricter policy: the claims of docs/architecture/editor.md, checked."""
    base, folder = local_site
    index = folder / "admin" / "index.html"
    root = lxml_html.parse(str(index)).getroot()
    meta = root.xpath('//meta[@http-equiv="Content-Security-Policy"]')[0]
    policy = meta.get("content")
    stricter = policy.replace(f"{directive} 'self' {keyword}", f"{directive} 'self'", 1)
    assert stricter != policy
    meta.set("content", stricter)
    name = f"stricter-{directive}.html"
    (folder / "admin" / name).write_bytes(lxml_html.tostring(root, doctype="<!doctype html>"))
    page.add_init_script(VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(base + "admin/" + name)
    page.wait_for_function("window.__violations.length > 0")
    seen = " ".join(page.evaluate("window.__violations") + console)
    assert symptom in seen or (symptom == "EvalError" and "script-src eval" in seen), seen
