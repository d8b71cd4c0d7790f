"""What town staff read from the command line: Italian counts that agree, and only true outcomes."""

from __future__ import annotations

from pathlib import Path

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
