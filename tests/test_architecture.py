"""The architecture, checked: layers that only import downwards, small functions, one channel interface."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from site_tools import channels
from site_tools.content.config import CHANNELS

PACKAGE = Path(__file__).resolve().parents[1] / "site_tools"

#: The loose helper modules at the package's top level (the layers themselves are import-linter's contracts, in
#: pyproject.toml: ``[tool.importlinter]``).
LOOSE = {"__init__", "__main__", "settings", "phones", "formatting", "aio"}
ROOT = PACKAGE.parent


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_at_most_eight_loose_modules() -> None:
    loose = {p.stem for p in PACKAGE.glob("*.py")} - {"_version"}  # written by setuptools-scm at install
    assert len(loose) <= 8, sorted(loose)
    assert loose <= LOOSE, f"new loose modules: {sorted(loose - LOOSE)}: put them in the package that owns them"


@pytest.mark.parametrize("package", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")))
def test_every_package_says_what_it_owns(package: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
    assert doc, f"site_tools/{package}/__init__.py needs a docstring saying what the package owns"


def test_the_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Layers (``from site_tools import X`` and the top-level modules included), and no import cycles."""
    from importlinter import cli

    # Its logging setup (dictConfig) would disable every logger already made: other tests read the service's log.
    monkeypatch.setattr(cli, "_configure_logging", lambda verbose: None)
    monkeypatch.chdir(ROOT)
    code = cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    output = capsys.readouterr().out
    assert code == 0, output
    assert "0 broken" in output and "KEPT" in output


def test_no_function_over_80_lines() -> None:
    long = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                length = (node.end_lineno or node.lineno) - start + 1
                if length > 80:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}: {length} lines")
    assert not long, "\n".join(long)


def test_every_channel_in_the_vocabulary_has_one_implementation() -> None:
    assert set(channels.names()) == set(CHANNELS)


def test_publishing_never_branches_on_a_channel_name() -> None:
    """The per-channel if chains live in the channels, not in publishing, dry run or preview."""
    for name in ("delivery/publisher.py", "delivery/plan.py", "delivery/preview.py", "cli/publish.py"):
        text = (PACKAGE / name).read_text(encoding="utf-8")
        for channel in CHANNELS:
            assert f'"{channel}"' not in text, f"{name} mentions {channel!r}"


def test_the_code_says_what_it_does_not_which_issue_asked_for_it() -> None:
    """A comment such as «(issue N)» means nothing to the next reader; the code says what it does instead."""
    import re

    pattern = re.compile(r"\bissues? " + r"\d+", re.IGNORECASE)  # «issue #1» is a GitHub issue the code opens
    root = PACKAGE.parent
    found = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("site_tools", "tests", "bench", "scripts")
        for path in sorted((root / folder).rglob("*"))
        if path.suffix in {".py", ".js", ".html", ".yml", ""} and path.is_file() and "fixtures" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found
