"""Shared fixtures: a throw-away copy of the tests' own fixture town (tests/fixtures/town/) to break at will.

The tests never read the demo's content/ or mkdocs.yml at the repository root: a town that replaced the demo
with its own bulletins keeps a green suite. Only tests/test_demo.py and the demo check in tests/test_cli.py
are about the demo itself."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from site_tools.content.config import TownConfig, load_config

REPO = Path(__file__).resolve().parents[1]
FIXTURE_TOWN = REPO / "tests" / "fixtures" / "town"  # a frozen town of the tests' own, not the demo


class Town:
    def __init__(self, root: Path, with_demo: bool):
        self.root = root
        shutil.copy(FIXTURE_TOWN / "mkdocs.yml", root / "mkdocs.yml")
        if with_demo:
            shutil.copytree(FIXTURE_TOWN / "content", root / "content")
        else:
            (root / "content" / "notizie").mkdir(parents=True)
            (root / "content" / "index.md").write_text("# Home\n", encoding="utf-8")
            # What mkdocs.yml names for the site (coat of arms, privacy and accessibility pages): it still builds.
            shutil.copytree(FIXTURE_TOWN / "content" / "img", root / "content" / "img")
            for page in ("privacy.md", "accessibilita.md"):
                shutil.copy(FIXTURE_TOWN / "content" / page, root / "content" / page)

    @property
    def config(self) -> TownConfig:
        return load_config(self.root / "mkdocs.yml")

    @property
    def bulletins(self) -> Path:
        return self.root / "content" / "notizie"

    def write(self, name: str, frontmatter: str, body: str = "Testo dell'avviso.\n", folder: str = "2026") -> Path:
        path = self.bulletins / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{textwrap.dedent(frontmatter).strip()}\n---\n\n{body}", encoding="utf-8")
        return path


GOOD = """
id: {id}
title: Chiusura di via Roma per lavori
date: 2026-11-20 08:30
categories: [viabilita]
summary: Dal 21 al 23 novembre via Roma è chiusa per lavori alla rete idrica.
"""


def good(id: str = "2026-11-20-chiusura-via-roma", **extra: str) -> str:
    text = GOOD.format(id=id)
    for key, value in extra.items():
        text += f"{key}: {value}\n"
    return text


@pytest.fixture
def town(tmp_path: Path) -> Town:
    return Town(tmp_path, with_demo=False)


@pytest.fixture
def demo_town(tmp_path: Path) -> Town:
    return Town(tmp_path, with_demo=True)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For end-to-end tests whose SQL is already proven on both stores by test_store.py and the unit tests."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (skipped, with the reason, when no server answers)."""
    from .services import pg_schema_url

    with pg_schema_url() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """The same test on a SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        from .services import pg_schema_url

        with pg_schema_url() as url:
            yield url
