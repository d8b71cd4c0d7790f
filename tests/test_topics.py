"""Topics («argomenti»): the model's vocabulary, the field that takes it, the pages built from it, and the
rule AGID's checker applies to them (C.SI.1.5, «Vocabolari controllati»)."""

# ruff: noqa: F811  (the fixture town's site is test_site's fixture, imported)

from __future__ import annotations

import posixpath
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from selectolax.lexbor import LexborHTMLParser

from site_tools.content.frontmatter import parse_bulletin
from site_tools.content.loading import load_content
from site_tools.content.model import frontmatter_model
from site_tools.content.topics import LABELS, TOPICS
from site_tools.site.admin import config_yaml

from .conftest import Town, good
from .test_site import CONFIG, NOW, build_at, site  # noqa: F401  (fixture: the fixture town's site, built)


def check(town: Town, fm: str):
    return parse_bulletin(town.write("2026-11-20-chiusura-via-roma.md", fm, "Testo.\n"), town.config)


def page(site: Path, url: str) -> LexborHTMLParser:
    return LexborHTMLParser((site / url / "index.html").read_text(encoding="utf-8"))


def resolve(base_url: str, href: str) -> str:
    """A relative link on the page published at ``base_url`` → the site path it names (``argomenti/acqua/``)."""
    target = posixpath.normpath(posixpath.join(base_url, href))
    return "" if target == "." else target.rstrip("/") + "/"


def visible_with_topics() -> list:
    now = datetime.strptime(NOW, "%Y-%m-%d %H:%M").replace(tzinfo=CONFIG.timezone)
    content = load_content(CONFIG)
    assert content.problems == []
    return [b for b in content.bulletins if b.is_visible(now)]


# --- the vocabulary -------------------------------------------------------------------------------


def test_the_vocabulary_is_the_checkers_list() -> None:
    # italia/pa-website-validator src/storage/municipality/controlledVocabulary.ts (the same in -ng): 64 topics,
    # first and last as the checker spells them; the slugs are unique and plain.
    assert len(LABELS) == 64 == len(TOPICS)
    assert LABELS[0] == "Accesso all'informazione" and LABELS[-1] == "ZTL"
    assert {"Protezione civile", "Risposta alle emergenze", "Mobilità sostenibile", "Spazio Verde", "PNRR"} <= set(
        LABELS
    )
    assert TOPICS["accesso-all-informazione"] == "Accesso all'informazione"
    assert TOPICS["mobilita-sostenibile"] == "Mobilità sostenibile"
    assert all(slug.isascii() and slug == slug.lower() and " " not in slug for slug in TOPICS)


# --- validation -----------------------------------------------------------------------------------


def test_topics_are_read_in_the_editors_order(town: Town) -> None:
    bulletin, problems = check(town, good(topics="[risposta-alle-emergenze, protezione-civile]"))
    assert problems == []
    assert bulletin.topics == ("risposta-alle-emergenze", "protezione-civile")


def test_topics_are_optional(town: Town) -> None:
    bulletin, problems = check(town, good())
    assert problems == [] and bulletin.topics == ()


@pytest.mark.parametrize(
    "written,meant",
    [
        ("Protezione civile", "protezione-civile"),  # the label instead of the slug
        ("scuola", "istruzione"),  # a word editors use, not the model's
        ("gestione-rifuti", "gestione-rifiuti"),  # a typo
        ("rifiuti", "gestione-rifiuti"),
    ],
)
def test_an_unknown_topic_names_the_file_the_field_and_the_topic_meant(town: Town, written: str, meant: str) -> None:
    bulletin, problems = check(town, good(topics=f"[acqua, {written}]"))
    assert bulletin is None
    (problem,) = problems
    assert problem.file.endswith("2026-11-20-chiusura-via-roma.md")
    assert problem.field == "topics" and problem.line is not None
    assert f"«{written}»" in problem.message and "modello dei siti comunali" in problem.message
    assert f"forse intendevi «{meant}» ({TOPICS[meant]})?" in problem.fix


def test_a_topic_with_no_likely_meaning_gets_the_whole_list(town: Town) -> None:
    _, problems = check(town, good(topics="[xyz]"))
    (problem,) = problems
    assert "forse" not in problem.fix
    assert all(slug in problem.fix for slug in TOPICS)


@pytest.mark.parametrize("value", ["{acqua: true}", "[]", "[3]"])
def test_topics_must_be_a_list_of_topics(town: Town, value: str) -> None:
    _, problems = check(town, good(topics=value))
    (problem,) = problems
    assert problem.field == "topics" and "elenco di argomenti" in problem.message
    assert "topics: [protezione-civile" in problem.fix


def test_a_repeated_topic_is_refused(town: Town) -> None:
    _, problems = check(town, good(topics="[acqua, acqua]"))
    assert [(p.field, p.message) for p in problems] == [("topics", "un argomento è ripetuto.")]


@pytest.mark.parametrize("key", ["argomenti", "argomento", "topic"])
def test_the_italian_key_is_renamed(town: Town, key: str) -> None:
    _, problems = check(town, good(**{key: "[acqua]"}))
    (problem,) = problems
    assert problem.field == key and "forse intendevi «topics»?" in problem.fix


def test_the_schema_takes_the_vocabulary() -> None:
    from pydantic import ValidationError

    model = frontmatter_model()
    base = yaml.safe_load(good())
    model.model_validate({**base, "topics": ["acqua", "ztl"]})
    with pytest.raises(ValidationError):
        model.model_validate({**base, "topics": ["Acqua"]})


# --- the web editor's form ------------------------------------------------------------------------


def test_the_form_offers_the_vocabulary_as_a_choice_list() -> None:
    collection = next(c for c in yaml.safe_load(config_yaml(CONFIG))["collections"] if c["name"] == "notizie")
    field = next(f for f in collection["fields"] if f["name"] == "topics")
    assert field["widget"] == "select" and field["multiple"] is True
    assert field["required"] is False and "min" not in field
    assert [o["label"] for o in field["options"]] == list(LABELS)
    assert [o["value"] for o in field["options"]] == list(TOPICS)


# --- the pages ------------------------------------------------------------------------------------


def test_the_topics_page_lists_every_topic_in_use_with_the_models_marker(site: Path) -> None:
    bulletins = visible_with_topics()
    used = {t for b in bulletins for t in b.topics}
    assert len(used) >= 10  # the fixture town uses topics: the test would pass on an empty page otherwise
    links = page(site, "argomenti/").css('[data-element="topic-element"]')
    assert [a.text(strip=True) for a in links] == [TOPICS[s] for s in TOPICS if s in used]
    for item in page(site, "argomenti/").css("ul.st-topics li"):
        a, count = item.css_first("a"), item.css_first("span").text(strip=True)
        target = resolve("argomenti/", a.attributes["href"] or "")
        assert page(site, target).css_first("h1").text(strip=True) == a.text(strip=True)
        slug = target.split("/")[1]
        n = sum(slug in b.topics for b in bulletins)
        assert count == f"({n} {'avviso' if n == 1 else 'avvisi'})"


def test_a_topic_page_lists_exactly_its_bulletins_newest_first(site: Path) -> None:
    bulletins = visible_with_topics()
    for slug in ("protezione-civile", "istruzione", "acqua"):
        url = f"argomenti/{slug}/"
        listed = [resolve(url, a.attributes["href"] or "") for a in page(site, url).css("ul.st-list a.st-title")]
        expected = [b.url_path for b in sorted(bulletins, key=lambda b: b.date, reverse=True) if slug in b.topics]
        assert listed == expected and expected


def test_drafts_and_future_bulletins_give_no_topic(site: Path) -> None:
    # «tempo-libero» is on a draft too, «istruzione» on a bulletin of 2027: neither is listed under its topic.
    listed = page(site, "argomenti/istruzione/").css("ul.st-list a.st-title")
    assert all("2027" not in (a.attributes["href"] or "") for a in listed)
    titles = [a.text() for a in page(site, "argomenti/tempo-libero/").css("ul.st-list a.st-title")]
    assert not any("presepi" in t.lower() for t in titles)


def test_a_bulletin_links_to_its_topics(site: Path) -> None:
    url = "notizie/2026/11/allerta-arancione-idrogeologica/"
    chips = page(site, url).css('[data-element="news-topic"]')
    assert [c.text(strip=True) for c in chips] == ["Protezione civile", "Risposta alle emergenze"]
    for chip in chips:
        target = resolve(url, chip.attributes["href"] or "")
        back = [resolve(target, a.attributes["href"] or "") for a in page(site, target).css("a.st-title")]
        assert url in back


def test_a_bulletin_without_topics_shows_none(site: Path) -> None:
    document = page(site, "notizie/2026/11/sottopasso-via-marconi-riaperto/")
    assert document.css('[data-element="news-topic"]') == []
    assert "Argomenti:" not in document.body.text()


def test_a_town_without_topics_says_so(demo_town: Town, tmp_path: Path) -> None:
    for path in (demo_town.root / "content" / "notizie").rglob("*.md"):
        lines = path.read_text(encoding="utf-8").split("\n")
        if "topics:" in lines:
            start = lines.index("topics:")
            end = start + 1
            while lines[end].startswith("- "):
                end += 1
            del lines[start:end]
            path.write_text("\n".join(lines), encoding="utf-8")
    config = demo_town.root / "mkdocs.yml"  # and no category gives any
    config.write_text(re.sub(r", topics: \[[a-z-]+\]", "", config.read_text(encoding="utf-8")), encoding="utf-8")
    assert all(not c.topics for c in demo_town.config.categories)
    built = build_at(NOW, tmp_path / "site", config)
    document = page(built, "argomenti/")
    assert document.css('[data-element="topic-element"]') == []
    assert "Nessun argomento." in document.body.text()
    assert not (built / "argomenti" / "acqua").exists()


# --- AGID's checker, C.SI.1.5 ---------------------------------------------------------------------


def test_the_checkers_topics_rule(site: Path) -> None:
    """As controlledVocabulariesAudit.ts does: the first ``all-topics`` link of the home page, then every
    ``topic-element`` there, trimmed, compared case-insensitively with the model's list; all must be in it."""
    home = page(site, "")
    hrefs = [
        a.attributes.get("href")
        for a in home.css('[data-element="all-topics"]')
        if a.attributes.get("href") not in ("#", "", None)
    ]
    assert hrefs, "the home page has no data-element=all-topics link: the audit stops"
    first = hrefs[0] or ""
    # The header's entry may be absolute (the site's own address) or relative, as the checker accepts both.
    topics_url = first.removeprefix(CONFIG.site_url) if first.startswith(CONFIG.site_url) else resolve("", first)
    assert not topics_url.startswith(("http:", "https:")), f"all-topics points off the site: {first}"
    found = [e.text().strip() for e in page(site, topics_url).css('[data-element="topic-element"]')]
    found = [t for t in found if t]
    assert found, "no topic-element on the Argomenti page: the audit scores 0"
    vocabulary = {label.lower() for label in LABELS}
    assert [t for t in found if t.lower() not in vocabulary] == []


# --- a category's default topics --------------------------------------------------------------------


def test_a_category_gives_its_topics_to_a_bulletin_without_its_own(demo_town: Town, tmp_path: Path) -> None:
    # The fixture town: «meteo» gives «protezione-civile»; a bulletin with topics of its own keeps only those.
    assert demo_town.config.category("meteo").topics == ("protezione-civile",)
    demo_town.write("2026-11-22-nebbia.md", good("2026-11-22-nebbia", categories="[meteo]", date="2026-11-22 07:00"))
    demo_town.write(
        "2026-11-22-gelo.md",
        good("2026-11-22-gelo", categories="[meteo]", date="2026-11-22 08:00", topics="[mobilita-sostenibile]"),
    )
    built = build_at(NOW, tmp_path / "site", demo_town.root / "mkdocs.yml")
    fog, frost = "notizie/2026/11/nebbia/", "notizie/2026/11/gelo/"
    assert [c.text(strip=True) for c in page(built, fog).css('[data-element="news-topic"]')] == ["Protezione civile"]
    assert [c.text(strip=True) for c in page(built, frost).css('[data-element="news-topic"]')] == [
        "Mobilità sostenibile"
    ]
    url = "argomenti/protezione-civile/"
    listed = [resolve(url, a.attributes["href"] or "") for a in page(built, url).css("a.st-title")]
    assert fog in listed and frost not in listed


def test_a_category_with_a_topic_not_in_the_model_is_refused(demo_town: Town) -> None:
    from site_tools.content.config import load_config
    from site_tools.content.problems import InvalidContent

    path = demo_town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    old = "topics: [protezione-civile]}"
    assert old in text
    path.write_text(text.replace(old, "topics: [Protezione civile]}", 1), encoding="utf-8")
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.file.endswith("mkdocs.yml") and problem.line is not None
    assert problem.field == "extra.town.categories[2]"  # a category is named by its place, 1-based
    assert "in «topics» l'argomento «Protezione civile» non è tra quelli del modello" in problem.message
    assert "forse intendevi «protezione-civile»" in problem.fix
