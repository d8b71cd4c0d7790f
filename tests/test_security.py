"""Nothing an editor writes runs in a reader's browser or leaks a file.

Every hostile case (tests/hostile.py) is either refused by ``validate`` with
the file and line, or accepted and shown as text. Then every case that can
be built is built into one site *with validation bypassed*, as if the
validator had missed it, and each built page is parsed as a browser parses
it (HTML5) and opened in Chromium: no handler, no running address, no
foreign script, style, frame, form, base or refresh, no dialog.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from site_tools.content.config import TownConfig, load_config
from site_tools.content.loading import Content, load_content
from site_tools.content.problems import InvalidContent
from site_tools.site.build import build_site

from .conftest import FIXTURE_TOWN, Town
from .hostile import FIELDS, INERT, REFUSED, Case, all_cases

CASES = all_cases()
NOW = "2026-11-23 12:00"
SITE_URL = "https://avvisi.valfiorita.example.it/"
#: The one form target a page may have besides search: the town's own page-rating form (AGID).
FEEDBACK = load_config(FIXTURE_TOWN / "mkdocs.yml").identity.page_feedback


@pytest.fixture
def outside(town: Town) -> Path:
    """A folder beside content/: the machine's files, which must never become public."""
    folder = town.root / "fuori"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_refuses_it_or_it_is_only_text(town: Town, outside: Path, case: Case) -> None:
    (town.root / "content" / "privacy.md").write_text("# Privacy\n\nTesto.\n", encoding="utf-8")
    path = case.write(town, outside)
    shown = path.relative_to(town.root).as_posix()
    problems = [p for p in load_content(town.config).problems if p.file == shown]
    if case.expect == INERT:
        assert problems == [], [p.format() for p in problems]
        return
    assert problems, f"{case.id}: validate accepted it"
    first = problems[0]
    if case.line is not None:
        assert first.line == case.line, first.format()
    assert case.message in " ".join(p.message for p in problems), [p.format() for p in problems]
    for problem in problems:
        assert problem.fix and len(problem.message) < 400, problem.format()  # a fix, never a huge value


def test_the_hostile_set_keeps_its_size() -> None:
    """docs/security/index.md states these figures: a case removed must show here."""
    refused = [c for c in CASES if c.expect == REFUSED]
    assert (len(CASES), len(refused), len([c for c in CASES if c.in_site])) == (127, 107, 103)


# --- the site built from every case, as if validate had let them all through -------------------


def _without_validation(town: TownConfig) -> Content:
    """What the plugin gets if the validator missed everything: bodies, pages and files unchecked."""
    return load_content(town, check_bodies=False)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    town = Town(root, with_demo=False)
    outside = tmp_path_factory.mktemp("fuori")
    (town.root / "content" / "privacy.md").write_text("# Privacy\n\nTesto.\n", encoding="utf-8")
    for case in CASES:
        if case.in_site:
            case.write(town, outside)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("site_tools.site.plugin.load_content", _without_validation)
        mp.setenv("SITE_TOOLS_NOW", NOW)
        return build_site(root / "mkdocs.yml", root / "site", strict=False)


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "ping", "srcset"}
NEVER = {"base", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "noscript", "template"}


def _scheme(url: str) -> str:
    """The scheme as a browser reads it: controls and spaces around, tabs and newlines inside, ignored."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip("".join(map(chr, range(33)))))
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else ""


def live_parts(html: str) -> list[str]:
    """Everything in a built page that could run code, load from elsewhere or navigate away."""
    found = []
    root = LexborHTMLParser(html).root
    for node in root.traverse(include_text=False) if root else ():
        tag = (node.tag or "").lower()
        if tag.startswith("-"):
            continue
        attrs = {k.lower(): v or "" for k, v in node.attributes.items()}
        found += [f"<{tag} {k}>" for k in attrs if k.startswith("on")]
        found += [
            f"<{tag} {k}={v[:30]}>"
            for k, v in attrs.items()
            if k in URL_ATTRIBUTES and _scheme(v) in ("javascript", "vbscript", "data")
        ]
        if tag in NEVER:
            found.append(f"<{tag}>")
        if tag == "meta" and "http-equiv" in attrs and attrs["http-equiv"].lower() != "content-security-policy":
            found.append(f"<meta http-equiv={attrs['http-equiv']}>")
        rating = (
            attrs.get("action") == FEEDBACK and attrs.get("method") == "get" and "feedback" in attrs.get("class", "")
        )
        if tag == "form" and not rating and ("action" in attrs or attrs.get("name") != "search"):
            found.append("<form> other than the theme's search or the town's page rating")
        if tag in ("script", "img", "link") and (url := attrs.get("src") or attrs.get("href") or ""):
            if (_scheme(url) or url.replace("\\", "/").startswith("//")) and not url.startswith(SITE_URL):
                found.append(f"<{tag}> from {url[:40]}")
        if tag == "script" and ("alert" in node.text(deep=True) or "XSS" in node.text(deep=True)):
            found.append(f"<script>{node.text(deep=True)[:40]}")  # every payload calls alert() or says XSS
    return found


def built_pages(site: Path) -> list[Path]:
    """Every page built from content/ and the theme. /admin/ (the web editor) is not one: it is a
    fixed page of ours with its own, different policy, checked in test_cms.py."""
    return sorted(p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != "admin")


def test_every_built_page_is_inert(hostile_site: Path) -> None:
    pages = built_pages(hostile_site)
    assert len(pages) > len([c for c in CASES if c.in_site])  # every case has its page, plus listings
    live = {
        str(p.relative_to(hostile_site)): parts for p in pages if (parts := live_parts(p.read_text(encoding="utf-8")))
    }
    assert live == {}


def test_every_page_carries_the_content_security_policy(hostile_site: Path) -> None:
    for page in built_pages(hostile_site):
        head = LexborHTMLParser(page.read_text(encoding="utf-8")).head
        assert head is not None
        first_meta = [m.attributes for m in head.css("meta")][:2]
        assert first_meta[0].get("charset") == "utf-8", page
        policy = first_meta[1].get("content") or ""
        assert first_meta[1].get("http-equiv") == "Content-Security-Policy", page
        for directive in (
            "base-uri 'none'",
            f"form-action {FEEDBACK}",
            "object-src 'none'",
            "script-src 'self' 'sha256-",
        ):
            assert directive in policy, (page, directive)
        assert FEEDBACK.startswith("https://") and policy.count("form-action") == 1  # that one address, nothing else
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize("case_id,key,value", FIELDS, ids=[f[0] for f in FIELDS])
def test_frontmatter_text_is_shown_as_text(hostile_site: Path, case_id: str, key: str, value: str) -> None:
    page = hostile_site / "notizie" / "2026" / "11" / case_id / "index.html"
    tree = LexborHTMLParser(page.read_text(encoding="utf-8"))
    visible = tree.body.text(deep=True) if tree.body else ""
    assert value in visible  # the editor's characters, literally: escaped, not stripped
    if key in ("title", "urgent"):
        title = tree.css_first("title")
        assert title is not None and title.text().startswith(value)
    if key == "summary":
        description = tree.css_first('meta[name="description"]')
        assert description is not None and description.attributes.get("content") == value


def test_the_urgent_banner_shows_a_hostile_title_as_text_on_every_page(hostile_site: Path) -> None:
    value = {f[0]: f[2] for f in FIELDS}["urgent-title-in-banner"]
    for page in (hostile_site / "index.html", hostile_site / "privacy" / "index.html"):
        banner = LexborHTMLParser(page.read_text(encoding="utf-8")).css_first(".st-urgent")
        assert banner is not None and value in banner.text(deep=True)


def test_search_index_holds_escaped_text(hostile_site: Path) -> None:
    index = json.loads((hostile_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    titles = [d["title"] for d in index["docs"]]
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in titles
    assert not any("<script" in t or "<img" in t or "<svg" in t for t in titles)
    assert not any("<script" in d["text"] or "onerror=" in d["text"] and "<img" in d["text"] for d in index["docs"])


def test_a_symlink_is_never_published_even_when_validation_is_bypassed(town: Town, outside: Path) -> None:
    tmp_path = town.root
    secret = outside / "chiave.png"
    secret.write_text("SEGRETO-DELLA-MACCHINA", encoding="utf-8")
    (town.root / "content" / "img").mkdir(exist_ok=True)  # the fixture town may already have the coat of arms there
    os.symlink(secret, town.root / "content" / "img" / "logo.png")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("site_tools.site.plugin.load_content", _without_validation)
        with pytest.raises(InvalidContent, match="collegamenti simbolici"):
            build_site(town.root / "mkdocs.yml", tmp_path / "site", strict=False)
    published = [p for p in (tmp_path / "site").rglob("*") if p.is_file()] if (tmp_path / "site").exists() else []
    assert not any(b"SEGRETO" in p.read_bytes() for p in published)
    with pytest.raises(InvalidContent, match="collegamento simbolico"):  # and with validation: refused before
        build_site(town.root / "mkdocs.yml", tmp_path / "site2", strict=False)


@pytest.mark.parametrize("beside", [False, True], ids=["in-line", "second-process"])
def test_the_final_check_fails_the_build_when_a_handler_gets_past_the_allow_list(town: Town, beside: bool) -> None:
    """The tripwire: with the validator and the allow-list both bypassed, a bulletin's ``onerror=`` reaches the
    written page; the final check of every page fails the build, names the page and removes it from the output.
    In line for a small site, in a second process for a large one (site/final_check.py): the same verdict."""
    from site_tools.markdown.html import Checked

    for n in range(30):  # other pages around the bad one
        town.write(
            f"2026-11-{1 + n % 28:02d}-avviso-{n}.md",
            f"id: avviso-{n}\ntitle: Avviso {n}\n"
            "date: 2026-11-20 08:30\ncategories: [viabilita]\nsummary: Un avviso qualsiasi per riempire il sito.",
        )
    town.write(
        "2026-11-20-foto.md",
        "id: foto\ntitle: Foto della piazza\ndate: 2026-11-20 08:30\ncategories: [viabilita]\nsummary: Una foto della piazza dopo i lavori.",
        body='Guarda <img src="x.png" onerror="alert(1)">\n',
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("site_tools.site.plugin.load_content", _without_validation)
        mp.setattr("site_tools.site.sanitize.clean_content", lambda sanitizer, content, toc: Checked(content, [], []))
        mp.setattr("site_tools.site.final_check.BESIDE_FROM", 0 if beside else 10**9)
        mp.setenv("SITE_TOOLS_NOW", NOW)
        with pytest.raises(InvalidContent, match="conterrebbe codice eseguibile") as refused:
            build_site(town.root / "mkdocs.yml", town.root / "site", strict=False)
    assert "notizie/2026/11/foto/" in str(refused.value)
    assert "onerror" in str(refused.value)
    assert "rigorosa" not in str(refused.value)  # a plugin's error, not the strict mode's warnings
    assert not (town.root / "site" / "notizie" / "2026" / "11" / "foto" / "index.html").exists()
    assert (town.root / "site" / "notizie" / "2026" / "11" / "avviso-0" / "index.html").exists()


# --- Chromium: the built pages, opened -----------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hostile_server(hostile_site: Path) -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(hostile_site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()


FIRE_EVENTS = """() => {
  for (const el of document.querySelectorAll("article *, .md-banner *, .md-sidebar *")) {
    for (const type of ["mouseover", "mouseenter", "focus", "click", "error", "load", "toggle", "animationstart"]) {
      if (type === "click" && el.closest("a[href]")) continue;  // following links is the next page's test
      el.dispatchEvent(new Event(type, {bubbles: true}));
    }
  }
}"""


@pytest.mark.timeout(300)
def test_no_dialog_fires_on_any_built_page(hostile_site: Path, hostile_server: str, browser: Any) -> None:
    dialogs: list[str] = []
    blocked: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # Defence in depth is not what keeps these pages inert: the policy must never have had to block anything.
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error('CSP ' + e.violatedDirective))"
        )
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(f"{page.url}: {d.message}"), d.dismiss()))
        page.on("console", lambda m: blocked.append(f"{page.url}: {m.text}") if m.text.startswith("CSP ") else None)
        for path in built_pages(hostile_site):
            page.goto(hostile_server + path.relative_to(hostile_site).as_posix(), wait_until="load")
            # Handlers, had any survived, fire on these events: send them to every element of the content.
            page.evaluate(FIRE_EVENTS)
        page.goto(hostile_server)
        page.locator("input.md-search__input").press_sequentially("allerta", delay=20)
        # A hostile title, rendered by the theme's search as text.
        results = page.locator(".md-search-result__list")
        results.get_by_text("<img src=x onerror=alert(1)> allerta").first.wait_for()
    finally:
        context.close()
    assert dialogs == [] and blocked == []


def test_the_policy_takes_per_path_exceptions_without_loosening_other_pages() -> None:
    """Decap CMS at admin/ will need its own sources: one rule, for that path only."""
    from site_tools.site.csp import PathRule, policy_for, render, with_meta

    rules = [PathRule("admin/*", add={"script-src": ("https://cms.example",), "form-action": ("'self'",)})]
    admin, page = policy_for("admin/index.html", rules), policy_for("notizie/2026/11/x/", rules)
    assert admin["script-src"] == ("'self'", "https://cms.example") and admin["form-action"] == ("'self'",)
    assert page["script-src"] == ("'self'",) and page["form-action"] == ("'none'",)
    html = with_meta('<!doctype html><html><head><meta charset="utf-8"><title>x</title></head></html>', render(admin))
    assert '<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src' in html
    with pytest.raises(ValueError):
        with_meta("<p>no head</p>", render(page))


#: What the final check must find in a page that reached it, however the source spells it (the fast path).
TRIPWIRE = [
    '<a onclick="alert(1)">x</a>',
    "<A\nONCLICK=alert(1)>x</A>",
    '<a href="x"onclick=alert(1)>x</a>',
    '<img/src="x"/onerror=alert(1)>',
    "<svg><a xlink:href=x onmouseover =alert(1)>x</a></svg>",
    "<a\fOnFocus\t=\talert(1)>x</a>",
    "<a on:x=1>x</a>",
    "<a onſ=1>x</a>",
    '<a HREF="JavaScript:alert(1)">x</a>',
    '<a href="jav&#x61;script&colon;alert(1)">x</a>',
    '<svg><a XLINK:HREF="javascript:alert(1)"><text>x</text></a></svg>',
    '<button FormAction="javascript:alert(1)">x</button>',
    '<object DATA="data:text/html,x"></object>',
    '<image src="https://elsewhere.example/x.png">',
    "<IFRAME></IFRAME>",
]


@pytest.mark.parametrize("snippet", TRIPWIRE)
def test_the_final_check_finds_what_runs_however_it_is_spelled(snippet: str) -> None:
    from site_tools.site.sanitize import inspect_page

    page = f'<!doctype html><html><head><meta charset="utf-8"><title>x</title></head><body>{snippet}</body></html>'
    assert inspect_page(page, set(), SITE_URL) != [], snippet


def test_text_about_handlers_is_no_handler() -> None:
    """Only an «on…=» where an attribute name could start sends the check to look at every element."""
    from site_tools.site.sanitize import has_handler

    assert not has_handler("<p>content=1, «Modulo online»; x-on=2</p>")
    assert has_handler("<p>scrivi onclick= nel testo</p>")  # text that merely looks like one: the slow path, sound


def test_a_content_pages_title_written_as_a_number_is_printed_escaped_not_dropped() -> None:
    from types import SimpleNamespace

    from site_tools.site.sanitize import escape_meta

    for written, shown in ((2026, "2026"), ("<b>Orari</b>", "&lt;b&gt;Orari&lt;/b&gt;"), (["a"], ""), (True, "")):
        page = SimpleNamespace(meta={"title": written}, is_homepage=False, title="x")
        escape_meta(page)
        assert str(page.meta["title"]) == shown
