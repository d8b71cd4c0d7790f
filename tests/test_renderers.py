"""Renderers: what a phone shows, within each channel's limits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from site_tools.content import limits
from site_tools.content.config import load_config
from site_tools.content.loading import load_content
from site_tools.devtools.simulator import Simulator, _TelegramHTML
from site_tools.render.channel_post import render_channel_post
from site_tools.render.links import Links
from site_tools.render.telegram import render_telegram, visible_length
from site_tools.render.whatsapp_template import clean_param, render_template, submission

from .conftest import FIXTURE_TOWN

CONFIG = load_config(FIXTURE_TOWN / "mkdocs.yml")
CONTENT = load_content(CONFIG)
LINKS = Links.for_bulletins(CONFIG, CONTENT.bulletins)
ALERT = CONTENT.by_id()["2026-11-21-allerta-arancione-idrogeologica"]


def test_template_parameters_are_clean_and_cut() -> None:
    assert clean_param("Riga uno\nRiga\tdue     fine  ", 100) == "Riga uno Riga due fine"
    cut = clean_param("parola " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("…") and "  " not in cut


def test_template_message_matches_the_api_shape() -> None:
    message = render_template(ALERT, CONFIG)
    payload = message.payload("393330000001")
    assert payload["type"] == "template" and payload["to"] == "393330000001"
    assert payload["biz_opaque_callback_data"] == ALERT.id
    body, button = payload["template"]["components"]
    assert [p["parameter_name"] for p in body["parameters"]] == ["titolo", "sintesi"]
    assert body["parameters"][0]["text"].startswith("URGENTE – Allerta arancione")
    assert button["parameters"][0]["text"] == "notizie/2026/11/allerta-arancione-idrogeologica/"
    assert message.url == "https://avvisi.valfiorita.example.it/notizie/2026/11/allerta-arancione-idrogeologica/"
    assert Simulator()._check_payload(payload) is None  # the simulator, faithful to the spec, accepts it


def test_every_demo_bulletin_fits_the_template() -> None:
    sim = Simulator()
    for b in CONTENT.bulletins:
        message = render_template(b, CONFIG)
        assert len(message.text) <= limits.TEMPLATE_BODY_MAX
        assert sim._check_payload(message.payload("393330000001")) is None, b.id


def test_editor_text_with_newlines_still_renders_a_valid_template() -> None:
    messy = replace(ALERT, title="Titolo\ncon\ta capo", summary="Sintesi     con    spazi\n\ne righe " + "x" * 300)
    payload = render_template(messy, CONFIG).payload("393330000001")
    assert Simulator()._check_payload(payload) is None


def test_the_template_to_submit() -> None:
    sub = submission(CONFIG)
    assert sub["category"] == "UTILITY" and sub["language"] == "it"
    assert sub["components"][2]["buttons"][0]["url"] == "https://avvisi.valfiorita.example.it/{{1}}"
    assert len(sub["components"][1]["text"]) <= limits.TEMPLATE_FOOTER_MAX


def test_channel_post_uses_whatsapp_formatting() -> None:
    post = render_channel_post(ALERT, CONFIG, LINKS)
    assert post.startswith("🔴 *URGENTE*\n*Allerta arancione")
    assert "https://avvisi.valfiorita.example.it/notizie/2026/11/allerta-arancione-idrogeologica/" in post
    cancel = CONTENT.by_id()["2026-11-22-sottopasso-via-marconi-riaperto"]
    assert "ANNULLATO" in render_channel_post(cancel, CONFIG, LINKS)
    event = CONTENT.by_id()["2026-11-02-festa-degli-alberi"]
    assert "🗓 _sabato 21 novembre 2026, dalle ore 09:30 alle ore 12:30_" in render_channel_post(event, CONFIG, LINKS)


def parse_telegram(text: str) -> str:
    checker = _TelegramHTML()
    checker.feed(text)
    checker.close()
    checker.verify()
    return checker.visible


def test_telegram_html_is_escaped_and_valid() -> None:
    tricky = replace(
        ALERT,
        title="Via <Roma> & dintorni",
        summary="Prezzi < 5 € & sconti > 10%",
        body="Testo con <b>non chiuso e & e [link](../../iscriviti.md) e **forte**.\n",
    )
    (text,) = render_telegram(tricky, CONFIG, LINKS)
    visible = parse_telegram(text)
    assert "Via <Roma> & dintorni" in visible and "Prezzi < 5 € & sconti > 10%" in visible
    assert '<a href="https://avvisi.valfiorita.example.it/iscriviti/">link</a>' in text
    assert "<b>forte</b>" in text


def test_links_between_bulletins_become_site_urls() -> None:
    b = CONTENT.by_id()["2026-10-30-mercato-settimanale-spostato"]
    (text,) = render_telegram(b, CONFIG, LINKS)
    assert 'href="https://avvisi.valfiorita.example.it/notizie/2026/10/lavori-acquedotto-via-roma/"' in text


def test_long_bulletins_are_split_without_breaking_tags() -> None:
    body = "\n\n".join(f"Paragrafo {i} con **grassetto** e un po' di testo & simboli <>. " * 8 for i in range(60))
    long = replace(ALERT, body=body)
    parts = render_telegram(long, CONFIG, LINKS)
    assert len(parts) > 3
    for part in parts:
        assert visible_length(part) <= limits.TELEGRAM_TEXT_MAX
        parse_telegram(part)  # balanced, only Telegram's tags
    assert "Paragrafo 59" in parts[-1] and "Leggi sul sito" in parts[-1]


@pytest.mark.parametrize("bulletin", CONTENT.bulletins, ids=lambda b: b.id)
def test_every_demo_bulletin_renders_for_telegram(bulletin) -> None:
    for part in render_telegram(bulletin, CONFIG, LINKS):
        parse_telegram(part)
