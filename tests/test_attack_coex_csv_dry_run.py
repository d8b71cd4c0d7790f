"""Attack: a hurried clerk checks a list with ``--dry-run`` but mistypes ``--db``. The dry run created a new, empty
database there and reported every number as new, while saying «nulla è stato scritto». It must write nothing and
say which database is missing.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from site_tools.cli.main import main

from .conftest import Town


def test_a_dry_run_against_a_database_that_does_not_exist_writes_nothing(town: Town, tmp_path: Path) -> None:
    csv = tmp_path / "lista.csv"
    csv.write_text("numero;data consenso\n3330000701;12/03/2024\n", encoding="utf-8")
    wrong = tmp_path / "servizio-sbagliato.db"
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(town.root / "mkdocs.yml"),
            "subscribers",
            "import",
            str(csv),
            "--dry-run",
            "--db",
            f"sqlite:///{wrong}",
        ],
    )
    assert result.exit_code != 0
    assert "non esiste" in result.output and "servizio-sbagliato.db" in result.output
    assert not wrong.exists()
