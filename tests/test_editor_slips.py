"""Issue 12, the editors' side: a new town's tests, slips caught by validate, stable addresses, `new`, the preview."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from site_tools.content.loading import load_content
from site_tools.content.problems import Problem, format_report
from site_tools.content.slips import NEW_BODY

from .conftest import FIXTURE_TOWN, REPO, Town, good

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


# -- 1. slips caught by validate ----------------------------------------------------------------------------------


def problems_of(town: Town) -> list[Problem]:
    content = load_content(town.config)
    content.check_bodies()
    return content.problems


def test_the_placeholder_of_new_is_an_error(town: Town) -> None:
    path = town.write("2026-11-20-chiusura.md", good(), body=f"{NEW_BODY}\n")
    (problem,) = problems_of(town)
    assert problem.file.endswith(path.name) and problem.field == "testo" and problem.line == 9
    assert "Scrivi qui il testo completo" in problem.message and "sostituiscilo" in problem.fix
    # Kept among other text (the editor wrote above it), still caught.
    town.write("2026-11-20-chiusura.md", good(), body=f"Via Roma è chiusa.\n\n{NEW_BODY}\n")
    assert [p.field for p in problems_of(town)] == ["testo"]


def test_a_hash_in_an_unquoted_title_is_an_error_with_the_quoted_fix(town: Town) -> None:
    header = good().replace("title: Chiusura di via Roma per lavori", "title: Avviso #3 via Sant'Anna chiusa")
    town.write("2026-11-20-chiusura.md", header)
    (problem,) = problems_of(town)
    assert problem.field == "title" and problem.line == 3
    assert "«Avviso»" in problem.message and "«Avviso #3 via Sant'Anna chiusa»" in problem.message
    assert problem.fix.endswith('title: "Avviso #3 via Sant\'Anna chiusa"')
    # The fix, applied literally, validates; a quoted «#» and a hash without a space before it are fine.
    town.write(
        "2026-11-20-chiusura.md",
        header.replace("title: Avviso #3 via Sant'Anna chiusa", "title: " + problem.fix.split("title: ")[1]),
    )
    town.write("2026-11-21-pec.md", good("2026-11-21-pec", area="Civico n.#3, 'via' Verdi"), folder="2026")
    assert problems_of(town) == []
    assert load_content(town.config).bulletins[0].title == "Avviso #3 via Sant'Anna chiusa"


def _guide() -> str:
    return (REPO / "GUIDA-REDAZIONE.md").read_text(encoding="utf-8")


def test_every_example_and_link_form_of_the_editors_guide_validates(town: Town) -> None:
    guide = _guide()
    examples = re.findall(r"```markdown\n(.*?)```", guide, re.DOTALL)
    assert examples, "the guide shows a whole bulletin"
    for example in examples:
        bid = re.search(r"^id: (\S+)$", example, re.MULTILINE)
        assert bid is not None
        (town.bulletins / "2026").mkdir(parents=True, exist_ok=True)
        (town.bulletins / "2026" / f"{bid.group(1)}.md").write_text(example, encoding="utf-8")
    # Every link the guide teaches, written in a bulletin of content/notizie/2026/ as the guide says.
    links = re.findall(r"\]\(([^)\s]+\.md[^)\s]*)\)", guide) + re.findall(r"`(\.\./[^`\s]+\.md)`", guide)
    assert len(links) >= 2, links
    body = "\n\n".join(f"Vedi [questo]({link})." for link in links) + "\n"
    town.write("2026-11-21-rimandi.md", good("2026-11-21-rimandi"), body=body)
    assert problems_of(town) == []


# -- 4. messages only in Italian ----------------------------------------------------------------------------------

ENGLISH = re.compile(r"\b(found|expected|mapping|scanning|parsing|character|stream|token|while)\b")


def test_yaml_errors_are_told_in_italian_with_the_line_and_a_tab_named(town: Town) -> None:
    town.write("2026-11-20-tab.md", good("2026-11-20-tab").replace("summary:", "\tsummary:"))
    town.write("2026-11-21-due-punti.md", good("2026-11-21-due-punti").replace("per lavori", "per lavori: ordinanza"))
    town.write("2026-11-22-elenco.md", good("2026-11-22-elenco").replace("[viabilita]", "[viabilita"))
    town.write("2026-11-23-virgolette.md", good("2026-11-23-virgolette").replace("title: ", "title: 'Chiusura"))
    found = {p.file.rsplit("/", 1)[1]: p for p in problems_of(town)}
    assert set(found) == {
        "2026-11-20-tab.md",
        "2026-11-21-due-punti.md",
        "2026-11-22-elenco.md",
        "2026-11-23-virgolette.md",
    }
    for problem in found.values():
        assert not ENGLISH.search(problem.message + problem.fix), problem
        assert problem.line is not None
    tab = found["2026-11-20-tab.md"]
    assert "tabulazione (TAB)" in tab.message and tab.line == 6 and "spazi" in tab.fix
    assert "«: »" in found["2026-11-21-due-punti.md"].message and found["2026-11-21-due-punti.md"].line == 3
    assert "parentesi quadre" in found["2026-11-22-elenco.md"].message
    assert "virgoletta" in found["2026-11-23-virgolette.md"].message


def test_one_problem_is_told_in_the_singular(town: Town) -> None:
    assert format_report([Problem("a.md", 1, "title", "x.", "y.")]).endswith(
        "Trovato 1 problema in 1 file. Nulla è stato pubblicato."
    )
    two = [Problem("a.md", 1, "title", "x.", "y."), Problem("b.md", 2, "date", "x.", "y.")]
    assert format_report(two).endswith("Trovati 2 problemi in 2 file. Nulla è stato pubblicato.")
