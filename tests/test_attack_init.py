"""``site-tools init`` against a new town's unusual but legitimate answers and hostile ones."""

from __future__ import annotations

from pathlib import Path

import yaml

from .test_init import init, options


def test_a_town_without_telegram_gets_its_repository(tmp_path: Path) -> None:
    # Telegram is the one optional question: a town that has no channel leaves it out (or presses Enter).
    result = init(tmp_path / "comune", "--yes", *options(telegram=None))
    assert result.returncode == 0, result.stdout + result.stderr
    town = yaml.safe_load((tmp_path / "comune" / "mkdocs.yml").read_text(encoding="utf-8"))["extra"]["town"]
    assert "telegram" not in town and town["name"] == "Comune di Roccabella"


def test_a_line_break_in_an_answer_writes_no_key_of_its_own(tmp_path: Path) -> None:
    # The name lands in a comment on mkdocs.yml's first line: a line break there would start a key.
    name = "Comune di Roccabella\nhooks: [evil.py]\n#"
    result = init(tmp_path / "comune", "--yes", *options(name=name, short_name="Roccabella"))
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((tmp_path / "comune" / "mkdocs.yml").read_text(encoding="utf-8"))
    assert "hooks" not in config
    assert config["extra"]["town"]["name"] == "Comune di Roccabella hooks: [evil.py] #"


def test_a_population_in_odd_digits_is_asked_again_not_a_crash(tmp_path: Path) -> None:
    # «²» is a digit to str.isdigit but not a number to int(): the answer is refused with its option, not a traceback.
    result = init(tmp_path / "comune", "--yes", *options(population="5²"))
    assert result.returncode == 1
    assert "(opzione --population)" in result.stderr and not (tmp_path / "comune").exists()


def test_a_write_that_fails_half_way_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    # --force on a folder holding a *file* named «content»: the pages cannot go under it. Whatever was written before
    # it is taken away, so the message «Nessun file è stato scritto» is true and a second try finds the folder as it was.
    town = tmp_path / "comune"
    town.mkdir()
    (town / "content").write_text("not a folder", encoding="utf-8")
    result = init(town, "--yes", "--force", *options())
    assert result.returncode == 1
    assert "Nessun file è stato scritto" in result.stderr and "Errore imprevisto" not in result.stderr
    assert sorted(p.relative_to(town).as_posix() for p in town.rglob("*")) == ["content"]
