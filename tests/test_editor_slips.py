"""Issue 12, the editors' side: a new town's tests, slips caught by validate, stable addresses, `new`, the preview."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import FIXTURE_TOWN, REPO

# The only tests about the demo itself (its content/ and mkdocs.yml at the repository root).
DEMO_TESTS = {"test_demo.py"}


def test_the_tests_read_their_own_fixture_town_not_the_demo() -> None:
    assert (FIXTURE_TOWN / "mkdocs.yml").is_file() and list((FIXTURE_TOWN / "content" / "notizie").rglob("*.md"))
    repo = "REPO"  # spelled apart so this test does not find itself
    demo_paths = re.compile(repo + r'\s*/\s*"(content|mkdocs\.yml)"|Path = ' + repo + r"\b|generate_town\(" + repo)
    readers = [p.name for p in (REPO / "tests").glob("*.py") if demo_paths.search(p.read_text(encoding="utf-8"))]
    assert set(readers) <= DEMO_TESTS, readers
    cli_tests = (REPO / "tests" / "test_cli.py").read_text(encoding="utf-8")
    assert cli_tests.count("cwd=" + repo) == 1  # only test_validate_passes_on_the_demo_town


OTHER_TOWN_BULLETIN = """---
id: 2027-02-01-neve-borgonuovo
title: Neve a Borgonuovo, scuole chiuse
date: 2027-02-01 07:00
categories: [scuola]
summary: Per la neve le scuole di Borgonuovo restano chiuse lunedì 1 febbraio.
---

Le scuole restano chiuse.
"""


def test_a_town_that_replaced_the_demo_content_keeps_a_green_suite(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    skip = shutil.ignore_patterns(".venv", "node_modules", ".git", "site", ".pytest_cache", "__pycache__", "*.egg-info")
    shutil.copytree(REPO, copy, ignore=skip)
    shutil.rmtree(copy / "content")
    (copy / "content" / "notizie" / "2027").mkdir(parents=True)
    (copy / "content" / "index.md").write_text("# Comune di Borgonuovo\n", encoding="utf-8")
    (copy / "content" / "notizie" / "2027" / "2027-02-01-neve.md").write_text(OTHER_TOWN_BULLETIN, encoding="utf-8")
    config = (copy / "mkdocs.yml").read_text(encoding="utf-8").replace("Valfiorita", "Borgonuovo")
    (copy / "mkdocs.yml").write_text(config, encoding="utf-8")
    tests = ["tests/test_renderers.py", "tests/test_bulletin.py", "tests/test_config.py", "tests/test_keywords.py"]
    env = {**os.environ, "PYTHONPATH": str(copy)}
    cmd = [sys.executable, "-m", "pytest", *tests, "-q", "-x", "-p", "no:randomly", "-p", "no:cacheprovider"]
    result = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
