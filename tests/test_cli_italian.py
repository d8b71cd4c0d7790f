"""What town staff read from the command line: Italian counts that agree, and only true outcomes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from site_tools.cli.main import main
from site_tools.formatting import count

from .conftest import Town, good


def run(town: Town, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--config", str(town.root / "mkdocs.yml"), *args], input=input)


def test_counts_agree_with_the_number() -> None:
    assert count(1, "avviso", "avvisi") == "1 avviso"
    assert count(0, "avviso", "avvisi") == "0 avvisi"
    assert count(2, "messaggio", "messaggi") == "2 messaggi"
    assert count(12000, "iscritto", "iscritti") == "12.000 iscritti"


def test_validate_counts_one_bulletin_in_the_singular(town: Town) -> None:
    town.write("2026-11-20-chiusura-via-roma.md", good())
    result = run(town, "validate")
    assert result.exit_code == 0, result.output
    assert "nessun problema in 1 avviso." in result.stdout
    assert "avvisi" not in result.stdout


def test_validate_counts_several_bulletins_in_the_plural(town: Town) -> None:
    town.write("2026-11-20-chiusura-via-roma.md", good())
    town.write("2026-11-21-altro.md", good("2026-11-21-altro"))
    result = run(town, "validate")
    assert result.exit_code == 0, result.output
    assert "nessun problema in 2 avvisi." in result.stdout


def test_validate_does_not_claim_to_have_stopped_a_publication(town: Town) -> None:
    town.write("2026-11-20-chiusura-via-roma.md", good().replace("categories: [viabilita]", "categories: [nessuna]"))
    result = run(town, "validate")
    assert result.exit_code == 1
    assert "Trovato 1 problema in 1 file." in result.stderr
    assert "pubblicato" not in result.stderr


def test_import_reports_a_rejected_row_in_the_singular_and_publishes_nothing(town: Town, tmp_path: Path) -> None:
    csv_file = tmp_path / "lista.csv"
    csv_file.write_text(
        "numero;data_consenso;fonte\n3330000101;2024-03-13;lista broadcast 1\n12345;2024-03-15;\n", encoding="utf-8"
    )
    db = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(
        main, ["--config", str(town.root / "mkdocs.yml"), "subscribers", "import", str(csv_file), "--db", db]
    )
    assert result.exit_code == 1, result.output
    assert "Importato 1 nuovo iscritto; 0 erano già presenti." in result.stdout
    assert "1 riga NON importata: correggila e importa di nuovo il file." in result.stderr
    assert "pubblicato" not in result.stderr


# -- site-tools new ------------------------------------------------------------------------------------------------

SUMMARY = "Il mercato del sabato si tiene in piazza Garibaldi per i lavori in piazza Roma."


def _future(days: int) -> str:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    return (datetime.now(ZoneInfo("Europe/Rome")) + timedelta(days=days)).strftime("%Y-%m-%d")


def _written(town: Town) -> str:
    (path,) = town.bulletins.rglob("*.md")
    return path.read_text(encoding="utf-8")


def _parsed(town: Town):  # type: ignore[no-untyped-def]
    from site_tools.content.frontmatter import parse_bulletin
    from site_tools.content.slips import NEW_BODY

    (path,) = town.bulletins.rglob("*.md")
    path.write_text(_written(town).replace(NEW_BODY, "Il mercato è in piazza Garibaldi."), encoding="utf-8")
    bulletin, problems = parse_bulletin(path, town.config)
    assert problems == [], problems
    return bulletin


def test_new_with_its_options_asks_nothing(town: Town) -> None:
    args = ["--title", "Mercato spostato in piazza", "--summary", SUMMARY, "--category", "viabilita"]
    result = run(town, "new", *args)  # no input at all: a question would end it
    assert result.exit_code == 0, result.output
    assert "Data di pubblicazione" not in result.output and "Priorità" not in result.output
    text = _written(town)
    assert "\ndate:" not in text and "\ntype:" not in text and "\npriority:" not in text
    bulletin = _parsed(town)
    assert bulletin.type == "notizia" and not bulletin.urgent  # the defaults the README documents


def test_new_writes_the_type_chosen(town: Town) -> None:
    args = ["--title", "Contributi per l'affitto", "--summary", SUMMARY, "--category", "viabilita", "--type", "bando"]
    assert run(town, "new", *args).exit_code == 0
    assert _parsed(town).type == "bando"


def test_new_asks_for_the_expiry_and_the_event_in_the_interview(town: Town) -> None:
    start, expires = _future(20), _future(21)
    answers = "\n".join(
        [
            "Festa degli alberi",
            "Domenica si piantano gli alberi nel parco comunale, con le scuole.",
            "viabilita",
            "normal",
            "",  # no date: dated at the merge
            expires,
            f"{start} 10:00",
            f"{start} 12:30",
            "Parco comunale",
        ]
    )
    result = run(town, "new", input=answers + "\n")
    assert result.exit_code == 0, result.output
    for question in ("Valido fino al", "quando comincia", "Quando finisce", "Dove si svolge"):
        assert question in result.output
    bulletin = _parsed(town)
    assert bulletin.event is not None and bulletin.event.location == "Parco comunale"
    assert f"{bulletin.event.start:%Y-%m-%d %H:%M}" == f"{start} 10:00"
    assert f"{bulletin.event.end:%H:%M}" == "12:30"
    assert bulletin.expires is not None and f"{bulletin.expires:%Y-%m-%d}" == _future(22)  # the end of that day


def test_new_skips_the_event_details_when_it_is_not_an_event(town: Town) -> None:
    answers = "Mercato spostato in piazza\n" + SUMMARY + "\nviabilita\nnormal\n\n\n\n"
    result = run(town, "new", input=answers)
    assert result.exit_code == 0, result.output
    assert "Quando finisce" not in result.output and "\nevent:" not in _written(town)


def test_new_asks_again_only_a_wrong_expiry_given_as_an_option(town: Town) -> None:
    args = ["--title", "Mercato spostato in piazza", "--summary", SUMMARY, "--category", "viabilita"]
    result = run(town, "new", *args, "--expires", "2026-02-30", input=_future(30) + "\n")
    assert result.exit_code == 0, result.output
    assert "30 febbraio" in result.output and result.output.count("Valido fino al") == 1
    assert "Titolo" not in result.output
    assert f"{_parsed(town).expires:%Y-%m-%d}" == _future(31)


# -- click's own words: help pages and errors ---------------------------------------------------------------------

#: Words of click's English (and of an English help text) that an Italian page never contains.
ENGLISH = re.compile(
    r"\b(usage|options|commands|show|this|message|exit|default|required|missing|error|invalid|such|try|"
    r"the|and|of|with|from|for|to|text|integer|path)\b",
    re.IGNORECASE,
)
#: What may stay as it is in a help page: options, environment variables, paths, addresses, names of tools.
VERBATIM = re.compile(r"--[\w-]+|\$?[A-Z_]{4,}\b|\S+\.(?:yml|db|json)\b|\S*/\S*|extra\.town\.\w+(?:\.\w+)*|\[[\w|]+\]")


def _staff_commands() -> list[list[str]]:
    """Every command town staff use, as its words (``["subscribers", "import"]``); the developers' ``dev`` ones left out."""
    import click

    from site_tools.cli.main import COMMANDS

    found: list[list[str]] = [[]]
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        if COMMANDS.get(name, ("",))[0] == "dev":
            continue
        command = main.get_command(ctx, name)
        found.append([name])
        if isinstance(command, click.Group):
            found += [[name, sub] for sub in command.list_commands(ctx)]
    return found


@pytest.mark.parametrize("words", _staff_commands(), ids=lambda words: " ".join(words) or "site-tools")
def test_every_help_page_for_town_staff_is_in_italian(words: list[str]) -> None:
    result = CliRunner().invoke(main, [*words, "--help"], prog_name="site-tools")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Uso: site-tools {' '.join(words)}".rstrip())
    assert "Opzioni:" in result.output and "Mostra questo aiuto ed esce." in result.output
    english = ENGLISH.findall(VERBATIM.sub(" ", result.output))
    assert not english, (english, result.output)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["validat"], "Errore: Il comando «validat» non esiste."),
        (["validate", "--nope"], "Errore: L'opzione «--nope» non esiste."),
        (["subscribers", "import"], "Errore: Manca l'argomento 'FILE_CSV'."),
        (["new", "--priority", "alta"], "«alta» non è tra i valori ammessi: 'normal', 'urgent'."),
        (["validate", "non-esiste.md"], "«non-esiste.md» non esiste."),
        (["publish", "--max-age-days", "tre"], "«tre» non è un intero valido."),
        (["publish", "--only"], "L'opzione «--only» vuole un valore."),
    ],
)
def test_clicks_own_errors_are_in_italian(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, args, prog_name="site-tools")
    assert result.exit_code == 2
    assert expected in result.output
    assert "Errore: " in result.output
    if result.output.startswith("Uso:"):  # click shows the usage line when it knows the command
        assert result.output.startswith("Uso: site-tools") and "Per l'aiuto: «site-tools" in result.output
    assert not re.search(r"\b(Usage|Error|Try|No such|Missing|Invalid)\b", result.output), result.output


def test_the_catalogue_has_every_message_click_prints() -> None:
    """A click upgrade that adds a message makes this fail until the catalogue has it in Italian."""
    import ast
    import importlib

    from site_tools.cli.italian import FOR_DEVELOPERS, MESSAGES, MODULES, PLURALS

    singles: set[str] = set()
    plurals: set[tuple[str, str]] = set()
    for name in MODULES:
        module = importlib.import_module(f"click.{name}")
        assert module.__file__ is not None
        for node in ast.walk(ast.parse(Path(module.__file__).read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id == "_" and texts:
                singles.add(texts[0])
            elif node.func.id == "ngettext" and len(texts) >= 2:
                plurals.add((texts[0], texts[1]))
    assert singles - FOR_DEVELOPERS <= set(MESSAGES), sorted(singles - FOR_DEVELOPERS - set(MESSAGES))
    assert plurals <= set(PLURALS), sorted(plurals - set(PLURALS))
    # Nothing stale: every entry is still one of click's (``required`` is looked up through a variable).
    assert set(MESSAGES) - singles == {"required"}


def test_staff_audit_tells_what_happened_in_italian(town: Town, tmp_path: Path) -> None:
    from site_tools.store import Store

    db = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(db)
    mario = store.staff.add("mario", "Mario Bianchi", "hash")
    store.staff.audit(mario, "login")
    store.staff.audit(mario, "read", 7)
    store.staff.audit(mario, "assigned", 7, "anna")
    store.close()
    result = run(town, "staff", "audit", "--db", db)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("mario            ha assegnato ad anna · conversazione 7")
    assert lines[1].endswith("mario            ha letto · conversazione 7")
    assert lines[2].endswith("mario            ha fatto l'accesso")


def test_a_wrong_answer_to_a_question_of_new_is_told_in_italian(town: Town) -> None:
    answers = "Mercato spostato in piazza\n" + SUMMARY + "\nviabilita\nalta\nurgent\n\n\n\n"
    result = run(town, "new", input=answers)
    assert result.exit_code == 0, result.output
    assert "Errore: «alta» non è tra i valori ammessi: 'normal', 'urgent'." in result.output
    assert "Error" not in result.output.replace("Errore", "")
    assert _parsed(town).urgent
