"""Writing a new bulletin file with valid frontmatter (``site-tools new``).

Without a date the file has no ``date:``: the bulletin is dated when it is
merged (:mod:`site_tools.content.merged`), so a pull request reviewed for a
few days is not refused as too old. A date the editor gives schedules it.
A field the editor did not choose (the type, an expiry, an event) is left
out, so the bulletin model's default applies: it is declared there once.
"""

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
    priority: Priority | None  # None: the model's default priority
    date: datetime | None  # None: dated at merge
    type: str | None = None  # None: the model's default type
    #: When the file is written (its name and id start with this day); None: now.
    written: datetime | None = None
    #: As the editor wrote them (the frontmatter's own check reads them): ``2026-12-16``, ``16/12/2026 18:00``.
    expires: str | None = None
    #: ``start`` and, if given, ``end`` and ``location``; None: not an event.
    event: dict[str, str] | None = None


def target_path(config: TownConfig, draft: Draft) -> Path:
    slug = slugify(draft.title, max_length=SLUG_MAX, word_boundary=True) or "avviso"
    local = (draft.date or draft.written or datetime.now(config.timezone)).astimezone(config.timezone)
    return config.bulletins_path / f"{local:%Y}" / f"{local:%Y-%m-%d}-{slug}.md"


def render(draft: Draft, path: Path, config: TownConfig) -> str:
    meta: dict[str, object] = {"id": path.stem, "title": draft.title}
    if draft.date is not None:
        meta["date"] = draft.date.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M")
    if draft.type is not None:
        meta["type"] = draft.type
    meta |= {
        "categories": [draft.category],
        **({"priority": draft.priority.value} if draft.priority else {}),
        "summary": draft.summary,
    }
    if draft.event:
        meta["event"] = dict(draft.event)
    if draft.expires:
        meta["expires"] = draft.expires
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{head}---\n\n{NEW_BODY}\n"


def draft_problems(config: TownConfig, draft: Draft) -> list[Problem]:
    """What is wrong with the answers (the frontmatter's fields: title, summary, event.start…), nothing written."""
    path = target_path(config, draft)
    shown = display_path(path, config.root)
    if path.exists():
        return [
            Problem(
                shown,
                None,
                "title",
                "esiste già un avviso con questo titolo e questa data.",
                "scegli un titolo diverso o modifica il file esistente.",
            )
        ]
    # Check the file before it exists, in a scratch folder: nothing is written under content/ unless it is valid.
    text = render(draft, path, config).replace(NEW_BODY, "Testo.")  # the placeholder is for the editor to replace
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir) / path.name
        scratch.write_text(text, encoding="utf-8")
        _, problems = parse_bulletin(scratch, config)
    return [Problem(shown, p.line, p.field, p.message, p.fix) for p in problems]


def write_new(config: TownConfig, draft: Draft) -> Path:
    """Write the file, or raise :class:`InvalidContent` and write nothing."""
    problems = draft_problems(config, draft)
    if problems:
        raise InvalidContent(problems)
    path = target_path(config, draft)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(draft, path, config), encoding="utf-8")
    return path
