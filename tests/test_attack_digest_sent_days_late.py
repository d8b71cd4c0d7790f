"""A digest whose moment passed while the service was down is sent when it comes back, but not days later: the
events it announces as «ahead» may be over, and the next digest follows within days (two digests in two days,
the first stale). The clock leaves a digest not started 24 hours after its moment, and says so; staff may still
send it by hand."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime

import pytest

from site_tools.content.config import load_config
from site_tools.store import Store
from site_tools.store.choices import WEEKLY

from .conftest import Town
from .services import phones, simulator
from .test_digest import BULLETINS, IN, ROME, config_with_digest, send, subscribe, write


def _publish(town: Town, db: str, now: str, capsys: pytest.CaptureFixture[str]) -> str:
    from site_tools.cli.publish import run_publish

    from .test_urgent_first import options

    try:
        run_publish(load_config(town.root / "mkdocs.yml"), options(db_url=db, now_text=now, max_age_days=30))
    except SystemExit as exit:
        assert not exit.code
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_a_digest_more_than_a_day_late_is_not_started_by_the_clock_but_can_be_sent_by_hand(
    town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config_with_digest(town)
    write(town, **{k: BULLETINS[k] for k in IN})
    weekly = phones(2, 100)
    subscribe(sqlite_url, {WEEKLY: weekly})
    with closing(Store.open(sqlite_url)) as store:
        assert store.ledger.adopt([], ["whatsapp_list"], "test", at=datetime(2026, 12, 1, tzinfo=ROME).timestamp())
    with simulator("--latency", "0.01") as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        # Due Friday 11 December at 9:00; the service comes back on Wednesday 16 December.
        said = _publish(town, sqlite_url, "2026-12-16 10:00", capsys)
        assert not [m for m in sim.messages()["whatsapp"] if m["callback"] == "riepilogo-2026-W50"]
        assert "Riepilogo 2026-W50" in said and "non partito" in said
        assert "site-tools digest send --week 2026-W50" in said
        by_hand = send(town, sqlite_url, sim.env())
        assert "2 inviati" in by_hand.output, by_hand.output
        assert sorted(m["to"] for m in sim.messages()["whatsapp"]) == sorted(weekly)


def test_a_digest_a_few_hours_late_still_goes(
    town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config_with_digest(town)
    write(town, **{k: BULLETINS[k] for k in IN})
    weekly = phones(2, 100)
    subscribe(sqlite_url, {WEEKLY: weekly})
    with closing(Store.open(sqlite_url)) as store:
        assert store.ledger.adopt([], ["whatsapp_list"], "test", at=datetime(2026, 12, 1, tzinfo=ROME).timestamp())
    with simulator("--latency", "0.01") as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        said = _publish(town, sqlite_url, "2026-12-12 08:00", capsys)  # 23 hours late
        assert "Riepilogo 2026-W50: 2 inviati." in said
        assert sorted(m["to"] for m in sim.messages()["whatsapp"]) == sorted(weekly)
