"""The bulletin model: a typed, immutable :class:`Bulletin` that every other layer takes.

A bulletin is a Markdown file with YAML frontmatter under ``content/``;
:mod:`site_tools.content.frontmatter` is the only code that reads it, and
turns one file into a :class:`Bulletin` or into a list of
:class:`~site_tools.content.problems.Problem` (never both, never an
exception). Keys follow mkdocs-material's blog
conventions where they exist (``title``, ``date``, ``categories``,
``draft``, ``slug``, ``pin``) and the Designers Italia model for
municipal sites for the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path

from site_tools.content.config import CHANNELS, TownConfig


class Priority(str, Enum):
    NORMAL = "normal"
    URGENT = "urgent"


#: Designers Italia's content types for a Comune's "Novità".
TYPES: dict[str, str] = {
    "avviso": "Avviso",
    "notizia": "Notizia",
    "comunicato": "Comunicato",
    "bando": "Bando",
}

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

#: OASIS CAP 1.2's enumerations (``urgency``, ``severity``, ``certainty`` of an alert), with
#: what each value means in Italian for the editor who sets it. The values are CAP's own words.
CAP_URGENCY: dict[str, str] = {
    "Immediate": "immediata: agire subito",
    "Expected": "attesa: agire entro un'ora circa",
    "Future": "futura: agire nel prossimo futuro",
    "Past": "passata: non serve più agire",
    "Unknown": "sconosciuta",
}
CAP_SEVERITY: dict[str, str] = {
    "Extreme": "estrema: minaccia straordinaria alla vita o ai beni",
    "Severe": "grave: minaccia significativa alla vita o ai beni",
    "Moderate": "moderata: possibile minaccia alla vita o ai beni",
    "Minor": "lieve: minaccia minima o nulla",
    "Unknown": "sconosciuta",
}
CAP_CERTAINTY: dict[str, str] = {
    "Observed": "osservata: è già in corso",
    "Likely": "probabile (oltre il 50%)",
    "Possible": "possibile (50% o meno)",
    "Unlikely": "improbabile",
    "Unknown": "sconosciuta",
}
#: An event without an end lasts this long (the calendar entry, "evento concluso").
EVENT_DEFAULT_DURATION = timedelta(hours=1)


@dataclass(frozen=True)
class Event:
    start: datetime
    end: datetime | None = None
    location: str | None = None

    @property
    def finish(self) -> datetime:
        return self.end or self.start + EVENT_DEFAULT_DURATION

    def is_over(self, now: datetime) -> bool:
        return self.finish <= now


@dataclass(frozen=True)
class Attachment:
    """A document published with a bulletin: a PDF inside ``content/``."""

    file: str  # as written: relative to the bulletin's file, or from content/ with a leading "/"
    title: str


@dataclass(frozen=True)
class Bulletin:
    id: str
    path: Path
    title: str
    date: datetime
    summary: str
    categories: tuple[str, ...]
    body: str
    type: str = "notizia"
    #: Slugs of the model's topics («argomenti», :mod:`site_tools.content.topics`), as the editor ordered them.
    topics: tuple[str, ...] = ()
    priority: Priority = Priority.NORMAL
    channels: frozenset[str] = field(default_factory=lambda: frozenset(CHANNELS))
    draft: bool = False
    slug: str = ""
    pin: bool = False
    expires: datetime | None = None
    event: Event | None = None
    area: str | None = None
    office: str | None = None
    image: str | None = None
    updates: str | None = None
    cancels: str | None = None
    #: Last time the editor changed the text (``updated``); None: never since ``date``.
    updated: datetime | None = None
    attachments: tuple[Attachment, ...] = ()
    #: CAP assessment set by the editor (None: the default, or inherited from the alert it updates).
    urgency: str | None = None
    severity: str | None = None
    certainty: str | None = None
    #: 1-based line of the first body line in the file (for link errors).
    body_line: int = 1
    #: The folder of bulletins under content/, first part of every URL.
    section: str = "notizie"
    #: No «date:» in the file: dated when it reached the main branch (see :mod:`site_tools.content.merged`).
    dated_at_merge: bool = False

    @property
    def urgent(self) -> bool:
        return self.priority is Priority.URGENT

    @property
    def url_path(self) -> str:
        """Site path relative to the site root: ``notizie/2026/11/chiusura-via-roma/``."""
        local = self.date  # the numbers, not strftime (a tenth of a second at 10,000): same text as %Y/%m
        return f"{self.section}/{local.year}/{local.month:02d}/{self.slug}/"

    @property
    def refers_to(self) -> str | None:
        return self.cancels or self.updates

    def is_visible(self, now: datetime) -> bool:
        """On the site and eligible to publish: not a draft, not in the future."""
        return not self.draft and self.date <= now

    def is_active(self, now: datetime) -> bool:
        return self.is_visible(now) and (self.expires is None or now < self.expires)

    def url(self, config: TownConfig) -> str:
        return config.site_url + self.url_path
