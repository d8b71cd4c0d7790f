"""The bulletin's fields as the web editor's form sees them: :data:`~site_tools.content.model.FIELDS` for one town.

The model holds every field once (:mod:`site_tools.content.model`); a form
needs only the town's own facts on top: its time zone in the hints and its
categories as the choices of ``categories``.
"""

from __future__ import annotations

from dataclasses import replace

from site_tools.content import limits
from site_tools.content.config import TownConfig
from site_tools.content.model import (
    DATETIME_FORMAT,
    FIELDS,
    PRIORITY_LABELS,
    TOWN_CATEGORIES,
    ZONE,
    FieldSpec,
    Kind,
)

__all__ = ["DATETIME_FORMAT", "PRIORITY_LABELS", "FieldSpec", "Kind", "bulletin_fields", "identifier_for"]


def for_town(spec: FieldSpec, config: TownConfig) -> FieldSpec:
    """``spec`` with the town's time zone in its hint and the town's categories as its choices."""
    choices = spec.choices
    if choices == ((TOWN_CATEGORIES, ""),):
        choices = tuple((c.slug, c.label) for c in config.categories)
    fields = tuple(for_town(f, config) for f in spec.fields)
    return replace(spec, hint=spec.hint.replace(ZONE, str(config.timezone)), choices=choices, fields=fields)


def bulletin_fields(config: TownConfig) -> tuple[FieldSpec, ...]:
    """Every frontmatter key of a bulletin, in the order a form shows them."""
    return tuple(for_town(spec, config) for spec in FIELDS)


def identifier_for(date_text: str, title: str) -> str:
    """The id (and file name) a new bulletin gets: ``2026-11-20-chiusura-di-via-roma``.

    The editor's JavaScript does the same; this is the reference its tests compare with.
    """
    from slugify import slugify

    from site_tools.content.authoring import SLUG_MAX

    day = date_text.strip()[:10]
    slug = slugify(title, max_length=SLUG_MAX, word_boundary=True) or "avviso"
    return f"{day}-{slug}"[: limits.ID_MAX].rstrip("-")
