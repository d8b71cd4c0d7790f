"""Bulletins → RSS 2.0 (feedgen): all bulletins, and one feed per category."""

from __future__ import annotations

import html
from collections.abc import Iterable

from feedgen.feed import FeedGenerator

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig

FEED_SIZE = 50


def rss(config: TownConfig, bulletins: Iterable[Bulletin], title: str, self_path: str, page_path: str = "") -> bytes:
    fg = FeedGenerator()
    fg.title(title)
    fg.link(href=config.site_url + self_path, rel="self")
    fg.link(href=config.site_url + page_path, rel="alternate")  # RSS's <link>: feedgen uses the last one
    fg.description(f"Avvisi e notizie del {config.name}")
    fg.language("it")
    latest = sorted(bulletins, key=lambda b: b.date, reverse=True)[:FEED_SIZE]
    for b in reversed(latest):  # feedgen prepends: add oldest first
        entry = fg.add_entry()
        entry.id(f"{config.site_url}{b.url_path}")
        entry.guid(f"{config.site_url}{b.url_path}", permalink=True)
        entry.title(("URGENTE – " if b.urgent else "") + b.title)
        entry.link(href=config.site_url + b.url_path)
        entry.description(html.escape(b.summary, quote=False))  # <description> is HTML; a summary is text
        entry.published(b.date)
        for slug in b.categories:
            category = config.category(slug)
            entry.category(term=slug, label=category.label if category else slug)
    if latest:
        fg.lastBuildDate(latest[0].date)
    return fg.rss_str(pretty=True)
