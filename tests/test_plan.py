"""Planning as a unit: what goes where now, on an in-memory store, with no process and no network."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from site_tools.content.loading import load_content
from site_tools.delivery.plan import channels_for, make_plan
from site_tools.store import Store

from .conftest import Town, good

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Rome"))


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store.open("sqlite:///:memory:")
    yield store
    store.close()


def bulletin(town: Town, id: str, when: datetime = NOW - timedelta(hours=1), **extra: str) -> None:
    fm = good(id).replace("date: 2026-11-20 08:30", f"date: {when:%Y-%m-%d %H:%M}")
    town.write(f"{when:%Y-%m-%d}-{id}.md", fm + "".join(f"{k}: {v}\n" for k, v in extra.items()))


def plan_of(town: Town, store: Store, **options: object):  # type: ignore[no-untyped-def]
    return make_plan(load_content(town.config), store, NOW, **options)  # type: ignore[arg-type]


def adopted(store: Store) -> Store:
    store.ledger.mark_historical(["gia-pubblicato"], ["telegram"])
    return store


def test_a_store_without_history_marks_what_is_there_and_sends_nothing(town: Town, store: Store) -> None:
    bulletin(town, "vecchio-avviso")
    plan = plan_of(town, store)
    assert [b.id for b in plan.historical] == ["vecchio-avviso"] and plan.items == []


def test_what_changed_in_the_push_is_sent_even_on_the_first_run(town: Town, store: Store) -> None:
    bulletin(town, "vecchio-avviso")
    bulletin(town, "nuovo-avviso")
    plan = plan_of(town, store, new_ids={"nuovo-avviso"})
    assert [b.id for b in plan.historical] == ["vecchio-avviso"]
    assert [i.bulletin.id for i in plan.items] == ["nuovo-avviso"]


def test_urgent_first_then_by_date(town: Town, store: Store) -> None:
    bulletin(town, "primo-normale", NOW - timedelta(hours=3))
    bulletin(town, "secondo-normale", NOW - timedelta(hours=2))
    bulletin(town, "urgente-dopo", NOW - timedelta(hours=1), priority="urgent")
    plan = plan_of(town, adopted(store))
    assert [i.bulletin.id for i in plan.items] == ["urgente-dopo", "primo-normale", "secondo-normale"]


def test_one_post_channels_go_before_the_long_fan_out(town: Town, store: Store) -> None:
    bulletin(town, "strada-chiusa")
    (item,) = plan_of(town, adopted(store)).items
    assert item.channels == ("telegram", "whatsapp_channel", "whatsapp_list")


def test_routing_by_category_and_urgent_goes_everywhere(town: Town, store: Store) -> None:
    bulletin(town, "concerto", categories="[eventi]")
    bulletin(town, "concerto-annullato-pioggia", categories="[eventi]", priority="urgent")
    config = town.config
    content = load_content(config)
    by_id = content.by_id()
    assert "whatsapp_list" not in channels_for(by_id["concerto"], config)  # events stay off the paid list
    assert "whatsapp_list" in channels_for(by_id["concerto-annullato-pioggia"], config)


def test_future_bulletins_wait_and_old_ones_are_refused_with_a_reason(town: Town, store: Store) -> None:
    bulletin(town, "domani", NOW + timedelta(days=1))
    bulletin(town, "dieci-giorni-fa", NOW - timedelta(days=10))
    plan = plan_of(town, adopted(store))
    assert [b.id for b in plan.waiting] == ["domani"] and plan.items == []
    assert [(b.id, "giorni fa" in why) for b, why in plan.refused] == [("dieci-giorni-fa", True)]
    forced = plan_of(town, store, only="dieci-giorni-fa", force=True)
    assert [i.bulletin.id for i in forced.items] == ["dieci-giorni-fa"]


def test_drafts_and_expired_bulletins_are_not_sent(town: Town, store: Store) -> None:
    bulletin(town, "bozza", draft="true")
    bulletin(town, "scaduto", NOW - timedelta(days=1), expires=f"{NOW - timedelta(hours=1):%Y-%m-%d %H:%M}")
    assert plan_of(town, adopted(store)).items == []


def test_finished_channels_are_not_planned_again(town: Town, store: Store) -> None:
    bulletin(town, "strada-chiusa")
    adopted(store).ledger.claim_publication("strada-chiusa", "telegram", "api", "normal", shared=False)
    store.ledger.finish_publication("strada-chiusa", "telegram", "done")
    (item,) = plan_of(town, store).items
    assert "telegram" not in item.channels


def test_an_interrupted_one_post_channel_is_uncertain_until_an_editor_says_so(town: Town, store: Store) -> None:
    bulletin(town, "strada-chiusa")
    adopted(store).ledger.claim_publication("strada-chiusa", "telegram", "api", "normal", shared=False)
    plan = plan_of(town, store)  # the run that claimed it died: state 'sending'
    assert [(b.id, c) for b, c in plan.uncertain] == [("strada-chiusa", "telegram")]
    assert "telegram" not in plan.items[0].channels
    checked = plan_of(town, store, only="strada-chiusa", resend_uncertain=True)
    assert "telegram" in checked.items[0].channels and not checked.uncertain


def test_an_interrupted_fan_out_simply_resumes(town: Town, store: Store) -> None:
    bulletin(town, "strada-chiusa")
    adopted(store).ledger.claim_publication("strada-chiusa", "whatsapp_list", "api", "normal", shared=True)
    plan = plan_of(town, store)
    assert not plan.uncertain and "whatsapp_list" in plan.items[0].channels
