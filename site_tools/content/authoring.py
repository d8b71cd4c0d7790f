"""Writing a new bulletin file with valid frontmatter (``site-tools new``)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from slugify import slugify

from site_tools.content.bulletin import Priority
from site_tools.content.config import TownConfig
from site_tools.content.frontmatter import parse_bulletin
from site_tools.content.problems import InvalidContent, Problem, display_path
from site_tools.content.slips import NEW_BODY

SLUG_MAX = 60


@dataclass(frozen=True)
class Draft:
    title: str
    summary: str
    category: str
    priority: Priority
    date: datetime
    type: str = "avviso"


def target_path(config: TownConfig, draft: Draft) -> Path:
    slug = slugify(draft.title, max_length=SLUG_MAX, word_boundary=True) or "avviso"
    local = draft.date.astimezone(config.timezone)
    return config.bulletins_path / f"{local:%Y}" / f"{local:%Y-%m-%d}-{slug}.md"


def render(draft: Draft, path: Path, config: TownConfig) -> str:
    meta = {
        "id": path.stem,
        "title": draft.title,
        "date": draft.date.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M"),
        "type": draft.type,
        "categories": [draft.category],
        "priority": draft.priority.value,
        "summary": draft.summary,
    }
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{head}---\n\n{NEW_BODY}\n"


def write_new(config: TownConfig, draft: Draft) -> Path:
    """Write the file, or raise :class:`InvalidContent` and write nothing."""
    path = target_path(config, draft)
    shown = display_path(path, config.root)
    if path.exists():
        raise InvalidContent(
            [
                Problem(
                    shown,
                    None,
                    None,
                    "esiste già un avviso con questo titolo e questa data.",
                    "scegli un titolo diverso o modifica il file esistente.",
                )
            ]
        )
    text = render(draft, path, config)
    # Check the file before it exists, in a scratch folder: nothing is
    # written under content/ unless it is valid.
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir) / path.name
        scratch.write_text(text.replace(NEW_BODY, "Testo."), encoding="utf-8")  # the placeholder: for the editor
        _, problems = parse_bulletin(scratch, config)
    if problems:
        raise InvalidContent([Problem(shown, p.line, p.field, p.message, p.fix) for p in problems])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
