"""Bulletin → a WhatsApp Channel post (WhatsApp formatting).

One post for all followers; it is free, so it carries the details a phone
needs (when, where) and the link to the full text.
"""

from __future__ import annotations

from site_tools.content import limits
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.content.dates import format_until
from site_tools.render.common import event_when, status_labels
from site_tools.render.links import Links


def render_channel_post(bulletin: Bulletin, config: TownConfig, links: Links | None = None) -> str:
    links = links or Links(config)
    lines = [f"{emoji} *{label}*" for emoji, label in status_labels(bulletin)]
    lines.append(f"*{_plain(bulletin.title)}*")
    lines.append("")
    lines.append(_plain(bulletin.summary))
    details = []
    if bulletin.event:
        details.append(f"🗓 _{event_when(bulletin.event, config.timezone)}_")
        if bulletin.event.location:
            details.append(f"📍 {_plain(bulletin.event.location)}")
    if bulletin.area:
        details.append(f"📍 Zona: {_plain(bulletin.area)}")
    if bulletin.expires:
        details.append(f"⏳ Valido fino a {format_until(bulletin.expires, config.timezone)}")
    if details:
        lines.append("")
        lines.extend(details)
    lines.append("")
    lines.append(f"👉 {links.page(bulletin)}")
    text = "\n".join(lines)
    return text[: limits.WHATSAPP_TEXT_MAX]


def _plain(text: str) -> str:
    """Editors' text must not toggle WhatsApp formatting by accident."""
    return " ".join(text.split())
