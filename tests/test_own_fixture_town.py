"""The tests run on a town of their own (tests/fixtures/town/): a town that replaced the demo keeps a green suite.

conftest.py watches every test (``DemoReads``) and fails one that opens or lists the demo's content/ or
mkdocs.yml without asking for ``the_demo``; these tests show that the watch sees such a read, however it comes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from site_tools.content.loading import load_content

from .command import site_tools
from .conftest import DEMO_READS, REPO, Town


def test_reading_or_listing_the_demo_is_seen(the_demo: Path) -> None:
    with DEMO_READS.watching() as seen:
        (the_demo / "mkdocs.yml").read_bytes()
        os.listdir(the_demo / "content")
    assert seen == [str(REPO / "mkdocs.yml"), str(REPO / "content")]


def test_the_demo_found_from_the_current_folder_is_seen(the_demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The way a test would read the demo by accident: a command run where pytest runs, finding mkdocs.yml."""
    with DEMO_READS.watching() as seen:
        assert site_tools("validate", cwd=the_demo).returncode == 0
    assert str(REPO / "mkdocs.yml") in seen and any(p.startswith(str(REPO / "content") + os.sep) for p in seen)


def test_the_fixture_towns_read_nothing_of_the_demo(tmp_path: Path) -> None:
    with DEMO_READS.watching() as seen:
        town = Town(tmp_path, with_demo=True)
        content = load_content(town.config)
    assert content.bulletins and not content.problems
    assert seen == []
