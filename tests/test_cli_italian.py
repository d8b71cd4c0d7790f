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
