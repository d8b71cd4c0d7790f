"""The site is built without the store: it cannot know whether a week's digest went. A town that imports its
archive (bulletins from 2019) gets a page for each old week, and a week held over the cost ceiling has one too; the
page said «Il riepilogo inviato venerdì … a chi lo ha scelto», a send that never happened. It now says whose
digest it is and when it was due, not that it was sent."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from site_tools.content.loading import load_content
from site_tools.site.digest_pages import digest_pages
from site_tools.site.model import SiteModel

from .conftest import Town
from .test_digest import config_with_digest, write


def test_an_old_week_page_does_not_say_the_digest_was_sent(town: Town) -> None:
    config = config_with_digest(town)
    write(town, fiera="title: Fiera di primavera\ndate: 2019-03-05 10:00\ncategories: [eventi]\n"
          "event: {start: 2019-03-10 09:00}")  # fmt: skip
    model = SiteModel(config, datetime(2026, 12, 20, tzinfo=ZoneInfo("Europe/Rome")), load_content(config).bulletins)
    page = str(digest_pages(model)["riepiloghi/2019-W10.md"])
    assert "inviato" not in page
    assert "Il riepilogo di venerdì 8 marzo 2019, ore 09:00, per chi ha scelto il riepilogo settimanale" in page
    assert "Fiera di primavera" in page
