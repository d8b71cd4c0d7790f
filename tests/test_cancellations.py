"""A bulletin that cancels another goes only where that one went: «ANNULLATO» about a bulletin a citizen never
received would only confuse. A cancellation of a bulletin sent nowhere is held and reported to the editors."""

from __future__ import annotations

import pytest

from site_tools.cli.publish import run_publish

from .conftest import Town
from .test_parse_cache import URGENT, git
from .test_urgent_first import adopted, options

#: A village fair (events: Telegram and the WhatsApp Channel, not the paid list), and its urgent cancellation.
FAIR = """
id: sagra
title: Sagra della castagna
date: 2026-11-23 10:00
categories: [eventi]
summary: Domenica in piazza la sagra della castagna, con stand e musica.
"""
CANCEL = URGENT.replace("id: allerta-rossa", "id: sagra-annullata").replace("Allerta rossa", "Sagra annullata")


def publish(town: Town, url: str) -> int:
    git(town.root, "add", "-A")
    git(town.root, "commit", "-qm", "push")
    try:
        run_publish(town.config, options(db_url=url))
    except SystemExit as exit:
        return int(exit.code or 0)
    return 0


def test_the_cancellation_of_a_bulletin_refused_and_never_sent_is_held_and_reported(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with adopted(demo_town, sqlite_url, monkeypatch, 3) as sim:
        accepted = sim.stats().get("accepted", 0)
        demo_town.write("2026-11-23-sagra.md", FAIR + "type: nonesiste\n")
        demo_town.write("2026-11-23-sagra-annullata.md", CANCEL + "cancels: sagra\n")
        capsys.readouterr()
        assert publish(demo_town, sqlite_url) == 1
        assert not any("ANNULLATO" in str(m) for m in sim.messages()["telegram"])
        assert sim.stats().get("accepted", 0) == accepted
        err = capsys.readouterr().err
        assert "2026-11-23-sagra-annullata.md:8: [cancels] annulla l'avviso «sagra», che non è mai stato inviato" in err
        assert "togli «cancels:» e pubblicalo come avviso a sé" in err

        # Once the fair is fixed and sent, its cancellation follows it (there, and only there).
        demo_town.write("2026-11-23-sagra.md", FAIR)
        capsys.readouterr()
        assert publish(demo_town, sqlite_url) == 0
        telegram = [str(m) for m in sim.messages()["telegram"]]
        assert sum("Sagra della castagna" in m for m in telegram) == 1
        assert sum("ANNULLATO" in m and "Sagra annullata" in m for m in telegram) == 1
        assert sim.stats().get("accepted", 0) == accepted


def test_a_cancellation_goes_only_to_the_channels_the_cancelled_bulletin_reached(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fair went to Telegram (and the Channel), not to the WhatsApp list: its urgent cancellation, which
    would otherwise go everywhere, reaches no one on the list."""
    with adopted(demo_town, sqlite_url, monkeypatch, 3) as sim:
        accepted = sim.stats().get("accepted", 0)
        demo_town.write("2026-11-23-sagra.md", FAIR)
        assert publish(demo_town, sqlite_url) == 0
        demo_town.write("2026-11-23-sagra-annullata.md", CANCEL + "cancels: sagra\n")
        assert publish(demo_town, sqlite_url) == 0
        assert sum("ANNULLATO" in str(m) for m in sim.messages()["telegram"]) == 1
        assert sim.stats().get("accepted", 0) == accepted


def test_a_cancellation_of_a_bulletin_sent_everywhere_goes_everywhere(
    demo_town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with adopted(demo_town, sqlite_url, monkeypatch, 3) as sim:
        demo_town.write("2026-11-23-strada.md", FAIR.replace("id: sagra", "id: strada").replace("eventi", "viabilita"))
        assert publish(demo_town, sqlite_url) == 0
        accepted = sim.stats().get("accepted", 0)
        demo_town.write("2026-11-23-sagra-annullata.md", CANCEL + "cancels: strada\n")
        assert publish(demo_town, sqlite_url) == 0
        assert sum("ANNULLATO" in str(m) for m in sim.messages()["telegram"]) == 1
        assert sim.stats().get("accepted", 0) == accepted + 3
