"""Urgent bulletins → CAP 1.2 alerts (OASIS Common Alerting Protocol), in Italian.

One ``alert`` per bulletin that is issued as a CAP message (see
:class:`CapFeed`). A bulletin that updates or cancels an issued one is
``msgType`` ``Update`` or ``Cancel`` with ``references`` naming the messages
it builds on.
Times carry an explicit offset (``+01:00``): the schema forbids ``Z``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.markdown.scan import plain_text

NS = "urn:oasis:names:tc:emergency:cap:1.2"
#: Our categories → CAP's fixed list (Geo Met Safety Security Rescue Fire Health Env Transport Infra CBRNE Other).
CAP_CATEGORY = {
    "emergenza": "Safety",
    "protezione-civile": "Safety",
    "meteo": "Met",
    "viabilita": "Transport",
    "scuola": "Safety",
    "servizi": "Infra",
    "ambiente": "Env",
}


def cap_time(moment: datetime, config: TownConfig) -> str:
    """``2026-11-21T16:45:00+01:00``: seconds, explicit offset, never ``Z``."""
    return moment.astimezone(config.timezone).replace(microsecond=0).isoformat()


def sender(config: TownConfig) -> str:
    return config.site_url.split("//", 1)[-1].strip("/")


def identifier(config: TownConfig, b: Bulletin) -> str:
    return f"{sender(config)}.{b.id}"


@dataclass(frozen=True)
class Assessment:
    """CAP's ``urgency``, ``severity`` and ``certainty`` of one message."""

    urgency: str
    severity: str
    certainty: str


#: What an urgent bulletin says when the editor sets nothing, and what any other says.
URGENT = Assessment("Immediate", "Severe", "Observed")
ORDINARY = Assessment("Expected", "Moderate", "Likely")


@dataclass
class CapFeed:
    """Which bulletins are CAP messages, how they chain, and which the feed carries now.

    A bulletin is *issued* as a CAP message when it is urgent, or when it updates
    or cancels a message that was issued: an ``Update`` or a ``Cancel`` always
    references a message a consumer may have received, never one that never
    existed. An update inherits the assessment (urgency, severity, certainty) of
    the message it updates, field by field, unless its editor set one: «resta
    l'allerta» must not downgrade a live Severe alert to a Moderate one.

    The feed carries every message of each *current* thread (an alert with its
    updates and cancellation), so every ``references`` names a file that is in
    ``cap/index.json``; a thread is current while its latest message is in
    force (for a ``Cancel``: while the cancelled alert would have been).
    """

    config: TownConfig
    now: datetime
    bulletins: list[Bulletin]  # what the site shows (visible)
    issued: dict[str, Bulletin] = field(init=False)
    parent: dict[str, Bulletin] = field(init=False)  # id → the issued message it updates or cancels
    messages: list[Bulletin] = field(init=False)  # in the feed, newest first

    def __post_init__(self) -> None:
        self.issued, self.parent = {}, {}
        threads: dict[str, list[Bulletin]] = {}
        for b in sorted((b for b in self.bulletins if b.is_visible(self.now)), key=lambda b: b.date):
            earlier = self.issued.get(b.refers_to or "")
            if earlier is None and not b.urgent:
                continue
            self.issued[b.id] = b
            if earlier is not None:
                self.parent[b.id] = earlier
            threads.setdefault(self.root(b).id, []).append(b)
        chosen = [m for thread in threads.values() if self._current(thread) for m in thread]
        self.messages = sorted(chosen, key=lambda b: b.date, reverse=True)

    def _current(self, thread: list[Bulletin]) -> bool:
        latest = thread[-1]
        if not latest.is_active(self.now):
            return False
        cancelled = self.parent.get(latest.id) if latest.cancels else None
        return cancelled is None or cancelled.expires is None or cancelled.expires > self.now

    def root(self, b: Bulletin) -> Bulletin:
        while b.id in self.parent:
            b = self.parent[b.id]
        return b

    def chain(self, b: Bulletin) -> list[Bulletin]:
        """The messages this one builds on, oldest first."""
        earlier = []
        while b.id in self.parent:
            b = self.parent[b.id]
            earlier.append(b)
        return earlier[::-1]

    def msg_type(self, b: Bulletin) -> str:
        if b.id not in self.parent:
            return "Alert"
        return "Cancel" if b.cancels else "Update"

    def assessment(self, b: Bulletin) -> Assessment:
        earlier = self.parent.get(b.id)
        base = self.assessment(earlier) if earlier is not None else (URGENT if b.urgent else ORDINARY)
        return Assessment(b.urgency or base.urgency, b.severity or base.severity, b.certainty or base.certainty)

    def url(self, b: Bulletin) -> str:
        return f"{self.config.site_url}cap/{b.id}.xml"

    def files(self) -> dict[str, bytes]:
        """``cap/<id>.xml`` for every message of the feed, and ``cap/index.json`` listing exactly those."""
        out: dict[str, bytes] = {f"cap/{b.id}.xml": cap_xml(self, b) for b in self.messages}
        index = {"alerts": [self.url(b) for b in self.messages]}
        out["cap/index.json"] = json.dumps(index, indent=1).encode()
        return out


def cap_alert(feed: CapFeed, b: Bulletin) -> etree._Element:
    config = feed.config

    def sub(parent: etree._Element, name: str, text: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{NS}}}{name}")
        element.text = text
        return element

    alert = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})  # type: ignore[dict-item]  # lxml: None is the default namespace
    sub(alert, "identifier", identifier(config, b))
    sub(alert, "sender", sender(config))
    sub(alert, "sent", cap_time(b.date, config))
    sub(alert, "status", "Actual")
    sub(alert, "msgType", feed.msg_type(b))
    sub(alert, "scope", "Public")
    earlier = feed.chain(b)
    if earlier:
        sub(alert, "references", " ".join(reference(config, e) for e in earlier))
    info = etree.SubElement(alert, f"{{{NS}}}info")
    sub(info, "language", "it-IT")
    for cap_category in dict.fromkeys(CAP_CATEGORY.get(c, "Other") for c in b.categories):
        sub(info, "category", cap_category)
    label = config.category(b.categories[0])
    sub(info, "event", label.label if label else b.categories[0])
    assessment = feed.assessment(b)
    sub(info, "urgency", assessment.urgency)
    sub(info, "severity", assessment.severity)
    sub(info, "certainty", assessment.certainty)
    sub(info, "effective", cap_time(b.date, config))
    if b.expires:
        sub(info, "expires", cap_time(b.expires, config))
    sub(info, "senderName", config.name)
    sub(info, "headline", b.title)
    sub(info, "description", f"{b.summary}\n\n{plain_text(b.body)}".strip())
    sub(info, "web", config.site_url + b.url_path)
    area = etree.SubElement(info, f"{{{NS}}}area")
    sub(area, "areaDesc", b.area or f"Territorio del {config.name}")
    return alert


def reference(config: TownConfig, b: Bulletin) -> str:
    """CAP's ``sender,identifier,sent`` of an earlier message."""
    return f"{sender(config)},{identifier(config, b)},{cap_time(b.date, config)}"


def cap_xml(feed: CapFeed, b: Bulletin) -> bytes:
    return etree.tostring(cap_alert(feed, b), xml_declaration=True, encoding="UTF-8", pretty_print=True)
