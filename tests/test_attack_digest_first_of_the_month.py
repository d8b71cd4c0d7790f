"""The first of the month is «1º» in Italian, as everywhere else on the site (content/dates.py): the digest's lines
and its page titles wrote «venerdì 1 gennaio» and «dal 1 al 7 febbraio»."""

from __future__ import annotations

from site_tools.content.loading import load_content
from site_tools.render import digest as render

from .conftest import Town
from .test_digest import config_with_digest, write


def test_the_first_of_the_month_is_written_1o(town: Town) -> None:
    config = config_with_digest(town)
    assert config.digest is not None
    write(town, capodanno="title: Concerto di Capodanno\ndate: 2026-12-08 10:00\ncategories: [eventi]\n"
          "event: {start: 2027-01-01 17:00}")  # fmt: skip
    week = render.week_by_key("2026-W50", config, config.digest)
    assert week is not None
    content = render.select(load_content(config).bulletins, week, config.digest)
    assert render.line(content.items[0], config) == "Concerto di Capodanno – venerdì 1º gennaio"
    february = render.week_by_key("2027-W05", config, config.digest)  # Monday 1 to Sunday 7 February 2027
    march = render.week_by_key("2026-W09", config, config.digest)  # Monday 23 February to Sunday 1 March 2026
    assert february is not None and march is not None
    assert render.title(february) == "Riepilogo della settimana dal 1º al 7 febbraio 2027"
    assert render.title(march) == "Riepilogo della settimana dal 23 febbraio al 1º marzo 2026"


def test_the_archive_says_the_hour_as_italian_does(town: Town) -> None:
    """«alle 1:00» is not Italian («all'una»): «alle ore 1:00» is, for every hour."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from site_tools.site.digest_pages import digest_pages
    from site_tools.site.model import SiteModel

    config = config_with_digest(town, "    digest: {weekday: domenica, hour: 1}\n")
    model = SiteModel(config, datetime(2026, 12, 20, tzinfo=ZoneInfo("Europe/Rome")), load_content(config).bulletins)
    assert "Ogni domenica alle ore 1:00 chi ha scelto il riepilogo settimanale" in str(
        digest_pages(model)["riepiloghi/index.md"]
    )
