"""The public site, built from the demo town and opened in headless Chromium."""

from __future__ import annotations

import functools
import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pypdfium2
import pytest
import zxingcpp
from icalendar import Calendar
from lxml import etree
from PIL import Image

from site_tools.content.config import load_config
from site_tools.site.build import build_site

from .conftest import FIXTURE_TOWN, REPO

NOW = "2026-11-23 12:00"
AFTER_EXPIRY = "2026-11-25 09:00"  # the orange alert expired on the 24th at 23:59
CONFIG = load_config(FIXTURE_TOWN / "mkdocs.yml")
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
CAP_XSD = REPO / "tests" / "fixtures" / "cap12.xsd"
ALERT_URL = "notizie/2026/11/allerta-arancione-idrogeologica/"


def build_at(now: str, out: Path, config: Path = FIXTURE_TOWN / "mkdocs.yml") -> Path:
    """Build strictly as the site is at ``now`` (SITE_TOOLS_NOW)."""
    import os

    previous = os.environ.get("SITE_TOOLS_NOW")
    os.environ["SITE_TOOLS_NOW"] = now
    try:
        return build_site(config, out, strict=True)
    finally:
        if previous is None:
            os.environ.pop("SITE_TOOLS_NOW")
        else:
            os.environ["SITE_TOOLS_NOW"] = previous


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_at(NOW, tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def expired_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_at(AFTER_EXPIRY, tmp_path_factory.mktemp("site-later"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()


def test_navigation_home_category_bulletin(page, server: str) -> None:
    # The site's time: after the alert's expiry the banner hides its link while the page loads (a race).
    page.clock.install(time="2026-11-23T12:00:00+01:00")
    page.goto(server)
    assert page.locator("h1").first.inner_text() == "Avvisi del Comune di Valfiorita"
    page.get_by_role("link", name="Categorie", exact=True).first.click()
    page.get_by_role("link", name="Protezione civile", exact=True).first.click()
    assert page.locator("h1").inner_text() == "Protezione civile"
    page.get_by_role("link", name="Allerta arancione: rischio idrogeologico e piene del torrente Fiora").first.click()
    assert page.url == server + ALERT_URL
    assert "Allerta arancione" in page.locator("article h1").inner_text()
    crumbs = page.get_by_role("navigation", name="Percorso di navigazione")
    assert crumbs.inner_text().startswith("Home › Novità › Avvisi ›")
    # Updated by a later bulletin: said with the weekday, never «del lunedì».
    assert page.get_by_text("Questo avviso è stato aggiornato lunedì 23 novembre 2026, ore 07:00").is_visible()


def test_urgent_banner_and_its_end(page, server: str, expired_site: Path) -> None:
    page.goto(server)
    banner = page.get_by_role("region", name="Avvisi urgenti in corso")
    assert banner.is_visible()
    titles = banner.locator("a").all_inner_texts()
    assert "Allerta arancione: rischio idrogeologico e piene del torrente Fiora" in titles
    assert "Sottopasso di via Marconi chiuso per allagamento" not in titles  # cancelled by a later bulletin
    # Rebuilt after expiry: the alert is gone from the banner.
    later = (expired_site / "index.html").read_text(encoding="utf-8")
    assert "Allerta arancione: rischio idrogeologico" not in later.split('class="md-main"')[0]
    # The same stale build, opened after expiry: the page hides it by itself.
    page.clock.install(time="2026-11-25T09:00:00+01:00")
    page.goto(server)
    texts = list(page.locator(".st-urgent__item:visible").all_inner_texts())
    assert not any("Allerta arancione" in t for t in texts)
    assert any("Frazione Colle" in t for t in texts)  # no expiry: still there


@pytest.mark.slow  # two site builds
def test_drafts_and_future_bulletins_stay_off_the_site(site: Path) -> None:
    assert not (site / "notizie/2026/12/mercatini-di-natale").exists()
    assert not (site / "notizie/2027").exists()
    assert not (site / "notizie/2026/11/bozza-premiazione-presepi").exists()
    assert (site / "notizie/2026/11/emergenza-acqua-potabile-frazione-colle/index.html").is_file()
    assert "mercatini-di-natale" not in (site / "search/search_index.json").read_text(encoding="utf-8")


CONFIG_COLOUR = load_config(FIXTURE_TOWN / "mkdocs.yml").identity.color


def test_search_banner_expiry_and_palette_work_under_the_content_security_policy(page, server: str) -> None:
    """The policy blocks every inline script but the theme's own (by hash): the theme must still work, unblocked."""
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if m.text.startswith("CSP ") else None)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error('CSP ' + e.violatedDirective))"
    )
    page.clock.install(time="2026-11-25T09:00:00+01:00")  # the orange alert has expired: the script must hide it
    page.goto(server)
    policy = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content") or ""
    assert "script-src 'self' 'sha256-" in policy and "base-uri 'none'" in policy
    assert page.evaluate("typeof __md_get") == "function"  # the theme's hashed inline script ran
    banner = page.get_by_role("region", name="Avvisi urgenti in corso")
    assert "Frazione Colle" in banner.inner_text() and "Allerta arancione" not in banner.inner_text()
    # The palette: the town's colour (extra.town.color) reaches the header through our stylesheet.
    colour = CONFIG_COLOUR.lstrip("#")
    expected = "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (0, 2, 4)))
    assert page.evaluate("getComputedStyle(document.querySelector('.md-header')).backgroundColor") == expected
    # Search: its worker and index load from the site itself.
    page.locator("input.md-search__input").press_sequentially("sottopasso", delay=20)
    page.locator(".md-search-result__item").first.wait_for()
    assert "Sottopasso" in page.locator(".md-search-result__list").inner_text()
    page.keyboard.press("Enter")
    page.wait_for_url("**/notizie/2026/11/sottopasso-via-marconi-**")
    assert blocked == []


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def test_every_qr_code_on_the_signup_page_decodes_to_the_configured_link(page, server: str) -> None:
    page.goto(server + "iscriviti/")
    codes = page.locator("svg.st-qr")
    expected = [CONFIG.channel_url, CONFIG.whatsapp.signup_link, CONFIG.telegram.link]
    assert codes.count() == 3
    for index, link in enumerate(expected):
        shot = codes.nth(index).screenshot()
        assert decode(Image.open(io.BytesIO(shot))) == [link]
        # The big button opens the same link.
        assert page.locator(f'a.md-button[href="{link}"]').count() == 1
    assert "https://wa.me/393330000000?text=VALFIORITA%20ON" in expected
    assert page.get_by_text("Nessun altro iscritto vede il tuo numero di telefono").is_visible()


@pytest.mark.slow  # renders and decodes every poster
@pytest.mark.parametrize(
    "channel,link",
    [
        ("whatsapp-channel", CONFIG.channel_url),
        ("whatsapp-list", CONFIG.whatsapp.signup_link),
        ("telegram", CONFIG.telegram.link),
    ],
)
@pytest.mark.parametrize("size", ["a4", "a3"])
def test_posters_print_a_qr_code_that_decodes(site: Path, channel: str, link: str, size: str) -> None:
    pdf = pypdfium2.PdfDocument(str(site / "manifesti" / f"{channel}-{size}.pdf"))
    page = pdf[0]
    width_mm = page.get_width() / 72 * 25.4
    assert round(width_mm) == (210 if size == "a4" else 297)
    image = page.render(scale=150 / 72).to_pil()  # 150 dpi, as a cheap office printer would
    assert decode(image) == [link]
    text = page.get_textpage().get_text_range()
    assert "Comune di Valfiorita" in text and "1" in text


def run_axe(page) -> list[dict]:  # type: ignore[no-untyped-def]
    # Evaluated, not added as a <script>: the page's Content-Security-Policy (rightly) refuses foreign scripts.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => await axe.run(document, {resultTypes: ['violations']})""")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("path", ["", ALERT_URL, "categorie/viabilita/", "iscriviti/"])
def test_no_serious_accessibility_violations(page, server: str, path: str) -> None:
    if not AXE.is_file():
        pytest.fail("axe-core is missing: scripts/test runs npm install")
    page.goto(server + path)
    violations = run_axe(page)
    assert violations == [], json.dumps(
        [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations], indent=1
    )


def test_rss_feeds_parse(site: Path) -> None:
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.language == "it" and len(feed.entries) == 26  # 29 less a draft and two future-dated
    assert feed.entries[0].link.startswith("https://avvisi.valfiorita.example.it/notizie/2026/11/")
    assert feed.entries[0].title.startswith("URGENTE – Frazione Colle")
    viabilita = feedparser.parse((site / "categorie/viabilita/feed.xml").read_bytes())
    assert not viabilita.bozo and viabilita.entries
    assert all("Viabilità" in [t.term for t in e.tags] for e in viabilita.entries)
    assert viabilita.feed.link == "https://avvisi.valfiorita.example.it/categorie/viabilita/"


def test_icalendar_feed_parses(site: Path) -> None:
    cal = Calendar.from_ical((site / "eventi.ics").read_bytes())
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    tree = events["Festa degli alberi: 200 nuove piante al parco del Fiume"]
    assert tree.decoded("dtstart").isoformat() == "2026-11-21T09:30:00+01:00"
    assert str(tree["location"]).startswith("Parco del Fiume")
    assert "Mercatini di Natale in piazza dal 5 dicembre" not in events  # future-dated: not yet
    single = Calendar.from_ical((site / "calendario/2026-11-02-festa-degli-alberi.ics").read_bytes())
    assert len(list(single.walk("VEVENT"))) == 1


def test_cap_alerts_validate_against_the_oasis_schema(site: Path) -> None:
    schema = etree.XMLSchema(etree.parse(str(CAP_XSD)))
    files = sorted((site / "cap").glob("*.xml"))
    assert len(files) >= 3
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    kinds = {}
    for path in files:
        doc = etree.parse(str(path))
        schema.assertValid(doc)
        kinds[path.stem] = doc.findtext("cap:msgType", namespaces=ns)
        sent = doc.findtext("cap:sent", namespaces=ns)
        assert sent.endswith("+01:00") and "Z" not in sent
        assert doc.findtext("cap:info/cap:language", namespaces=ns) == "it-IT"
        assert doc.findtext("cap:info/cap:area/cap:areaDesc", namespaces=ns)
    assert kinds["2026-11-21-allerta-arancione-idrogeologica"] == "Alert"
    assert kinds["2026-11-23-bollettino-piena-fiora"] == "Update"
    assert kinds["2026-11-22-sottopasso-via-marconi-riaperto"] == "Cancel"
    cancel = etree.parse(str(site / "cap/2026-11-22-sottopasso-via-marconi-riaperto.xml"))
    assert cancel.findtext("cap:references", namespaces=ns) == (
        "avvisi.valfiorita.example.it,avvisi.valfiorita.example.it.2026-11-22-sottopasso-via-marconi-chiuso,"
        "2026-11-22T08:00:00+01:00"
    )
    # The cancelled alert stays in the feed with its Cancel: the reference names a file a consumer can read.
    assert kinds["2026-11-22-sottopasso-via-marconi-chiuso"] == "Alert"


def test_search_is_italian_and_light(site: Path) -> None:
    index = json.loads((site / "search/search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["lang"] == ["it"]
    entry = next(d for d in index["docs"] if d["location"] == ALERT_URL)
    assert entry["text"].startswith("Allerta arancione fino alle 24:00")
    assert not any(d["location"].startswith(ALERT_URL + "#") for d in index["docs"])


def test_accessibility_statement_and_privacy_pages_are_linked_from_every_page(site: Path) -> None:
    html = (site / ALERT_URL / "index.html").read_text(encoding="utf-8")
    statement = CONFIG.identity.accessibility_statement
    assert f'href="{statement}" data-element="accessibility-link">Dichiarazione di accessibilità' in html
    assert 'href="../../../../privacy/" data-element="privacy-policy-link">Privacy' in html
    assert (site / "accessibilita/index.html").is_file() and (site / "privacy/index.html").is_file()


def test_links_on_every_page_of_a_long_listing_resolve() -> None:
    """Pages 2, 3… of a category live one folder deeper: their links must still resolve."""
    import posixpath
    import re
    from dataclasses import replace
    from datetime import datetime, timedelta

    from site_tools.content.loading import load_content
    from site_tools.site.model import SiteModel
    from site_tools.site.pages import categories, page_url

    base = load_content(CONFIG).by_id()["2026-11-04-isola-ecologica-orari-invernali"]
    many = [replace(base, id=f"b{i}", slug=f"b{i}", date=base.date - timedelta(days=i)) for i in range(130)]
    model = SiteModel(CONFIG, datetime(2026, 11, 23, 12, 0, tzinfo=CONFIG.timezone), many)
    pages = categories(model)
    assert {"categorie/servizi.md", "categorie/servizi/2.md", "categorie/servizi/3.md"} <= set(pages)
    for name, text in pages.items():
        for target in re.findall(r"\]\(([^)]+\.xml)\)", text):
            assert posixpath.normpath(posixpath.join(posixpath.dirname(name), target)).startswith("categorie/"), name
            assert posixpath.normpath(posixpath.join(posixpath.dirname(name), target)).endswith("/feed.xml")
        for href in re.findall(r'href="([^"]+)"', text):
            resolved = posixpath.normpath(posixpath.join(page_url(name), href))
            assert not resolved.startswith(".."), (name, href)


@pytest.mark.slow  # site builds
def test_strict_build_fails_on_a_broken_link(tmp_path: Path) -> None:
    import shutil

    from site_tools.content.problems import InvalidContent

    shutil.copy(FIXTURE_TOWN / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(FIXTURE_TOWN / "content", tmp_path / "content")
    page = tmp_path / "content" / "privacy.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n[vecchia pagina](vecchia-pagina.md)\n", encoding="utf-8")
    with pytest.raises(InvalidContent) as info:
        build_site(tmp_path / "mkdocs.yml", tmp_path / "site", strict=True)
    assert "vecchia-pagina.md" in str(info.value)
    build_site(tmp_path / "mkdocs.yml", tmp_path / "site", strict=False)  # not strict: builds anyway


def test_each_page_shows_its_own_title_and_rates_its_own_address(site: Path) -> None:
    """The header and the page rating are rendered once and shared: each page still has its own."""
    import re

    pages = sorted((site / "notizie").rglob("index.html")) + sorted((site / "categorie").rglob("index.html"))
    assert len(pages) > 5
    titles = set()
    for path in pages:
        html = path.read_text(encoding="utf-8")
        assert "st-title-" not in html and "st-url-" not in html
        url = CONFIG.site_url.rstrip("/") + "/" + path.parent.relative_to(site).as_posix() + "/"
        assert f'name="pagina" value="{url}"' in html
        topic = re.search(
            r'data-md-component="header-topic">\s*<span class="md-ellipsis">\s*(.*?)\s*</span>', html, re.S
        )
        assert topic is not None
        heading = re.search(r"<title>(.*?)(?: - [^<]*)?</title>", html)
        assert heading is not None and topic.group(1).strip() == heading.group(1).strip()
        titles.add(topic.group(1))
    assert len(titles) == len(pages)


def test_stashed_html_comes_back_with_or_without_its_paragraph() -> None:
    """A placeholder as a paragraph of its own, as text inside an editor's HTML block, or unknown (left as it is)."""
    from site_tools.site.stash import HtmlStash

    stash = HtmlStash()
    one, two, three = (stash.put(html).strip() for html in ('<nav id="a">1</nav>', "<ul><li>2</li></ul>", "<p>3</p>"))
    unknown = f"stash{stash.nonce}n99"
    html = f"<p>{one}</p>\n<div>{two}</div><p>{three}<p>{unknown}</p>"
    restored, ids = stash.restore(html)
    assert restored == f'<nav id="a">1</nav>\n<div><ul><li>2</li></ul></div><p>3</p><p>{unknown}</p>'
    assert ids == {"a"}
