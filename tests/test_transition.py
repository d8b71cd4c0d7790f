"""``extra.town.transition``: the list's last weeks announce the Channel and the end date (the template variant)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from site_tools.channels.whatsapp_list import WhatsAppListChannel
from site_tools.content import limits
from site_tools.content.config import Transition, load_config
from site_tools.content.loading import load_content
from site_tools.content.problems import InvalidContent
from site_tools.devtools.simulator import Simulator
from site_tools.render.links import Links
from site_tools.render.whatsapp_template import render_template
from site_tools.service.meta_templates import project_templates

from .conftest import FIXTURE_TOWN, Town

CONFIG = load_config(FIXTURE_TOWN / "mkdocs.yml")
CONTENT = load_content(CONFIG)
ALERT = CONTENT.by_id()["2026-11-21-allerta-arancione-idrogeologica"]
PLANNED = replace(CONFIG, transition=Transition.model_validate({"from": date(2027, 1, 10), "until": date(2027, 2, 10)}))
CHANNEL = "https://whatsapp.com/channel/0029VaFintoCanaleValfiorita0"


@pytest.mark.parametrize("day", [date(2027, 1, 10), date(2027, 1, 25), date(2027, 2, 10)])
def test_inside_the_period_the_message_announces_the_end_and_the_channel(day: date) -> None:
    message = render_template(ALERT, PLANNED, day)
    payload = message.payload("393330000001")
    assert payload["template"]["name"] == "avviso_comunale_transizione"
    (body, button) = payload["template"]["components"]
    assert {p["parameter_name"]: p["text"] for p in body["parameters"]}["fine"] == "10 febbraio 2027"
    assert button["parameters"][0]["text"] == ALERT.url_path  # the Channel's button is static, in the template
    assert message.text.endswith("La lista finisce il 10 febbraio 2027: segui il Canale del Comune.")
    assert len(message.text) <= limits.TEMPLATE_BODY_MAX
    assert Simulator()._check_payload(payload) is None


@pytest.mark.parametrize("day", [date(2027, 1, 9), date(2027, 2, 11)])
def test_outside_the_period_the_plain_template(day: date) -> None:
    payload = render_template(ALERT, PLANNED, day).payload("393330000001")
    assert payload["template"]["name"] == "avviso_comunale"
    assert [p["parameter_name"] for p in payload["template"]["components"][0]["parameters"]] == ["titolo", "sintesi"]
    assert render_template(ALERT, CONFIG, date(2027, 1, 20)).name == "avviso_comunale"  # no plan: never


def test_every_demo_bulletin_fits_the_variant() -> None:
    sim = Simulator()
    for b in CONTENT.bulletins:
        message = render_template(b, PLANNED, date(2027, 1, 20))
        assert len(message.text) <= limits.TEMPLATE_BODY_MAX, b.id
        assert sim._check_payload(message.payload("393330000001")) is None, b.id


def test_the_variant_and_the_invitation_are_declared_once_for_submit_and_check() -> None:
    names = [t["name"] for t in project_templates(PLANNED)]
    assert names[:3] == ["avviso_comunale", "avviso_comunale_transizione", "invito_canale"]
    variant = project_templates(PLANNED)[1]
    body, footer, buttons = variant["components"]
    assert "{{fine}}" in body["text"] and body["text"].startswith(
        project_templates(PLANNED)[0]["components"][0]["text"]
    )
    assert [b["url"] for b in buttons["buttons"]][1] == CHANNEL
    assert "avviso_comunale_transizione" not in [t["name"] for t in project_templates(CONFIG)]


def test_the_preview_shows_the_variant_on_its_days(monkeypatch: pytest.MonkeyPatch) -> None:
    from site_tools.settings import current

    monkeypatch.setenv("SITE_TOOLS_NOW", "2027-01-20 09:00")
    channel = WhatsAppListChannel(PLANNED, current())
    rendered = channel.render(ALERT, Links.for_bulletins(PLANNED, CONTENT.bulletins))
    text = "\n".join(rendered.parts)
    assert "La lista finisce il 10 febbraio 2027" in text
    assert f"[Pulsante «Segui il Canale»: {CHANNEL}]" in text
    assert "avviso_comunale_transizione" in rendered.facts


def _with(town: Town, block: str, drop_channel: bool = False) -> Path:
    path = town.root / "mkdocs.yml"
    text = path.read_text(encoding="utf-8")
    if drop_channel:
        text = text.replace(f"    whatsapp_channel: {CHANNEL}\n", "")
    path.write_text(text.replace("    population: 38400\n", f"    population: 38400\n{block}"), encoding="utf-8")
    return path


def test_a_plan_loads_from_mkdocs(town: Town) -> None:
    config = load_config(_with(town, "    transition: {from: 2027-01-10, until: 2027-02-10}\n"))
    assert config.transition is not None and config.transition.until == date(2027, 2, 10)


def test_a_plan_without_the_channel_is_refused_naming_the_field_and_the_fix(town: Town) -> None:
    path = _with(town, "    transition: {from: 2027-01-10, until: 2027-02-10}\n", drop_channel=True)
    with pytest.raises(InvalidContent) as info:
        load_config(path)
    text = str(info.value)
    assert "«transition» annuncia il Canale WhatsApp, ma manca «whatsapp_channel»" in text
    assert "aggiungi «whatsapp_channel:»" in text


def test_an_end_before_the_start_is_refused(town: Town) -> None:
    with pytest.raises(InvalidContent) as info:
        load_config(_with(town, "    transition: {from: 2027-02-10, until: 2027-01-10}\n"))
    assert "extra.town.transition" in str(info.value) and "non viene dopo l'inizio" in str(info.value)


def test_the_preview_of_a_bulletin_scheduled_inside_the_period_shows_the_variant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import datetime

    from site_tools.settings import current

    monkeypatch.setenv("SITE_TOOLS_NOW", "2027-01-05 09:00")  # before the period: sent now, the plain template
    channel = WhatsAppListChannel(PLANNED, current())
    links = Links.for_bulletins(PLANNED, CONTENT.bulletins)
    assert "avviso_comunale_transizione" not in channel.render(ALERT, links).facts
    scheduled = replace(ALERT, date=datetime(2027, 1, 12, 8, 0, tzinfo=PLANNED.timezone))
    assert "«avviso_comunale_transizione»" in channel.render(scheduled, links).facts


@pytest.mark.slow
def test_templates_submit_and_check_cover_the_variant_and_the_invitation(town: Town) -> None:
    from .command import site_tools
    from .services import simulator

    _with(town, "    transition: {from: 2027-01-10, until: 2027-02-10}\n")
    env = {"WHATSAPP_BUSINESS_ACCOUNT_ID": "102290129340398"}
    with simulator("--latency", "0") as sim:
        sim.configure(template_review_seconds=None)
        ran = site_tools("whatsapp", "templates", "--submit", cwd=town.root, env={**sim.env(), **env})
        assert ran.returncode == 0, ran.stderr
        out = ran.stdout.splitlines()
        assert (
            "avviso_comunale_transizione: creato, stato PENDING: Meta lo rivede (di solito minuti, a volte 24 ore)."
            in out
        )
        assert "invito_canale: creato, stato PENDING: Meta lo rivede (di solito minuti, a volte 24 ore)." in out
        assert "avviso_comunale_transizione: PENDING, categoria UTILITY, uguale al progetto." in out
