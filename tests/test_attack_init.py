"""``site-tools init`` against a new town's unusual but legitimate answers and hostile ones (review of issue 23)."""

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
