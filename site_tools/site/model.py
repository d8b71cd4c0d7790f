"""What the site shows at a given moment: visible bulletins and how they relate."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from site_tools.content.bulletin import TYPES, Bulletin
from site_tools.content.config import TownConfig

#: Designers Italia's "Novità" sections, by content type, in menu order.
SECTIONS = {
    "notizia": ("notizie", "Notizie"),
    "comunicato": ("comunicati", "Comunicati"),
    "avviso": ("avvisi", "Avvisi"),
    "bando": ("bandi", "Bandi e concorsi"),
}
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
        return Path(b.path).relative_to(self.config.content_dir).as_posix()

    def urgent_active(self) -> list[Bulletin]:
        """The banner: urgent, not expired, not withdrawn."""
        return [b for b in self.bulletins if b.urgent and b.is_active(self.now) and b.id not in self.cancelled]

    def pinned(self) -> list[Bulletin]:
        return [b for b in self.bulletins if b.pin and b.is_active(self.now) and b.id not in self.cancelled]

    def in_category(self, slug: str) -> list[Bulletin]:
        return [b for b in self.bulletins if slug in b.categories]

    def of_type(self, kind: str) -> list[Bulletin]:
        return [b for b in self.bulletins if b.type == kind]

    def months(self) -> dict[tuple[int, int], list[Bulletin]]:
        grouped: dict[tuple[int, int], list[Bulletin]] = defaultdict(list)
        for b in self.bulletins:
            grouped[(b.date.year, b.date.month)].append(b)
        return dict(grouped)
