"""The counter as staff and citizens meet it: a refused reply keeps its text, one unit of length on both
sides, a «closed» notice after hours even after a morning's answer, and «ad Anna»."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from site_tools.content import limits
from site_tools.formatting import to_whom
from site_tools.service.counter.template import ANSWER_MAX
from site_tools.service.events import process_event
from site_tools.store import Store
from site_tools.store.conversations import Inbound

from .services import phones
from .test_counter_web import CONFIG, Desk, csrf, field, make_desk


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    yield from make_desk(f"sqlite:///{tmp_path / 'store.db'}")


def open_conversation(desk: Desk, phone: str, hours_ago: float = 1) -> tuple[int, str]:
    """A citizen's question, the staff member logged in on its page: (conversation id, the page's HTML)."""
    asked = time.time() - hours_ago * 3600
    cid, _ = desk.store.conversations.record_inbound(phone, Inbound(f"w.{phone}", "text", "Una domanda", asked))
    desk.login()
    return cid, desk.client.get(f"/sportello/conversazioni/{cid}").text


def reply_box(html: str) -> str:
    start = html.index('name="testo"')
    return html[html.index(">", start) + 1 : html.index("</textarea>", start)]


# -- the length of a reply, and what happens to a refused one ----------------------------------------------------


def test_a_reply_refused_for_length_stays_in_the_box(desk: Desk) -> None:
    phone = phones(1, 1500)[0]
    cid, page = open_conversation(desk, phone)
    text = "Buongiorno, " + "la pratica è in lavorazione. " * 200  # 5,612 characters
    form = {"csrf": csrf(page), "invio": field(page, "invio"), "testo": text}
    refused = desk.client.post(f"/sportello/conversazioni/{cid}/rispondi", data=form)
    assert refused.status_code == 422
    assert f"la risposta ha {len(text.strip()):,} caratteri".replace(",", ".") in refused.text
    assert "al massimo 4.096" in refused.text
    assert reply_box(refused.text) == text.replace("'", "&#39;")  # what was typed, unchanged
    assert desk.outbox(phone) == []


def test_a_template_answer_refused_for_length_stays_in_the_box(desk: Desk) -> None:
    phone = phones(1, 1501)[0]
    cid, page = open_conversation(desk, phone, hours_ago=30)  # the 24-hour window is closed
    text = "parola " * 200
    form = {"csrf": csrf(page), "invio": field(page, "invio"), "testo": text}
    refused = desk.client.post(f"/sportello/conversazioni/{cid}/modello", data=form)
    assert refused.status_code == 422 and f"al massimo {ANSWER_MAX} caratteri" in refused.text
    assert reply_box(refused.text) == text
    assert desk.outbox(phone) == []


def test_emoji_count_one_character_each_as_on_whatsapp(desk: Desk) -> None:
    phone = phones(1, 1502)[0]
    cid, page = open_conversation(desk, phone)
    over = {"csrf": csrf(page), "invio": field(page, "invio"), "testo": "🙂" * (limits.WHATSAPP_TEXT_MAX + 1)}
    refused = desk.client.post(f"/sportello/conversazioni/{cid}/rispondi", data=over)
    assert "la risposta ha 4.097 caratteri" in refused.text and desk.outbox(phone) == []
    exact = {
        "csrf": csrf(refused.text),
        "invio": field(refused.text, "invio"),
        "testo": "🙂" * limits.WHATSAPP_TEXT_MAX,
    }
    sent = desk.client.post(f"/sportello/conversazioni/{cid}/rispondi", data=exact)
    assert "Risposta in invio" in sent.text
    ((body, _),) = desk.outbox(phone)
    assert body == "🙂" * 4096


def test_the_reply_box_carries_the_limit_for_the_browser_not_maxlength(desk: Desk) -> None:
    _, page = open_conversation(desk, phones(1, 1503)[0])
    assert 'data-max="4096"' in page and "maxlength" not in page  # maxlength counts UTF-16 units
    assert 'src="/sportello/static/sportello.js"' in page
    script = desk.client.get("/sportello/static/sportello.js")
    assert script.status_code == 200 and "Array.from" in script.text
    assert "script-src 'self'" in script.headers["content-security-policy"]


# -- who a conversation is assigned to ---------------------------------------------------------------------------


def test_assigned_to_a_name_that_starts_with_a_vowel_reads_ad(desk: Desk) -> None:
    cid, page = open_conversation(desk, phones(1, 1504)[0])
    anna = desk.store.staff.by_username("anna")
    mario = desk.store.staff.by_username("mario")
    to_anna = desk.client.post(f"/sportello/conversazioni/{cid}/assegna", data={"csrf": csrf(page), "a": anna.id})
    assert "Assegnata ad Anna Verdi" in to_anna.text and "a Anna" not in to_anna.text
    to_mario = desk.client.post(f"/sportello/conversazioni/{cid}/assegna", data={"csrf": csrf(page), "a": mario.id})
    assert "Assegnata a Mario Bianchi" in to_mario.text
    assert "ha assegnato ad anna" in to_mario.text and "ha assegnato a mario" in to_mario.text  # the history
    desk.client.post(f"/sportello/conversazioni/{cid}/assegna", data={"csrf": csrf(page), "a": anna.id})
    assert "Assegnata ad Anna Verdi" in desk.client.get("/sportello/").text  # the list of conversations


def test_the_preposition_before_a_name() -> None:
    assert to_whom("Anna Verdi") == "ad Anna Verdi"
    assert to_whom("Elena") == "ad Elena"
    assert to_whom("Mario") == "a Mario"
    assert to_whom("nessuno") == "a nessuno"


# -- automatic answers: one a day while open, one per closed stretch ---------------------------------------------


def _write(store: Store, phone: str, text: str, at: datetime, seq: list[int]) -> None:
    seq.append(len(seq))
    message = {"from": phone, "id": f"wamid.auto{len(seq)}", "type": "text", "text": {"body": text}}
    message["timestamp"] = str(int(at.timestamp()))
    body: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"messages": [message]}}]}],
    }
    outcome = process_event(store, CONFIG, json.dumps(body), now=at)
    assert not outcome.errors, outcome.errors


def test_a_citizen_answered_in_the_morning_is_told_after_hours_that_the_office_is_closed(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    phone, seq = phones(1, 1505)[0], []
    tz = CONFIG.timezone

    def answers() -> list[str]:
        return [r[0] for r in store.db.all("SELECT body FROM outbox WHERE phone = ? ORDER BY id", (phone,))]

    # Monday 7 December 2026: the office is open 09:00-13:00.
    _write(store, phone, "Buongiorno, quando si paga la TARI?", datetime(2026, 12, 7, 10, 0, tzinfo=tz), seq)
    _write(store, phone, "Grazie", datetime(2026, 12, 7, 11, 0, tzinfo=tz), seq)
    assert len(answers()) == 1 and "ti risponderà qui appena possibile" in answers()[0]
    _write(store, phone, "Scusate, ancora una cosa", datetime(2026, 12, 7, 20, 0, tzinfo=tz), seq)
    assert len(answers()) == 2
    assert "Ora gli uffici sono chiusi" in answers()[1] and "domani dalle 09:00" in answers()[1]
    # The same closed stretch, before and after midnight: told once.
    _write(store, phone, "Ci siete?", datetime(2026, 12, 7, 23, 0, tzinfo=tz), seq)
    _write(store, phone, "Buongiorno", datetime(2026, 12, 8, 7, 30, tzinfo=tz), seq)
    assert len(answers()) == 2
    # Tuesday, open again: the day's answer.
    _write(store, phone, "Mi rispondete?", datetime(2026, 12, 8, 9, 30, tzinfo=tz), seq)
    assert len(answers()) == 3 and "ti risponderà qui appena possibile" in answers()[2]
    store.close()
