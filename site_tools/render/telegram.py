"""Bulletin → Telegram HTML messages (split when longer than 4,096 characters)."""

from __future__ import annotations

import html
import re

from site_tools.content import limits
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.markdown.text import TELEGRAM, render_markdown
from site_tools.render.common import event_when, status_labels
from site_tools.render.links import Links

_TAG = re.compile(r"<[^>]+>")


def visible_length(fragment: str) -> int:
    """Length as Telegram counts it after parsing entities (UTF-16 code units)."""
    text = html.unescape(_TAG.sub("", fragment))
    return len(text.encode("utf-16-le")) // 2


def render_telegram(
    bulletin: Bulletin, config: TownConfig, links: Links | None = None, limit: int = limits.TELEGRAM_TEXT_MAX
) -> list[str]:
    links = links or Links(config)
    esc = TELEGRAM.escape
    head = [f"{emoji} <b>{label}</b>" for emoji, label in status_labels(bulletin)]
    head.append(f"<b>{esc(bulletin.title)}</b>")
    blocks = ["\n".join(head), f"<i>{esc(bulletin.summary)}</i>"]
    if bulletin.event:
        when = event_when(bulletin.event, config.timezone)
        where = f"\n📍 {esc(bulletin.event.location)}" if bulletin.event.location else ""
        blocks.append(f"🗓 {esc(when)}{where}")
    if bulletin.area:
        blocks.append(f"📍 Zona: {esc(bulletin.area)}")
    blocks.extend(render_markdown(bulletin.body, TELEGRAM, lambda href: links.absolute(href, bulletin)))
    url = links.page(bulletin)
    blocks.append(f'👉 <a href="{html.escape(url, quote=True)}">Leggi sul sito del Comune</a>')
    return pack(blocks, limit)


def pack(blocks: list[str], limit: int) -> list[str]:
    """Group blocks into messages of at most ``limit`` visible characters.

    Blocks are whole paragraphs or lists, so no tag is ever cut; a single
    block longer than the limit is cut at word boundaries as plain text.
    """
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for block in blocks:
        for piece in _fit(block, limit):
            length = visible_length(piece) + (2 if current else 0)
            if current and size + length > limit:
                messages.append("\n\n".join(current))
                current, size = [], 0
                length -= 2
            current.append(piece)
            size += length
    if current:
        messages.append("\n\n".join(current))
    return messages


def _fit(block: str, limit: int) -> list[str]:
    if visible_length(block) <= limit:
        return [block]
    words = html.unescape(_TAG.sub("", block)).split(" ")
    pieces, line = [], ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if visible_length(html.escape(candidate, quote=False)) > limit and line:
            pieces.append(html.escape(line, quote=False))
            line = word
        else:
            line = candidate
    if line:
        pieces.append(html.escape(line[:limit], quote=False))
    return pieces
