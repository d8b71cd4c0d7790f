"""The architecture, checked: layers that only import downwards, small functions, one channel interface."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from site_tools import channels
from site_tools.content.config import CHANNELS

PACKAGE = Path(__file__).resolve().parents[1] / "site_tools"

#: What each part may import from the project (besides the loose helper modules and itself).
ALLOWED: dict[str, set[str]] = {
    "markdown": set(),
    "content": {"markdown"},
    "store": set(),
    "render": {"content", "markdown"},
    "channels": {"content", "markdown", "render"},
    "delivery": {"content", "markdown", "render", "channels", "store"},
    "service": {"content", "markdown", "render", "channels", "store", "delivery"},
    "site": {"content", "markdown", "render"},
    "cli": {"content", "markdown", "render", "channels", "store", "delivery", "service", "site", "devtools"},
    "devtools": {"content", "markdown", "render", "channels", "store", "delivery", "service", "site"},
}
LOOSE = {"__init__", "__main__", "settings", "phones", "formatting", "aio"}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_parts(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("site_tools"):
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("site_tools")]
        for name in names:
            parts = name.split(".")
            if len(parts) > 1:
                found.add(parts[1])
    return found


def test_at_most_eight_loose_modules() -> None:
    loose = {p.stem for p in PACKAGE.glob("*.py")}
    assert len(loose) <= 8, sorted(loose)
    assert loose <= LOOSE, f"new loose modules: {sorted(loose - LOOSE)}: put them in the package that owns them"


@pytest.mark.parametrize("package", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")))
def test_every_package_says_what_it_owns(package: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
    assert doc, f"site_tools/{package}/__init__.py needs a docstring saying what the package owns"


def test_layers_only_import_downwards() -> None:
    wrong = []
    for path in modules():
        part = part_of(path)
        if part in LOOSE:
            continue
        for target in imported_parts(path) - LOOSE - {part}:
            if target not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports site_tools.{target}")
    assert not wrong, "\n".join(wrong)


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
