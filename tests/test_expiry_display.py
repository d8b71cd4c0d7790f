"""An expiry written as a date alone is shown as that day, on the site and in the Channel post."""

from __future__ import annotations

from datetime import datetime

import pytest

from site_tools.content.loading import load_content
from site_tools.render.channel_post import render_channel_post
from site_tools.site.bulletin_page import page_markdown
from site_tools.site.model import SiteModel

from .conftest import Town, good


def _shown(town: Town, expires: str, now: datetime | None = None) -> tuple[str, str]:
    town.write("2026-11-20-chiusura-via-roma.md", good(expires=expires))
    content = load_content(town.config)
    assert not content.problems, content.problems
    (bulletin,) = content.bulletins
    config = town.config
    model = SiteModel(config, now or datetime(2026, 11, 23, 12, 0, tzinfo=config.timezone), content.bulletins)
    return page_markdown(model, bulletin, "Testo."), render_channel_post(bulletin, config)


@pytest.mark.parametrize("written", ["2026-12-16", "'2026-12-16'", "16/12/2026"])
def test_a_date_alone_is_shown_as_the_day_the_editor_wrote(town: Town, written: str) -> None:
    page, post = _shown(town, written)
    assert "<strong>Valido fino a:</strong> mercoledì 16 dicembre 2026</li>" in page
    assert "⏳ Valido fino a mercoledì 16 dicembre 2026\n" in post
    assert "17 dicembre" not in page + post


def test_an_expiry_with_a_time_keeps_its_hour(town: Town) -> None:
    page, post = _shown(town, "2026-12-16 12:00")
    assert "<strong>Valido fino a:</strong> mercoledì 16 dicembre 2026, ore 12:00</li>" in page
    assert "⏳ Valido fino a mercoledì 16 dicembre 2026, ore 12:00\n" in post


def test_an_expired_bulletin_names_its_last_day(town: Town) -> None:
    config = town.config
    page, _ = _shown(town, "2026-12-16", datetime(2026, 12, 17, 0, 0, tzinfo=config.timezone))
    assert "<strong>Scaduto:</strong> mercoledì 16 dicembre 2026</li>" in page


def test_the_last_day_before_the_clocks_go_forward_is_the_day_written(town: Town) -> None:
    page, post = _shown(town, "2027-03-27")  # the night of 27-28 March 2027 has one hour less in Rome
    assert "⏳ Valido fino a sabato 27 marzo 2027\n" in post
    assert "sabato 27 marzo 2027</li>" in page


def test_publish_names_the_last_day_of_an_expired_bulletin_it_refuses(town: Town) -> None:
    from site_tools.delivery.plan import make_plan
    from site_tools.store import Store

    written = good("2026-12-15-avviso", expires="2026-12-16").replace("2026-11-20 08:30", "2026-12-15 08:30")
    town.write("2026-12-15-avviso.md", written)
    store = Store.open("sqlite:///:memory:")
    store.ledger.mark_historical(["gia-pubblicato"], ["telegram"])  # an adopted store: new bulletins are sent
    config = town.config
    plan = make_plan(load_content(config), store, datetime(2026, 12, 17, 9, 0, tzinfo=config.timezone))
    store.close()
    ((_, why),) = plan.refused
    assert why == "è già scaduto: valeva fino a mercoledì 16 dicembre 2026 (campo «expires»)"
