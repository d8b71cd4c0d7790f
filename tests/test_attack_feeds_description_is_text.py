"""An RSS 2.0 ``<description>`` is HTML (entity-encoded): a summary or a digest line is plain text, so what the
editor wrote («Sagra <Pro Loco> & amici», «temperature < 0») must reach a feed reader as written, not as markup a
reader strips (or runs). Parsed with feedparser, as a reader does."""

from __future__ import annotations

import html

import feedparser

from site_tools.content.loading import load_content
from site_tools.render import digest as render
from site_tools.render.rss import rss

from .conftest import Town
from .test_digest import config_with_digest, write

HOSTILE = "Sagra <Pro Loco> & amici <img src=x onerror=alert(1)>"


def test_the_digest_feed_shows_a_hostile_title_as_written(town: Town) -> None:
    config = config_with_digest(town)
    write(town, sagra=f'title: "{HOSTILE}"\ndate: 2026-12-08 10:00\ncategories: [eventi]\n'
          "event: {start: 2026-12-12 15:00}")  # fmt: skip
    assert config.digest is not None
    week = render.week_by_key("2026-W50", config, config.digest)
    assert week is not None
    content = render.select(load_content(config).bulletins, week, config.digest)
    (entry,) = feedparser.parse(render.feed(config, [content])).entries
    assert html.unescape(entry.summary) == f"{HOSTILE} – sabato 12 dicembre"


def test_the_bulletin_feed_shows_a_summary_with_angle_brackets_as_written(town: Town) -> None:
    summary = "Temperature < 0 gradi stanotte: <strada> ghiacciata & scuole chiuse."
    town.write(
        "2026-12-08-gelo.md",
        f'id: gelo\ntitle: Gelo sulle strade\ndate: 2026-12-08 10:00\ncategories: [viabilita]\nsummary: "{summary}"',
    )
    config = town.config
    (entry,) = feedparser.parse(rss(config, load_content(config).bulletins, "Avvisi", "feed.xml")).entries
    assert html.unescape(entry.summary) == summary
