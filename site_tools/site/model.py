"""What the site shows at a given moment: visible bulletins and how they relate."""

from __future__ import annotations

import math
import posixpath
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from site_tools.content.bulletin import TYPES, Bulletin
from site_tools.content.config import TownConfig
from site_tools.content.topics import TOPICS


class Section(NamedTuple):
    slug: str
    label: str
    everything: str  # the link to the whole list, with the right Italian article


#: Designers Italia's "Novità" sections, by content type, in menu order.
SECTIONS = {
    "notizia": Section("notizie", "Notizie", "Tutte le notizie"),
    "comunicato": Section("comunicati", "Comunicati", "Tutti i comunicati"),
    "avviso": Section("avvisi", "Avvisi", "Tutti gli avvisi"),
    "bando": Section("bandi", "Bandi e concorsi", "Tutti i bandi e concorsi"),
}
#: Words a minute for «Tempo di lettura»: a general public reading on a phone, not a fast reader.
READING_SPEED = 200
assert set(SECTIONS) == set(TYPES)


@dataclass
class SiteModel:
    config: TownConfig
    now: datetime
    all_bulletins: list[Bulletin]
    bulletins: list[Bulletin] = field(init=False)  # visible, newest first
    by_id: dict[str, Bulletin] = field(init=False)
    newer: dict[str, list[Bulletin]] = field(init=False)  # id → bulletins that update or cancel it
    cancelled: dict[str, Bulletin] = field(init=False)  # id → the bulletin that cancels it
    _src: dict[str, str] = field(init=False, default_factory=dict, repr=False)  # path → src_uri

    def __post_init__(self) -> None:
        self.bulletins = sorted(
            (b for b in self.all_bulletins if b.is_visible(self.now)), key=lambda b: b.date, reverse=True
        )
        self.by_id = {b.id: b for b in self.bulletins}
        self.newer = defaultdict(list)
        self.cancelled = {}
        for b in sorted(self.bulletins, key=lambda b: b.date):
            if b.refers_to and b.refers_to in self.by_id:
                self.newer[b.refers_to].append(b)
            if b.cancels and b.cancels in self.by_id:
                self.cancelled[b.cancels] = b

    def src_uri(self, b: Bulletin) -> str:
        """The bulletin's file from content/ (``notizie/2026/x.md``), computed once: asked for on every page."""
        src = self._src.get(str(b.path))
        if src is None:
            src = self._src[str(b.path)] = Path(b.path).relative_to(self.config.content_dir).as_posix()
        return src

    def site_file(self, b: Bulletin, value: str) -> str:
        """Where a file named in a bulletin (``image``, an attachment) is published, from the site root.

        MkDocs copies every file of content/ to the same place in the site; a
        path in frontmatter is relative to the bulletin's file, or to content/
        with a leading ``/`` (validation has checked that it exists inside content/).
        """
        if value.startswith("/"):
            return posixpath.normpath(value.lstrip("/"))
        return posixpath.normpath(posixpath.join(posixpath.dirname(self.src_uri(b)), value))

    def last_updated(self, b: Bulletin) -> datetime:
        """When the page last changed: the editor's ``updated``, or a later bulletin that updates or cancels it."""
        moments = [b.updated or b.date, *(n.date for n in self.newer.get(b.id, []))]
        return max(moments)

    def reading_minutes(self, b: Bulletin) -> int:
        # Words of the Markdown source: a link's address counts as a word, close enough for a minute.
        words = len(b.summary.split()) + len(b.body.split())
        return max(1, math.ceil(words / READING_SPEED))

    def status(self, b: Bulletin) -> list[str]:
        """What a listing says about a bulletin besides its title: the state a citizen must see first."""
        labels = []
        if b.id in self.cancelled:
            labels.append("Annullato")
        elif b.expires is not None and b.expires <= self.now:
            labels.append("Scaduto")
        elif b.urgent:
            labels.append("Urgente")
        if b.event is not None and b.event.is_over(self.now) and b.id not in self.cancelled:
            labels.append("Evento concluso")
        if b.id not in self.cancelled and any(not n.cancels for n in self.newer.get(b.id, [])):
            labels.append("Aggiornato")
        return labels

    def urgent_active(self) -> list[Bulletin]:
        """The banner: urgent, not expired, not withdrawn."""
        return [b for b in self.bulletins if b.urgent and b.is_active(self.now) and b.id not in self.cancelled]

    def pinned(self) -> list[Bulletin]:
        return [b for b in self.bulletins if b.pin and b.is_active(self.now) and b.id not in self.cancelled]

    def in_category(self, slug: str) -> list[Bulletin]:
        return [b for b in self.bulletins if slug in b.categories]

    def topics_of(self, b: Bulletin) -> tuple[str, ...]:
        """The bulletin's own topics, or else those its categories give (``extra.town.categories[].topics``).

        Applied here, where pages are made: the bulletin itself keeps what its file says.
        """
        if b.topics:
            return b.topics
        found: list[str] = []
        for slug in b.categories:
            category = self.config.category(slug)
            found.extend(category.topics if category else ())
        return tuple(dict.fromkeys(found))

    def with_topic(self, slug: str) -> list[Bulletin]:
        return [b for b in self.bulletins if slug in self.topics_of(b)]

    def topics_in_use(self) -> dict[str, list[Bulletin]]:
        """Topic slug → its visible bulletins (newest first), in the vocabulary's (alphabetical) order."""
        grouped: dict[str, list[Bulletin]] = {slug: [] for slug in TOPICS}
        for b in self.bulletins:
            for slug in self.topics_of(b):
                grouped[slug].append(b)
        return {slug: listed for slug, listed in grouped.items() if listed}

    def of_type(self, kind: str) -> list[Bulletin]:
        return [b for b in self.bulletins if b.type == kind]

    def months(self) -> dict[tuple[int, int], list[Bulletin]]:
        grouped: dict[tuple[int, int], list[Bulletin]] = defaultdict(list)
        for b in self.bulletins:
            grouped[(b.date.year, b.date.month)].append(b)
        return dict(grouped)
