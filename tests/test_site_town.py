"""What an Italian town's site has, as a citizen, AGID's checker and a link preview see it."""

# ruff: noqa: F811  (the demo site, its server and a browser page are test_site's fixtures, imported)

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path

import pypdfium2
import pytest
from lxml import html as lxml_html
from PIL import Image

from site_tools.content.config import load_config
from site_tools.content.dates import format_it
from site_tools.content.problems import InvalidContent
from site_tools.render.common import event_when
from site_tools.site.build import build_site
from site_tools.site.town_pages import LICENCE_TEXT

from .conftest import Town, good
from .test_site import (  # noqa: F401  (fixtures: the demo site, served)
    AFTER_EXPIRY,
    ALERT_URL,
    CONFIG,
    NOW,
    build_at,
    server,
    site,
)

ROME = CONFIG.timezone
CLOSED = "notizie/2026/11/sottopasso-via-marconi-chiuso/"


def doc(site: Path, url: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring((site / url / "index.html").read_bytes())


def meta(document: lxml_html.HtmlElement, key: str) -> str:
    (value,) = document.xpath(f'//meta[@property="{key}" or @name="{key}"]/@content')
    return str(value)


# --- configuration ---------------------------------------------------------------------------


def edit_config(town: Town, old: str, new: str) -> Path:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "old,new,field,words",
    [
        ("    pec: protocollo@pec.comune.valfiorita.example.it\n", "", "pec", "manca «pec»"),
        ('color: "#0b4fa3"', 'color: "#f2c12e"', "color", "contrasto di 1,7:1"),
        ('tax_code: "12345670017"', 'tax_code: "12345670018"', "tax_code", "11 cifre"),
        (
            "https://form.agid.gov.it/view/00000000-0000-0000-0000-000000000000",
            "https://www.comune.valfiorita.example.it/accessibilita",
            "accessibility_statement",
            "sito di AGID",
        ),
        ("coat_of_arms: img/stemma-valfiorita.png", "coat_of_arms: img/stemma.png", "coat_of_arms", "non esiste"),
        ("privacy: privacy.md", "privacy: informativa.md", "privacy", "non è una pagina del sito"),
        ("    page_feedback: https://www", "    page_feedback: http://www", "page_feedback", "non è un indirizzo web"),
        (
            "    privacy: privacy.md\n",
            "    privacy: privacy.md\n    services_url: http://www.comune.valfiorita.example.it/servizi/\n",
            "services_url",
            "non è un indirizzo web",
        ),
    ],
)
def test_the_identity_is_checked_for_the_site_but_never_blocks_an_alert(
    town: Town, old: str, new: str, field: str, words: str
) -> None:
    path = edit_config(town, old, new)
    config = load_config(path)  # the publisher still loads it: an alert is not held back by a footer
    (problem,) = [p for p in config.site_problems if p.field == f"extra.town.{field}"]
    assert words in problem.message and problem.fix and problem.file.endswith("mkdocs.yml")
    with pytest.raises(InvalidContent) as info:
        build_site(path, town.root / "site")
    assert f"extra.town.{field}" in str(info.value)


def test_validate_reports_what_would_stop_the_site(town: Town) -> None:
    from .test_cli import run

    edit_config(town, "    pec: protocollo@pec.comune.valfiorita.example.it\n", "")
    result = run("validate", cwd=town.root)
    assert result.returncode != 0 and "[extra.town.pec] manca «pec»" in result.stderr + result.stdout


def test_a_misspelt_identity_key_gets_a_suggestion(town: Town) -> None:
    path = edit_config(town, 'color: "#0b4fa3"', 'colour: "#0b4fa3"')
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    assert "forse intendevi «color»?" in str(info.value)


@pytest.mark.slow  # a site build of its own
def test_another_towns_colour_reaches_the_stylesheet_the_preview_and_the_posters(town: Town) -> None:
    edit_config(town, 'color: "#0b4fa3"', 'color: "#7a1f3d"')
    out = build_site(town.root / "mkdocs.yml", town.root / "site")
    assert (
        (out / "assets/site-tools.css")
        .read_text(encoding="utf-8")
        .startswith(":root{--st-town-color:#7a1f3d;--md-primary-fg-color:#7a1f3d;")
    )
    assert Image.open(out / "assets/condivisione.png").convert("RGB").getpixel((5, 5)) == (0x7A, 0x1F, 0x3D)
    poster = pypdfium2.PdfDocument(str(out / "manifesti/telegram-a4.pdf"))[0].render(scale=1).to_pil()
    assert poster.convert("RGB").getpixel((poster.width // 2, 10)) == (0x7A, 0x1F, 0x3D)


# --- footer, legal notes, AGID's markers ---------------------------------------------------


@pytest.mark.slow  # a site build of its own
def test_every_page_has_the_towns_footer_with_the_checkers_markers(site: Path) -> None:
    identity = CONFIG.identity
    pages = sorted(p for p in site.rglob("index.html") if p.relative_to(site).parts[0] != "admin")  # not the editor
    assert len(pages) > 40
    for path in pages:
        document = lxml_html.fromstring(path.read_bytes())
        footer = document.xpath('//footer//div[contains(@class, "st-footer")]')[0]
        text = " ".join(footer.text_content().split())
        assert "Comune di Valfiorita" in text and identity.address in text
        assert f"PEC: {identity.pec}" in text and f"Codice fiscale: {identity.tax_code}" in text
        links = {a.get("data-element"): a.get("href") for a in footer.iter("a") if a.get("data-element")}
        assert links["accessibility-link"] == identity.accessibility_statement
        assert links.keys() == {
            "accessibility-link",
            "privacy-policy-link",
            "legal-notes",
            "report-inefficiency",
            "faq",
        }
        assert any(a.get("href") == identity.website for a in footer.iter("a"))


def test_legal_notes_carry_the_open_by_default_licence(site: Path) -> None:
    document = doc(site, "note-legali")
    (title,) = document.xpath('//*[@data-element="legal-notes-section"]')
    assert title.tag == "h2" and title.text_content() == "Licenza dei contenuti"
    (body,) = document.xpath('//*[@data-element="legal-notes-body"]')
    assert " ".join(body.text_content().split()) == LICENCE_TEXT
    assert "CC-BY 4.0" in LICENCE_TEXT and "articolo 52" in LICENCE_TEXT


def test_the_report_page_says_where_reports_go(site: Path) -> None:
    text = " ".join(doc(site, "segnalazioni").text_content().split())
    assert "800 000 000" in text and "urp@comune.valfiorita.example.it" in text
    assert CONFIG.counter  # the demo town answers in chat during office hours: the page says when
    assert "risponde lo sportello negli orari d'ufficio (lunedì 09:00–13:00;" in text and "112" in text
    assert doc(site, "segnalazioni").xpath('//a[@href="tel:800000000"]')


def test_the_coat_of_arms_replaces_the_theme_icon(site: Path) -> None:
    document = doc(site, "")
    logo = document.xpath('//a[contains(@class, "md-logo")]/img')[0]
    assert logo.get("src") == "img/stemma-valfiorita.png" and logo.get("alt") == "Stemma del Comune di Valfiorita"
    assert document.xpath('//link[@rel="icon"]/@href') == ["img/stemma-valfiorita.png"]


# --- link previews and discovery ----------------------------------------------------------


def test_a_bulletin_link_shows_title_summary_and_image_when_shared(site: Path) -> None:
    document = doc(site, ALERT_URL)
    assert meta(document, "og:type") == "article"
    assert meta(document, "og:title") == "Allerta arancione: rischio idrogeologico e piene del torrente Fiora"
    assert meta(document, "og:description").startswith("Allerta arancione fino alle 24:00")
    assert meta(document, "og:url") == CONFIG.site_url + ALERT_URL
    assert meta(document, "og:url") == document.xpath('//link[@rel="canonical"]/@href')[0]
    assert meta(document, "og:image") == CONFIG.site_url + "assets/condivisione.png"
    assert meta(document, "twitter:card") == "summary_large_image"
    assert meta(document, "twitter:title") == meta(document, "og:title")
    image = Image.open(site / "assets/condivisione.png")
    assert image.size == (1200, 630) and image.format == "PNG"
    assert (meta(document, "og:image:width"), meta(document, "og:image:height")) == ("1200", "630")
    home = doc(site, "")
    assert meta(home, "og:type") == "website" and meta(home, "og:title") == CONFIG.site_name


def test_the_default_preview_image_shows_the_towns_name(site: Path) -> None:
    """OCR is not at hand: compare with the same image drawn without the name."""
    from site_tools.site.branding import share_image

    with_name = Image.open(site / "assets/condivisione.png").convert("RGB")
    nameless = Image.open(io.BytesIO(share_image(_renamed(CONFIG, " ")))).convert("RGB")
    from PIL import ImageChops

    difference = ImageChops.difference(with_name, nameless).convert("L")
    changed = sum(difference.histogram()[1:])  # pixels that are not the same
    assert changed > 5000  # the name's letters, in white on the town's colour


def _renamed(config, name: str):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(config, name=name)


@pytest.mark.slow  # a site build of its own
def test_a_bulletins_own_image_and_awkward_characters_in_the_preview(town: Town) -> None:
    title = 'Via "Roma" <chiusa> & riaperta'
    town.write(
        "2026-11-20-chiusura-via-roma.md",
        good().replace("Chiusura di via Roma per lavori", f"'{title}'") + "image: foto.png\n",
    )
    Image.new("RGB", (800, 400), "red").save(town.root / "content/notizie/2026/foto.png")
    out = build_site(town.root / "mkdocs.yml", town.root / "site", strict=True)
    document = doc(out, "notizie/2026/11/chiusura-via-roma")
    assert meta(document, "og:title") == title and meta(document, "twitter:title") == title
    assert meta(document, "og:image") == CONFIG.site_url + "notizie/2026/foto.png"
    assert (out / "notizie/2026/foto.png").is_file()
    raw = (out / "notizie/2026/11/chiusura-via-roma/index.html").read_text(encoding="utf-8")
    ours = [line for line in raw.splitlines() if 'property="og:' in line or 'name="twitter:' in line]
    ours += re.findall(r'<nav class="st-breadcrumb".*?</nav>', raw)
    assert len(ours) > 10 and not any("<chiusa>" in line for line in ours)
    assert "&lt;chiusa&gt;" in ours[-1] and "&#34;Roma&#34;" in raw.split("og:title")[1].split(">")[0]


def test_feeds_are_discoverable_and_the_open_data_page_lists_them(site: Path) -> None:
    home = doc(site, "")
    feeds = home.xpath('//link[@rel="alternate" and @type="application/rss+xml"]/@href')
    assert feeds == ["feed.xml"]
    category = doc(site, "categorie/meteo")
    assert category.xpath('//link[@rel="alternate" and @type="application/rss+xml"]/@href') == [
        "../../feed.xml",
        "feed.xml",
    ]
    open_data = doc(site, "dati-aperti")
    hrefs = set(open_data.xpath("//article//a/@href"))
    assert {"../feed.xml", "../eventi.ics", "../cap/index.json", "../categorie/meteo/feed.xml"} <= hrefs
    assert "webcal://avvisi.valfiorita.example.it/eventi.ics" in hrefs
    text = " ".join(open_data.text_content().split())
    assert "Common Alerting Protocol" in text and "iCalendar" in text and "RSS" in text
    assert home.xpath('//nav//a[normalize-space()="Dati aperti"]')  # in the navigation and the footer


# --- page rating ----------------------------------------------------------------------------


def test_the_page_rating_asks_the_right_follow_up_and_reaches_the_towns_form(page, server: str) -> None:  # noqa: F811
    sent: list[str] = []
    target = CONFIG.identity.page_feedback
    page.route(target + "**", lambda route: (sent.append(route.request.url), route.fulfill(body="grazie")))
    page.goto(server + ALERT_URL)
    form = page.locator('form[data-element="feedback"]')
    assert form.get_by_role("heading").inner_text() == "Quanto sono chiare le informazioni su questa pagina?"
    positive = form.locator('[data-element="feedback-rating-positive"]')
    negative = form.locator('[data-element="feedback-rating-negative"]')
    assert not positive.is_visible() and not negative.is_visible()
    form.get_by_label("2", exact=True).check()
    assert negative.is_visible() and not positive.is_visible()
    form.get_by_label("5", exact=True).check()
    assert positive.is_visible() and not negative.is_visible()
    assert positive.locator('[data-element="feedback-rating-answer"]').count() == 5
    positive.get_by_text("Le indicazioni erano complete").click()
    form.get_by_role("button", name="Invia la valutazione").click()
    page.wait_for_url(target + "**")
    assert sent and "voto=5" in sent[0] and "positivo=2" in sent[0]
    assert "pagina=https%3A%2F%2Favvisi.valfiorita.example.it%2Fnotizie%2F2026%2F11%2Fallerta" in sent[0]


# --- listings, bulletin details, wording ----------------------------------------------------


@pytest.fixture(scope="module")
def later_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_at(AFTER_EXPIRY, tmp_path_factory.mktemp("town-later"))


def listing_entry(site: Path, url: str, title: str) -> str:
    for item in doc(site, url).xpath('//ul[@class="st-list"]/li'):
        if item.xpath('string(a[@class="st-title"])') == title:
            return " ".join(item.text_content().split())
    raise AssertionError(f"{title} not in {url}")


@pytest.mark.slow  # a site build of its own
def test_listings_say_expired_cancelled_and_concluded(later_site: Path) -> None:
    alert = listing_entry(
        later_site, "novita/avvisi", "Allerta arancione: rischio idrogeologico e piene del torrente Fiora"
    )
    assert "Scaduto" in alert and "Urgente" not in alert
    closed = listing_entry(later_site, "categorie/viabilita", "Sottopasso di via Marconi chiuso per allagamento")
    assert "Annullato" in closed and "Urgente" not in closed
    party = listing_entry(later_site, "categorie/ambiente", "Festa degli alberi: 200 nuove piante al parco del Fiume")
    assert "Evento concluso" in party
    water = listing_entry(later_site, "", "Frazione Colle: acqua non potabile fino a nuovo avviso")
    assert water.startswith("Frazione Colle") and "Urgente" in water  # still in force: no expiry


def test_no_calendar_button_once_an_event_is_over(site: Path) -> None:
    past = doc(site, "notizie/2026/11/festa-degli-alberi")
    assert not past.xpath('//a[text()="Aggiungi al calendario"]')
    assert "L'evento si è concluso." in past.text_content()
    coming = doc(site, "notizie/2026/11/consiglio-comunale-bilancio")
    (button,) = coming.xpath('//a[text()="Aggiungi al calendario"]/@href')
    assert button == "../../../../calendario/2026-11-09-consiglio-comunale-bilancio.ics"


def test_a_bulletin_shows_last_update_reading_time_and_its_documents(site: Path) -> None:
    document = doc(site, CLOSED)
    details = " ".join(document.xpath('string(//ul[@data-element="metadata"])').split())
    assert "Pubblicato: domenica 22 novembre 2026, ore 08:00" in details
    assert "Ultimo aggiornamento: domenica 22 novembre 2026, ore 09:30" in details  # its cancellation
    assert "Tempo di lettura: 1 minuto" in details
    (link,) = document.xpath('//ul[@class="st-attachments"]/li/a')
    assert link.text == "Ordinanza n. 45 del 22 novembre 2026 (chiusura del sottopasso)"
    pdf = (site / CLOSED / link.get("href")).resolve()
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    kb = round(pdf.stat().st_size / 1024)  # sizes are binary everywhere, like the limits (formatting.file_size)
    assert f"(PDF, {kb} KB)" in " ".join(link.getparent().text_content().split())


def test_italian_wording_on_bulletin_and_listing_pages(site: Path) -> None:
    closed = " ".join(doc(site, CLOSED).text_content().split())
    assert "Questo avviso è stato annullato domenica 22 novembre 2026, ore 09:30: leggi" in closed
    update = " ".join(doc(site, "notizie/2026/11/bollettino-piena-fiora").text_content().split())
    assert "Questo avviso aggiorna Allerta arancione" in update and ", pubblicato sabato 21 novembre 2026." in update
    novita = doc(site, "novita").text_content()
    assert "Tutte le notizie (" in novita and "Tutti gli avvisi (" in novita and "Tutti i comunicati (" in novita
    for path in site.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        # «annullato il domenica 22», «novità del lunedì 23»: an article before a weekday and its date.
        assert not re.search(r"\b(il|del|dal|al) (lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica) \d", text)
        assert "Tutti:" not in text


@pytest.mark.parametrize("size", ["a4", "a3"])
def test_posters_say_scan_not_tap(site: Path, size: str) -> None:
    for channel in ("whatsapp-channel", "whatsapp-list", "telegram"):
        text = pypdfium2.PdfDocument(str(site / f"manifesti/{channel}-{size}.pdf"))[0].get_textpage().get_text_range()
        flat = " ".join(text.split())
        assert "Inquadra il codice QR con la fotocamera del telefono" in flat and "tocca il pulsante" not in flat


def test_dates_and_event_times_in_italian() -> None:
    from site_tools.content.bulletin import Event
    from site_tools.content.dates import parse_datetime

    def at(text: str, end_of_day: bool = False) -> datetime:
        return parse_datetime(text, ROME, end_of_day=end_of_day)

    assert format_it(at("2026-11-01 09:05")) == "domenica 1º novembre 2026, ore 09:05"
    assert format_it(at("2026-03-29 03:30")) == "domenica 29 marzo 2026, ore 03:30"  # the night summer time starts
    assert format_it(at("2026-08-08")) == "sabato 8 agosto 2026"  # midnight: no time
    assert event_when(Event(at("2026-11-21 09:30"), at("2026-11-21 12:30")), ROME) == (
        "sabato 21 novembre 2026, dalle ore 09:30 alle ore 12:30"
    )
    assert event_when(Event(at("2026-12-05"), at("2026-12-24", end_of_day=True)), ROME) == (
        "da sabato 5 dicembre 2026 a giovedì 24 dicembre 2026"
    )
    assert event_when(Event(at("2026-12-05 10:00"), at("2026-12-07 20:00")), ROME) == (
        "da sabato 5 dicembre 2026, ore 10:00, a lunedì 7 dicembre 2026, ore 20:00"
    )
    assert event_when(Event(at("2026-12-05"), at("2026-12-05", end_of_day=True)), ROME) == "sabato 5 dicembre 2026"


@pytest.mark.parametrize("path", ["dati-aperti/", "note-legali/", "segnalazioni/"])
def test_the_new_pages_have_no_serious_accessibility_violations(page, server: str, path: str) -> None:
    import json

    from .test_site import AXE, run_axe

    if not AXE.is_file():
        pytest.fail("axe-core is missing: scripts/test runs npm install")
    page.goto(server + path)
    violations = run_axe(page)
    assert violations == [], json.dumps([(v["id"], v["help"]) for v in violations], indent=1)
