"""What AGID's checker for municipal sites (italia/pa-website-validator) reads on the site, audit by audit.

Each test reads what one audit reads — the same selectors, the same texts, the same rules — on the built
site (and, where the checker looks at the page in Chromium, in Chromium). The checker's texts and lists are
copied here from its source (``src/storage/…``), not imported from the site's code, so a change on either side
shows. What the checker itself reports on the demo site is kept in ``docs/reference/agid-checker.md``.
"""

# ruff: noqa: F811  (the fixture town's site and its server are test_site's fixtures, imported)

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from lxml import html as lxml_html

from .conftest import REPO, Town
from .test_site import CONFIG, NOW, build_at, server, site  # noqa: F401  (fixtures: the fixture town's site, served)

SITE_URL = "https://avvisi.valfiorita.example.it/"
WEBSITE = CONFIG.identity.website
BULLETIN = "notizie/2026/11/allerta-arancione-idrogeologica/"
#: The kinds of page the checker opens: the home, the first-level page this site is (Novità), its second-level
#: pages (a kind of news, a category), a content page (a bulletin) and the legal notes.
PAGES = ("", "novita/", "novita/avvisi/", "categorie/meteo/", BULLETIN, "note-legali/")

# --- copied from the checker: src/storage/municipality/menuItems.ts, feedbackComponentStructure.ts,
# allowedFonts.ts; src/storage/common/legalNotes.ts -------------------------------------------------------------
MENU_ELEMENTS = ("management", "news", "all-services", "live")
LEGAL_TITLE = "Licenza dei contenuti"
LEGAL_TEXT = (
    "In applicazione del principio open by default ai sensi dell’articolo 52 del decreto legislativo 7 marzo "
    "2005, n. 82 (CAD) e salvo dove diversamente specificato (compresi i contenuti incorporati di terzi), i dati, "
    "i documenti e le informazioni pubblicati sul sito sono rilasciati con licenza CC-BY 4.0. Gli utenti sono "
    "quindi liberi di condividere (riprodurre, distribuire, comunicare al pubblico, esporre in pubblico), "
    "rappresentare, eseguire e recitare questo materiale con qualsiasi mezzo e formato e modificare (trasformare "
    "il materiale e utilizzarlo per opere derivate) per qualsiasi fine, anche commerciale con il solo onere di "
    "attribuzione, senza apporre restrizioni aggiuntive."
)
FEEDBACK_TITLE = "Quanto sono chiare le informazioni su questa pagina?"
POSITIVE = (
    "Quali sono stati gli aspetti che hai preferito?",
    [
        "Le indicazioni erano chiare",
        "Le indicazioni erano complete",
        "Capivo sempre che stavo procedendo correttamente",
        "Non ho avuto problemi tecnici",
        "Altro",
    ],
)
NEGATIVE = (
    "Dove hai incontrato le maggiori difficoltà?",
    [
        "A volte le indicazioni non erano chiare",
        "A volte le indicazioni non erano complete",
        "A volte non capivo se stavo procedendo correttamente",
        "Ho avuto problemi tecnici",
        "Altro",
    ],
)
POSITIVE_THRESHOLD = 3  # a rating of 1 to 3 asks the negative question, 4 and 5 the positive one
ALLOWED_FONTS = ("Titillium Web", "Lora", "Roboto Mono")
REPORT_LABELS = ("disservizio", "segnala disservizio", "segnalazione disservizio")


def doc(site: Path, url: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring((site / url / "index.html").read_bytes())


def resolve(site: Path, page: str, href: str) -> Path | None:
    """Where a link leads in the built site (None: another host), as the checker resolves it from the page."""
    absolute = urljoin(SITE_URL + page, href)
    if not absolute.startswith(SITE_URL):
        return None
    path = urlparse(absolute).path.lstrip("/")
    target = site / path
    return target / "index.html" if path.endswith("/") or not path else target


def footer_link(document: lxml_html.HtmlElement, element: str) -> lxml_html.HtmlElement:
    """``$("footer").find('[data-element="…"]')``: the checker reads the first one's href and the text."""
    (link,) = document.xpath(f'//footer//*[@data-element="{element}"]')
    href = link.get("href")
    assert href and href != "#", f"{element}: no address"
    return link


def text(element: lxml_html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


# --- the main menu: without it the cookie, fonts, topics and feedback audits stop before checking ---------------


def test_every_page_carries_the_models_main_menu_and_argomenti(site: Path) -> None:
    expected = {
        "management": ("Amministrazione", urljoin(WEBSITE, "amministrazione/")),
        "all-services": ("Servizi", urljoin(WEBSITE, "servizi/")),
        "live": ("Vivere il Comune", urljoin(WEBSITE, "vivere-il-comune/")),
    }
    for page in PAGES:
        document = doc(site, page)
        (menu,) = document.xpath('//nav[@aria-label="Menu principale del Comune"]')
        for element, (label, address) in expected.items():
            (link,) = menu.xpath(f'.//a[@data-element="{element}"]')
            assert (text(link), link.get("href")) == (label, address), page
        (news,) = menu.xpath('.//a[@data-element="news"]')
        assert text(news) == "Novità" and resolve(site, page, news.get("href")) == site / "novita/index.html"
        # The model's order: the four main entries, then Argomenti — once the site has that page (below).
        topics = ["all-topics"] if (site / "argomenti/index.html").is_file() else []
        assert [a.get("data-element") for a in menu.iter("a")] == [*MENU_ELEMENTS, *topics]
        for link in menu.xpath('.//a[@data-element="all-topics"]'):
            assert text(link) == "Argomenti" and resolve(site, page, link.get("href")) == site / "argomenti/index.html"


@pytest.mark.slow  # a site build
def test_argomenti_joins_the_menu_with_the_sites_topics_page(town: Town) -> None:
    page = town.root / "content/argomenti/index.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("# Argomenti\n\nGli argomenti degli avvisi.\n", encoding="utf-8")
    built = build_at(NOW, town.root / "site", town.root / "mkdocs.yml")
    for url in ("", "novita/", "argomenti/"):
        (link,) = doc(built, url).xpath(
            '//nav[@aria-label="Menu principale del Comune"]//a[@data-element="all-topics"]'
        )
        assert text(link) == "Argomenti" and resolve(built, url, link.get("href")) == built / "argomenti/index.html"


def test_novita_links_each_kind_of_news_as_the_model_does(site: Path) -> None:
    """The checker opens the «news» page and needs its second-level links (``news-category-link``)."""
    links = doc(site, "novita/").xpath('//*[@data-element="news-category-link"]')
    assert [text(a).split(" (")[0] for a in links] == [
        "Tutte le notizie",
        "Tutti i comunicati",
        "Tutti gli avvisi",
        "Tutti i bandi e concorsi",
    ]
    for a in links:
        target = resolve(site, "novita/", a.get("href"))
        assert target is not None and target.is_file(), a.get("href")


def test_the_main_sites_sections_default_under_its_address_and_can_be_written() -> None:
    identity = CONFIG.identity
    assert identity.main_site("faq_url") == "https://www.comune.valfiorita.example.it/domande-frequenti/"
    written = identity.model_copy(update={"live_url": "https://www.comune.valfiorita.example.it/vivere-valfiorita"})
    assert written.main_site("live_url") == "https://www.comune.valfiorita.example.it/vivere-valfiorita"
    assert written.main_site("management_url") == "https://www.comune.valfiorita.example.it/amministrazione/"


# --- C.SI.3.4 legal notes ----------------------------------------------------------------------------------------


def test_legal_notes_title_and_body_read_as_the_checker_reads_them(site: Path) -> None:
    link = footer_link(doc(site, ""), "legal-notes")
    target = resolve(site, "", link.get("href"))
    assert target is not None and target.is_file()
    notes = lxml_html.fromstring(target.read_bytes())
    # sectionElement.text().trim().toLowerCase() === "licenza dei contenuti": the element's whole text.
    sections = notes.xpath('//*[@data-element="legal-notes-section"]')
    assert sections and "".join(s.text_content() for s in sections).strip().lower() == LEGAL_TITLE.lower()
    # Every body element's text, joined by spaces, whitespace collapsed, ' read as ’, lower case.
    body = " ".join(b.text_content() for b in notes.xpath('//*[@data-element="legal-notes-body"]'))
    body = " ".join(body.split()).lower().replace("'", "’")
    assert body == LEGAL_TEXT.lower()


# --- C.SI.2.3 FAQ, C.SI.2.4 report a problem, C.SI.3.3 privacy, C.SI.3.2 accessibility statement -----------------


def test_the_footer_links_to_the_towns_frequently_asked_questions(site: Path) -> None:
    for page in ("", BULLETIN):
        link = footer_link(doc(site, page), "faq")
        label = text(link).lower()
        assert "faq" in label or "domande frequenti" in label
        assert link.get("href") == urljoin(WEBSITE, "domande-frequenti/")


def test_the_footer_links_to_the_page_to_report_a_problem(site: Path) -> None:
    link = footer_link(doc(site, BULLETIN), "report-inefficiency")
    assert text(link).lower() in REPORT_LABELS
    target = resolve(site, BULLETIN, link.get("href"))
    assert target is not None and target.is_file()
    assert "Numero verde" in lxml_html.fromstring(target.read_bytes()).text_content()


def test_the_footer_links_to_a_privacy_page_of_the_site_over_https(site: Path) -> None:
    link = footer_link(doc(site, ""), "privacy-policy-link")
    # urlExists(…, true): the address, resolved against the site's, must be https and answer.
    assert urljoin(SITE_URL, link.get("href")).startswith("https://")
    target = resolve(site, "", link.get("href"))
    assert target is not None and target.is_file()


def test_the_footer_links_to_the_statement_on_agids_form_site(site: Path) -> None:
    link = footer_link(doc(site, ""), "accessibility-link")
    assert "https://form.agid.gov.it/view/" in link.get("href")


# --- C.SI.2.5 page feedback --------------------------------------------------------------------------------------


def test_the_page_rating_has_the_models_markers_and_words_on_every_page(site: Path) -> None:
    for page in PAGES:
        document = doc(site, page)
        (component,) = document.xpath('//*[@data-element="feedback"]')
        (title,) = component.xpath('.//*[@data-element="feedback-title"]')
        assert title.text_content().strip().lower() == FEEDBACK_TITLE.lower(), page
        assert component.xpath('.//*[@data-element="feedback-input-text"]')
        for n in range(1, 6):
            assert len(document.xpath(f'//*[@data-element="feedback-rate-{n}"]')) == 1
        for element, (question, answers) in (("positive", POSITIVE), ("negative", NEGATIVE)):
            (group,) = document.xpath(f'//*[@data-element="feedback-rating-{element}"]')
            (asked,) = group.xpath('.//*[@data-element="feedback-rating-question"]')
            assert asked.text_content().strip().lower() == question.lower()
            shown = [a.text_content().strip() for a in group.xpath('.//*[@data-element="feedback-rating-answer"]')]
            assert shown == answers


def test_each_rating_opens_the_follow_up_question_the_model_associates_with_it(page, server: str) -> None:
    page.goto(server + BULLETIN)
    positive = page.locator('[data-element="feedback-rating-positive"]')
    negative = page.locator('[data-element="feedback-rating-negative"]')
    for n in range(1, 6):
        page.locator(f'[data-element="feedback-rate-{n}"]').click()  # what the checker clicks
        shown = ("negative",) if n <= POSITIVE_THRESHOLD else ("positive",)
        assert tuple(k for k, g in (("positive", positive), ("negative", negative)) if g.is_visible()) == shown, n


#: mkdocs-material's line under the search box once its worker is ready (partials/languages/it.html,
#: "search.result.placeholder"); before, it reads «Inizializza la ricerca».
SEARCH_READY = "Scrivi per iniziare a cercare"


# --- C.SI.3.1 cookies ---------------------------------------------------------------------------------------------


@pytest.mark.timeout(300)  # five pages and the search's index, on a machine shared with other Chromiums
def test_the_site_sets_no_cookie(page, server: str) -> None:
    """What the checker reads: the cookies the pages it opens leave in the browser. Each step waits for the state
    it leads to (the page's scripts run, the rating shown, the search's results drawn) before the cookies are
    read, so a slow machine makes the test slower, never wrong."""
    from playwright.sync_api import expect

    for url in ("", "novita/", BULLETIN, "note-legali/", "iscriviti/"):
        page.goto(server + url, wait_until="load")  # the page's own scripts have run
        assert page.context.cookies() == [], url
    page.locator('[data-element="feedback-rate-4"]').check()
    expect(page.locator('[data-element="feedback-rating-positive"]')).to_be_visible()
    # The search keeps its state in the browser. Typed key by key, as a visitor does: the theme reads the query on
    # "keyup", and on "focus" 1 ms later. Playwright's fill() sends neither after setting the value, so on a loaded
    # machine the theme read the box while still empty, and never searched.
    expect(page.locator(".md-search-result__meta")).to_have_text(SEARCH_READY, timeout=120_000)
    page.locator(".md-search__input").press_sequentially("allerta")
    expect(page.locator(".md-search-result__item").first).to_be_visible(timeout=120_000)
    assert page.context.cookies() == []


# --- C.SI.1.1 fonts -----------------------------------------------------------------------------------------------


def test_the_models_fonts_are_declared_and_served_by_the_site_itself(site: Path) -> None:
    css = (site / "assets/site-tools.css").read_text(encoding="utf-8")
    for family in ALLOWED_FONTS:
        assert f'font-family:"{family}"' in css
    files = sorted((site / "assets/fonts").glob("*.woff2"))
    assert files
    for font in files:
        assert font.read_bytes()[:4] == b"wOF2", font.name
        assert f'url("fonts/{font.name}")' in css
    # No font from another host: the pages' policy allows fonts from the site alone.
    home = doc(site, "")
    assert not [h for h in home.xpath("//link/@href") if "fonts.googleapis.com" in h or "fonts.gstatic.com" in h]
    (csp,) = home.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')
    assert "font-src 'self';" in csp


def test_the_fonts_and_their_licences_ship_in_the_wheel() -> None:
    """A town's site is built from the installed package: pyproject.toml's package data must take the fonts."""
    import glob
    import tomllib

    from site_tools.site.fonts import FACES, FONTS_DIR, SUBSETS

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    package = FONTS_DIR.parents[1]
    patterns = config["tool"]["setuptools"]["package-data"]["site_tools.site"]
    shipped = {path for pattern in patterns for path in glob.glob(pattern, root_dir=package)}
    fonts = {f"assets/fonts/{face.file(subset)}" for face in FACES for subset in SUBSETS}
    licences = {f"assets/fonts/OFL-{name}.txt" for name in ("titillium-web", "lora", "roboto-mono")}
    assert fonts | licences <= shipped, sorted(fonts | licences - shipped)
    assert "SIL Open Font License" in (FONTS_DIR / "OFL-lora.txt").read_text(encoding="utf-8")


#: The checker's own test (fontsCheckAudit.ts): the first family of every heading and paragraph, else of one of
#: their descendants (tolerated), must be one of the model's.
FONTS_CHECK = """allowed => {
  const first = e => getComputedStyle(e).fontFamily.split(",", 1).map(s => s.replace(/^"|"$/g, ""));
  const bad = [];
  for (const e of document.body.querySelectorAll("h1, h2, h3, h4, h5, h6, p")) {
    const wrong = first(e).filter(f => !allowed.includes(f));
    if (wrong.length) { bad.push(e.tagName + ": " + wrong); continue; }
    for (const child of e.querySelectorAll("*")) {
      const w = first(child).filter(f => !allowed.includes(f));
      if (w.length) { bad.push(e.tagName + " > " + child.tagName + ": " + w); break; }
    }
  }
  return bad;
}"""


def test_headings_and_paragraphs_are_set_in_the_models_fonts_loaded_from_the_site(page, server: str) -> None:
    fonts: list[tuple[str, int]] = []
    page.on("response", lambda r: fonts.append((r.url, r.status)) if r.request.resource_type == "font" else None)
    for url in PAGES:
        page.goto(server + url)
        assert page.evaluate(FONTS_CHECK, list(ALLOWED_FONTS)) == [], url
        loaded = page.evaluate(
            "async () => { await document.fonts.ready;"
            " return [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family.replace(/\"/g, '')) }"
        )
        assert "Titillium Web" in loaded, url
    assert fonts and all(url.startswith(server) and status in (200, 304) for url, status in fonts)  # 304: cached


def test_the_menu_is_reached_with_the_keyboard_on_a_phone(browser, server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="it-IT")
    page = context.new_page()
    page.goto(server + BULLETIN)
    menu = page.get_by_role("navigation", name="Menu principale del Comune")
    labels = ["Amministrazione", "Novità", "Servizi", "Vivere il Comune"]
    for label in labels:
        assert menu.get_by_role("link", name=label, exact=True).is_visible()
    focused: list[str] = []
    for _ in range(40):  # Tab from the top of the page until past the menu
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent.trim()"))
        if focused[-1] == labels[-1]:
            break
    assert [f for f in focused if f in labels] == labels
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # a visible focus ring
    context.close()
