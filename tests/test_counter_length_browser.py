"""In Chromium: the reply box counts a reply's length as the server does (code points), so an emoji counts one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from site_tools.content import limits
from site_tools.service.app import Service
from site_tools.service.counter.auth import hash_password
from site_tools.settings import Settings
from site_tools.site.local_editor import free_port
from site_tools.store import Store
from site_tools.store.conversations import Inbound

from .services import phones, wait_for
from .test_counter_e2e import log_in
from .test_counter_web import CONFIG, PASSWORD, SECRET


class Desk:
    """The real service app on a local port, and its store."""

    def __init__(self, tmp_path: Path):
        url = f"sqlite:///{tmp_path / 'store.db'}"
        self.store = Store.open(url)
        self.store.staff.add("mario", "Mario Bianchi", hash_password(PASSWORD))
        settings = Settings(app_secret=SECRET, verify_token="v", session_secret="s" * 40)
        port = free_port()
        app = Service(CONFIG, settings, lambda: Store.open(url)).app()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=20)
        self.url = f"http://localhost:{port}/sportello"  # a secure context: the session cookie is Secure

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.store.close()


@pytest.fixture
def counter(tmp_path: Path) -> Iterator[Desk]:
    desk = Desk(tmp_path)
    yield desk
    desk.stop()


def test_the_reply_box_accepts_4096_emoji_and_refuses_one_more(counter: Desk, browser: Any) -> None:
    phone = phones(1, 1600)[0]
    cid, _ = counter.store.conversations.record_inbound(phone, Inbound("w.b", "text", "Una domanda", time.time()))
    context = browser.new_context(locale="it-IT")  # the run's one Chromium; the page's own CSP applies
    page = context.new_page()
    log_in(page, counter, PASSWORD)  # type: ignore[arg-type]
    page.get_by_role("heading", name="Conversazioni").wait_for()
    page.goto(f"{counter.url}/conversazioni/{cid}")
    box = page.get_by_label("Risposta (testo libero", exact=False)
    hint = page.locator("#testo-conto")

    box.fill("🙂" * limits.WHATSAPP_TEXT_MAX)  # 8,192 UTF-16 units: maxlength would have refused it
    assert hint.inner_text() == "4.096 caratteri su 4.096."
    assert box.evaluate("b => b.validity.valid") is True

    box.fill("🙂" * (limits.WHATSAPP_TEXT_MAX + 1))
    assert hint.inner_text() == "La risposta ha 4.097 caratteri: al massimo 4.096. Togline 1."
    assert box.evaluate("b => b.validity.valid") is False
    page.get_by_role("button", name="Invia risposta").click()  # the browser holds the form back
    assert page.url.endswith(f"/conversazioni/{cid}") and box.input_value() == "🙂" * 4097

    box.fill("🙂" * limits.WHATSAPP_TEXT_MAX)
    page.get_by_role("button", name="Invia risposta").click()
    assert "Risposta in invio" in page.locator("main").inner_text()  # the server agrees: one emoji, one character
    context.close()
