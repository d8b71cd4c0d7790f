"""Every validation rule, with a failing and a passing case."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from site_tools.content.bulletin import Priority
from site_tools.content.config import CHANNELS
from site_tools.content.frontmatter import parse_bulletin
from site_tools.content.loading import load_content

from .conftest import Town, good

ROME = ZoneInfo("Europe/Rome")


def check(town: Town, name: str, fm: str, body: str = "Testo.\n"):
    path = town.write(name, fm, body)
    return parse_bulletin(path, town.config)


def fields(problems) -> list[str | None]:
    return [p.field for p in problems]


def test_a_good_bulletin_is_typed_and_zoned(town: Town) -> None:
    bulletin, problems = check(town, "2026-11-20-chiusura-via-roma.md", good())
    assert problems == []
    assert bulletin.id == "2026-11-20-chiusura-via-roma"
    assert bulletin.slug == "chiusura-via-roma"
    assert bulletin.date == datetime(2026, 11, 20, 8, 30, tzinfo=ROME)
    assert bulletin.date.utcoffset() == timedelta(hours=1)
    assert bulletin.categories == ("viabilita",)
    assert bulletin.priority is Priority.NORMAL
    assert bulletin.channels == set(CHANNELS)  # no «channels:»: wherever its category and the town route it
    assert bulletin.url_path == "notizie/2026/11/chiusura-via-roma/"


def test_explicit_offset_is_kept_and_shown_in_rome_time(town: Town) -> None:
    fm = good().replace("2026-11-20 08:30", "2026-07-01T06:00:00Z")
    bulletin, problems = check(town, "2026-07-01-x.md", fm)
    assert problems == []
    assert bulletin.date.hour == 8  # summer time, UTC+2
    assert bulletin.date.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "missing", ["id", "title", "summary", "categories"]
)  # no date: dated at merge (test_editor_slips)
def test_required_fields(town: Town, missing: str) -> None:
    fm = "\n".join(line for line in good().splitlines() if not line.startswith(f"{missing}:"))
    bulletin, problems = check(town, "2026-11-20-a.md", fm)
    assert bulletin is None
    assert missing in fields(problems)
    assert "manca il campo obbligatorio" in problems[0].message


@pytest.mark.parametrize(
    "key,value,expected",
    [
        ("draft", "sì", "draft"),
        ("pin", "1", "pin"),
        ("title", "[una, lista]", "title"),
        ("categories", "{a: 1}", "categories"),
        ("channels", "7", "channels"),
    ],
)
def test_field_types(town: Town, key: str, value: str, expected: str) -> None:
    fm = "\n".join(line for line in good().splitlines() if not line.startswith(f"{key}:")) + f"\n{key}: {value}"
    bulletin, problems = check(town, "2026-11-20-a.md", fm)
    assert bulletin is None and expected in fields(problems)


@pytest.mark.parametrize(
    "typo,suggestion", [("categoria", "categories"), ("titel", "title"), ("scadenza", "expires"), ("sumary", "summary")]
)
def test_unknown_keys_suggest_the_right_one(town: Town, typo: str, suggestion: str) -> None:
    bulletin, problems = check(town, "2026-11-20-a.md", good() + f"{typo}: x\n")
    assert bulletin is None
    (problem,) = [p for p in problems if p.field == typo]
    assert f"«{suggestion}»" in problem.fix
    assert problem.line == 7


def test_unknown_category_with_suggestion(town: Town) -> None:
    fm = good().replace("[viabilita]", "[viabilità, Protezione civile, feste]")
    _, problems = check(town, "2026-11-20-a.md", fm)
    messages = {p.message: p.fix for p in problems}
    assert "forse intendevi «viabilita»" in messages["la categoria «viabilità» non esiste."]
    assert "forse intendevi «protezione-civile»" in messages["la categoria «Protezione civile» non esiste."]
    assert "forse" not in messages["la categoria «feste» non esiste."]


@pytest.mark.parametrize("value", ["2026-02-31", "31/02/2026", "2026-13-01", "2026-11-20 25:00", "domani"])
def test_impossible_dates(town: Town, value: str) -> None:
    bulletin, problems = check(town, "2026-11-20-a.md", good().replace("2026-11-20 08:30", value))
    assert bulletin is None
    (problem,) = problems
    assert problem.field == "date" and problem.line == 4


def test_italian_date_format_is_accepted(town: Town) -> None:
    bulletin, problems = check(town, "2026-11-20-a.md", good().replace("2026-11-20 08:30", "20/11/2026 08:30"))
    assert problems == [] and bulletin.date == datetime(2026, 11, 20, 8, 30, tzinfo=ROME)


def test_event_end_before_start(town: Town) -> None:
    bad = good() + "event:\n  start: 2026-12-08 18:00\n  end: 2026-12-08 17:00\n"
    ok = good() + "event:\n  start: 2026-12-08 18:00\n  end: 2026-12-08 23:00\n  location: Piazza Dante\n"
    assert "event.end" in fields(check(town, "2026-11-20-a.md", bad)[1])
    bulletin, problems = check(town, "2026-11-20-b.md", ok.replace("2026-11-20-chiusura-via-roma", "b"))
    assert problems == [] and bulletin.event.location == "Piazza Dante"


def test_event_needs_a_start(town: Town) -> None:
    _, problems = check(town, "2026-11-20-a.md", good() + "event:\n  luogo: Piazza\n")
    assert {"event.start", "event.luogo"} <= set(fields(problems))


def test_expiry_before_date(town: Town) -> None:
    assert "expires" in fields(check(town, "2026-11-20-a.md", good(expires="2026-11-19"))[1])
    bulletin, problems = check(town, "2026-11-20-b.md", good(id="b", expires="2026-11-20"))
    assert problems == []
    # A date-only expiry means "valid through that day".
    assert bulletin.expires == datetime(2026, 11, 21, 0, 0, tzinfo=ROME)


def test_title_and_summary_lengths_fit_the_channels(town: Town) -> None:
    from site_tools.content import limits

    long_title = "T" * (limits.TITLE_MAX + 1)
    long_summary = "S" * (limits.SUMMARY_MAX + 1)
    fm = good().replace("Chiusura di via Roma per lavori", long_title)
    fm = fm.replace("Dal 21 al 23 novembre via Roma è chiusa per lavori alla rete idrica.", long_summary)
    _, problems = check(town, "2026-11-20-a.md", fm)
    assert {"title", "summary"} <= set(fields(problems))
    assert any("accorcialo di 1 caratteri" in p.fix for p in problems)
    fm_ok = good().replace("Chiusura di via Roma per lavori", "T" * limits.TITLE_MAX)
    fm_ok = fm_ok.replace(
        "Dal 21 al 23 novembre via Roma è chiusa per lavori alla rete idrica.", "S" * limits.SUMMARY_MAX
    )
    assert check(town, "2026-11-20-b.md", fm_ok.replace("2026-11-20-chiusura-via-roma", "b"))[1] == []
    # Template body: title + summary + our fixed text must fit 1,024 characters.
    assert limits.TITLE_MAX + limits.SUMMARY_MAX + 200 < limits.TEMPLATE_BODY_MAX


def test_priority_and_channels_values(town: Town) -> None:
    _, problems = check(town, "2026-11-20-a.md", good(priority="urgente", channels="[telegramm]"))
    by_field = {p.field: p for p in problems}
    assert "priority: urgent" in by_field["priority"].fix
    assert "«telegram»" in by_field["channels"].fix
    bulletin, problems = check(town, "2026-11-20-b.md", good(id="b", priority="urgent", channels="[telegram]"))
    assert problems == [] and bulletin.urgent and bulletin.channels == {"telegram"}


def test_duplicate_ids_and_slugs(town: Town) -> None:
    town.write("2026-11-20-chiusura-via-roma.md", good())
    town.write("2026-11-20-altro.md", good())  # same id
    # Another id whose address (from the id, without its date) is the same page: notizie/2026/11/chiusura-via-roma/.
    town.write(
        "2026-11-21-chiusura-via-roma.md",
        good(id="2026-11-21-chiusura-via-roma").replace("2026-11-20 08:30", "2026-11-21"),
    )
    content = load_content(town.config)
    by = {(p.file.rsplit("/", 1)[1], p.field) for p in content.problems}
    assert {("2026-11-20-altro.md", "id"), ("2026-11-20-chiusura-via-roma.md", "id")} & by
    assert ("2026-11-21-chiusura-via-roma.md", "slug") in by
    assert len(content.bulletins) == 1  # neither copy is usable


def test_references_must_exist(town: Town) -> None:
    town.write("2026-11-20-chiusura-via-roma.md", good())
    town.write(
        "2026-11-22-riaperta.md",
        good(id="riaperta", cancels="2026-11-20-chiusura-via-roma")
        .replace("08:30", "09:00")
        .replace("2026-11-20 ", "2026-11-22 "),
    )
    town.write(
        "2026-11-22-fantasma.md", good(id="fantasma", updates="non-esiste").replace("2026-11-20 ", "2026-11-22 ")
    )
    content = load_content(town.config)
    problems = [(p.file.rsplit("/", 1)[1], p.field) for p in content.problems]
    assert problems == [("2026-11-22-fantasma.md", "updates")]
    assert content.by_id()["riaperta"].cancels == "2026-11-20-chiusura-via-roma"


def test_updates_and_cancels_together_is_refused(town: Town) -> None:
    _, problems = check(town, "2026-11-20-a.md", good(updates="x", cancels="y"))
    assert "cancels" in fields(problems)


def test_links_and_images_must_resolve(town: Town) -> None:
    (town.root / "content" / "iscriviti.md").write_text("# Iscriviti\n", encoding="utf-8")
    (town.bulletins / "2026").mkdir(parents=True, exist_ok=True)
    (town.bulletins / "2026" / "mappa.png").write_bytes(b"\x89PNG")
    body = (
        "Vedi [iscriviti](../../iscriviti.md), [la pagina](/iscriviti/), [esterno](https://example.org),\n"
        "[mail](mailto:urp@example.org) e ![mappa](mappa.png).\n\n"
        "```\n[nel codice](non-conta.md)\n```\n"
    )
    town.write("2026-11-20-chiusura-via-roma.md", good(), body)
    assert load_content(town.config).problems == []
    broken = (
        "Riga uno.\n\nVedi [rotto](../../manca.md) e ![foto](foto.jpg)\ne [assoluto](/non/esiste/) "
        "e [relativo](../altro/).\n"
    )
    town.write("2026-11-21-b.md", good(id="b").replace("2026-11-20 ", "2026-11-21 "), broken)
    problems = [p for p in load_content(town.config).problems if p.file.endswith("b.md")]
    assert len(problems) == 4
    assert {p.line for p in problems} == {11, 12}  # the body starts at line 9


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<iframe src="https://maps.example"></iframe>',
        '<img src="x.png" onerror="alert(1)">',
        '<a href="javascript:alert(1)">clic</a>',
        'testo <span onclick="x()">qui</span>',
    ],
)
def test_dangerous_html_is_refused(town: Town, html: str) -> None:
    town.write("2026-11-20-chiusura-via-roma.md", good(), f"Avviso.\n\n{html}\n")
    problems = load_content(town.config).problems
    assert any("non è ammesso per sicurezza" in p.message or "esegue codice" in p.message for p in problems)


def test_html_in_a_code_block_is_only_text(town: Town) -> None:
    town.write("2026-11-20-chiusura-via-roma.md", good(), "Esempio:\n\n```html\n<script>x()</script>\n```\n")
    assert load_content(town.config).problems == []


def test_real_editor_files_bom_crlf_accents_emoji(town: Town) -> None:
    text = (
        '\ufeff---\r\nid: festa\r\ntitle: "Festa d\'inverno ❄️ in città"\r\ndate: 2026-11-20\r\n'
        "categories: [eventi]\r\nsummary: Perché è la più bella festa dell'anno, con più di 30 bancarelle 🎄\r\n"
        "---\r\n\r\nCi vediamo là! 🎉\r\n"
    )
    path = town.bulletins / "2026" / "2026-11-20-festa.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode("utf-8"))
    bulletin, problems = parse_bulletin(path, town.config)
    assert problems == []
    assert bulletin.title == "Festa d'inverno ❄️ in città"
    assert "\r" not in bulletin.body


def test_other_encodings_get_a_clear_message(town: Town) -> None:
    path = town.bulletins / "2026" / "2026-11-20-latin.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(good().replace("è", "\xe8").encode("latin-1").join([b"---\n", b"---\n"]))
    bulletin, (problem,) = parse_bulletin(path, town.config)
    assert bulletin is None
    assert "UTF-8" in problem.message and problem.line == 7


@pytest.mark.parametrize(
    "text,needle",
    [
        ("Solo testo senza intestazione.\n", "manca l'intestazione"),
        ("---\ntitle: [non chiuso\n---\n", "non è YAML valido"),
        ("---\n- una\n- lista\n---\n", "elenco di campi"),
        ("---\ntitle: x\n", "non è chiusa"),
    ],
)
def test_malformed_frontmatter(town: Town, text: str, needle: str) -> None:
    path = town.bulletins / "x.md"
    path.write_text(text, encoding="utf-8")
    bulletin, problems = parse_bulletin(path, town.config)
    assert bulletin is None and needle in problems[0].message


def test_demo_content_is_valid_and_complete() -> None:
    from site_tools.content.config import load_config

    from .conftest import FIXTURE_TOWN

    config = load_config(FIXTURE_TOWN / "mkdocs.yml")
    content = load_content(config)
    assert content.problems == []
    bulletins = content.bulletins
    assert len(bulletins) >= 25
    assert {c for b in bulletins for c in b.categories} == set(config.category_slugs)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=ROME)
    assert any(b.urgent and "protezione-civile" in b.categories for b in bulletins)
    assert any("viabilita" in b.categories and b.expires for b in bulletins)
    assert any(b.event and b.event.end and b.event.location for b in bulletins)
    assert any(b.type == "bando" and b.expires for b in bulletins)
    assert any(b.date > now for b in bulletins)
    assert any(b.draft for b in bulletins)
    assert any(b.cancels for b in bulletins) and any(b.updates for b in bulletins)


def test_impossible_years_and_offsets_are_problems_not_crashes(town: Town) -> None:
    """Found in review: `date: 0000-01-01` and an offset of +25:00 matched the date pattern, then datetime raised:
    `site-tools validate` stopped with «Errore imprevisto», exit 2, no file named, every other problem lost."""
    import subprocess
    import sys

    for n, value in enumerate(["0000-01-01", "2026-11-20T08:30:00+25:00", "2026-11-20 08:30 +01:75"]):
        town.write(f"2026-11-20-data-{n}.md", good(id=f"data-{n}").replace("date: 2026-11-20 08:30", f"date: {value}"))
    town.write("2026-11-20-altro.md", good(id="altro").replace("categories: [viabilita]", "categories: [nessuna]"))
    run = subprocess.run([sys.executable, "-m", "site_tools", "validate"], cwd=town.root, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 1 and "imprevisto" not in out, out[-500:]
    for n in range(3):
        assert f"2026-11-20-data-{n}.md" in out and "[date]" in out
    assert "2026-11-20-altro.md" in out  # the other problems are still listed
