"""A number in coexistence: the simulator posts Meta's ``history``, ``smb_app_state_sync`` and ``smb_message_echoes``
webhooks (signed, over real HTTP) to the service, which stores them first and then applies them.

What a town checks: a citizen who wrote the keyword in the shared chats is a subscriber (basis «storico», at the
time they wrote it), an OFF written later wins, an opt-out made since is never undone by old chats, the app's
contacts are candidates and never subscribers, what staff write from the phone shows in the counter and neither
unsubscribes anyone nor answers automatically nor costs anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
import uvicorn

from site_tools.devtools.meta_events import change_body, history_chunks, message_echoes, state_sync
from site_tools.service.app import Service as App
from site_tools.service.counter.auth import hash_password
from site_tools.service.events import process_event
from site_tools.settings import Settings
from site_tools.store import Store, consent
from site_tools.store.candidates import NEW, REMOVED
from site_tools.store.conversations import PHONE_APP

from .conftest import Town
from .services import free_port, phones, simulator, steady, wait_for
from .test_coexistence_rate import in_coexistence

DAY = 86400.0
PASSWORD = "cavallo batteria graffetta"
SIM_SECRET = "sim-app-secret"  # the simulator's SimConfig.app_secret: it signs every webhook with it


class Coex:
    """The service served on loopback (the simulator posts its webhooks there), a store for the assertions."""

    def __init__(self, sim: Any, url: str, store: Store):
        self.sim, self.url, self.store = sim, url, store
        self.http = httpx.Client(base_url=url, timeout=30)

    def emit(self, **spec: Any) -> dict[str, Any]:
        """POST /_sim/coexistence, then wait until the service applied every stored event."""
        answer = httpx.post(f"{self.sim.url}/_sim/coexistence", json=spec, timeout=60)
        answer.raise_for_status()
        sent = answer.json()
        assert sent["delivered"] == sent["webhooks"] > 0, sent
        self.settle()
        return sent

    def settle(self) -> None:
        wait_for(lambda: self.http.get("/health").json()["pending_events"] == 0, timeout=30)
        assert self.http.get("/health").json()["failed"] == 0  # nothing parked

    def write(self, phone: str, text: str, wamid: str) -> None:
        """A citizen's message, signed as Meta signs it."""
        message = {"from": phone, "id": wamid, "timestamp": str(int(time.time())), "type": "text",
                   "text": {"body": text}}  # fmt: skip
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                    "metadata": {"phone_number_id": "106540352242922"}, "messages": [message]}}]}],
            }
        ).encode()  # fmt: skip
        signature = "sha256=" + hmac.new(SIM_SECRET.encode(), body, hashlib.sha256).hexdigest()
        r = self.http.post("/webhook", content=body, headers={"X-Hub-Signature-256": signature})
        assert r.status_code == 200
        self.settle()

    def outbox(self, phone: str) -> int:
        return int(self.store.db.scalar("SELECT COUNT(*) FROM outbox WHERE phone = ?", (phone,)))

    def staff_page(self, phone: str) -> str:
        """The conversation's page as staff see it, after logging in (the cookie is Secure: passed by hand)."""
        page = self.http.get("/sportello/accesso")
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
        login = self.http.post("/sportello/accesso", data={"csrf": token, "utente": "mario", "password": PASSWORD},
                               headers={"Cookie": cookie}, follow_redirects=False)  # fmt: skip
        assert login.status_code == 303, login.text[:300]
        session = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
        cid = self.store.db.scalar("SELECT id FROM conversations WHERE phone = ?", (phone,))
        answer = self.http.get(f"/sportello/conversazioni/{cid}", headers={"Cookie": session})
        assert answer.status_code == 200
        return answer.text


@pytest.fixture
def coex(town: Town, sqlite_url: str) -> Iterator[Coex]:
    config = in_coexistence(town).config
    with simulator("--latency", "0") as sim, closing(Store.open(sqlite_url)) as store:
        store.staff.add("mario", "Mario Bianchi", hash_password(PASSWORD))
        settings = Settings.from_env(
            {
                **sim.env(),
                "WHATSAPP_APP_SECRET": SIM_SECRET,
                "WHATSAPP_VERIFY_TOKEN": "v",
                "SITE_TOOLS_SESSION_SECRET": "s" * 40,
            }  # fmt: skip
        )
        app = App(config, settings, lambda: Store.open(sqlite_url))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app.app(), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for(lambda: server.started, timeout=20)
        url = f"http://127.0.0.1:{port}"
        sim.configure(webhook_url=f"{url}/webhook")
        try:
            yield Coex(sim, url, store)
        finally:
            server.should_exit = True
            thread.join(10)


def on(at: float, by: str = "citizen") -> dict[str, Any]:
    return {"text": "valfiorita  on", "at": at, "by": by}


def said(text: str, at: float, by: str = "citizen") -> dict[str, Any]:
    return {"text": text, "at": at, "by": by}


# -- history ---------------------------------------------------------------------------------------------------
def test_the_keyword_in_the_shared_chats_makes_a_subscriber_and_a_later_off_wins(coex: Coex) -> None:
    now = time.time()
    a, b, c, d, e = phones(5, 700)
    threads = [
        {"citizen": a, "messages": [said("Buongiorno, come mi iscrivo?", now - 12 * DAY), on(now - 10 * DAY),
                                    said("Iscritto agli avvisi di Valfiorita.", now - 10 * DAY + 5, "business")]},
        # ON in phase 2 (90–180 days), OFF in phase 1: the OFF's chunk arrives first, and still wins
        {"citizen": b, "messages": [on(now - 120 * DAY), said("VALFIORITA OFF", now - 20 * DAY)]},
        {"citizen": c, "messages": [on(now - 60 * DAY), said("valfiorita off", now - 30 * DAY)]},  # one phase
        {"citizen": d, "messages": [said("A che ora apre l'anagrafe?", now - 5 * DAY)]},  # no keyword
        {"citizen": e, "messages": [on(now - 3 * DAY, by="business")]},  # the business wrote it: not consent
    ]  # fmt: skip
    sent = coex.emit(threads=threads, chunk_threads=2)
    assert sent["webhooks"] >= 4  # phases in chunks

    sub = coex.store.subscribers.get(a)
    assert sub is not None and sub.status == "active"
    assert sub.consent_source == consent.HISTORY and sub.consent_at == int(now - 10 * DAY)
    for phone, off_at in ((b, now - 20 * DAY), (c, now - 30 * DAY)):
        left = coex.store.subscribers.get(phone)
        assert left is not None and left.status == "left" and left.opted_out_at == int(off_at)
    assert coex.store.subscribers.get(d) is None and coex.store.subscribers.get(e) is None
    assert coex.outbox(a) == 0  # an old consent: nobody is written to

    coex.emit(threads=threads, chunk_threads=2)  # Meta repeats a chunk: nothing changes
    assert coex.store.subscribers.get(a) == sub
    assert coex.store.subscribers.get(b).status == "left"  # type: ignore[union-attr]
    assert coex.store.db.scalar("SELECT COUNT(*) FROM subscribers WHERE status = 'active'") == 1


def test_an_opt_out_made_after_the_historys_keyword_is_never_undone(coex: Coex) -> None:
    now = time.time()
    citizen = phones(1, 720)[0]
    coex.store.subscribers.subscribe(citizen, consent.KEYWORD, "VALFIORITA ON", at=now - 2 * DAY)
    coex.store.subscribers.unsubscribe(citizen, at=now - DAY)
    coex.emit(threads=[{"citizen": citizen, "messages": [on(now - 40 * DAY)]}])
    sub = coex.store.subscribers.get(citizen)
    assert sub is not None and sub.status == "left" and sub.opted_out_at == pytest.approx(now - DAY)


def test_a_declined_history_changes_nothing_and_parks_nothing(coex: Coex) -> None:
    coex.emit(declined=True)
    assert coex.store.db.scalar("SELECT COUNT(*) FROM subscribers") == 0


# -- the app's contacts ------------------------------------------------------------------------------------------
def test_the_apps_contacts_are_candidates_never_subscribers(coex: Coex) -> None:
    kept, dropped = phones(2, 740)
    coex.emit(contacts=[{"phone": kept, "name": "Maria Rossi", "action": "add"},
                        {"phone": dropped, "name": "Luigi Neri", "action": "add"}])  # fmt: skip
    coex.emit(contacts=[{"phone": dropped, "action": "remove"}])
    maria, luigi = coex.store.candidates.get(kept), coex.store.candidates.get(dropped)
    assert maria is not None and maria.state == NEW and maria.name == "Maria Rossi"
    assert luigi is not None and luigi.state == REMOVED
    assert coex.store.db.scalar("SELECT COUNT(*) FROM subscribers") == 0


# -- what staff write from the phone app ---------------------------------------------------------------------------
def test_staff_echoes_show_in_the_counter_and_never_unsubscribe_answer_or_bill(coex: Coex) -> None:
    citizen, stranger = phones(2, 760)
    coex.store.subscribers.subscribe(citizen, consent.KEYWORD, "VALFIORITA ON")
    coex.write(citizen, "Buongiorno, quando passa lo spazzaturaio?", "wamid.q1")
    before = coex.store.db.one("SELECT last_inbound_at, waiting_since FROM conversations WHERE phone = ?", (citizen,))
    assert before is not None and before[1] is not None  # waiting for an answer
    replies = steady(lambda: coex.outbox(citizen))  # the automatic answer, if the office is closed now (queued after)
    coex.emit(echoes=[{"to": citizen, "text": "Buongiorno, passa il martedì mattina."},
                      {"to": citizen, "text": "VALFIORITA OFF"}, {"to": stranger, "text": "Le scrivo dal Comune."}])  # fmt: skip

    sub = coex.store.subscribers.get(citizen)
    assert sub is not None and sub.status == "active"  # «VALFIORITA OFF» written by staff is no opt-out
    assert coex.outbox(citizen) == replies and coex.outbox(stranger) == 0  # no automatic answer
    assert coex.store.db.scalar("SELECT COUNT(*) FROM deliveries") == 0  # nothing billed
    after = coex.store.db.one("SELECT last_inbound_at, waiting_since FROM conversations WHERE phone = ?", (citizen,))
    assert after is not None and after[0] == before[0]  # the 24 h window neither opened nor extended
    assert after[1] is None  # answered: no longer waiting
    window = coex.store.db.scalar("SELECT last_inbound_at FROM conversations WHERE phone = ?", (stranger,))
    assert window == 0  # a conversation staff started from the phone: no window

    page = coex.staff_page(citizen)
    assert "passa il martedì mattina" in page and "telefono dell&#39;ufficio" in page
    messages = coex.store.conversations.messages(int(coex.store.db.scalar(
        "SELECT id FROM conversations WHERE phone = ?", (citizen,))))  # fmt: skip
    echoes = [m for m in messages if m.staff == PHONE_APP]
    assert [m.body for m in echoes] == ["Buongiorno, passa il martedì mattina.", "VALFIORITA OFF"]

    coex.emit(echoes=[{"to": citizen, "text": "Buongiorno, passa il martedì mattina.", "at": 1}])  # another echo
    coex.emit(echoes=[{"to": citizen, "text": "Replay", "at": 1000}])
    coex.emit(echoes=[{"to": citizen, "text": "Replay", "at": 1000}])  # Meta delivers it again: kept once
    assert sum(1 for m in coex.store.conversations.messages(int(coex.store.db.scalar(
        "SELECT id FROM conversations WHERE phone = ?", (citizen,)))) if m.body == "Replay") == 1  # fmt: skip


def test_without_the_counter_echoes_are_ignored(town: Town, sqlite_url: str) -> None:
    config = dataclasses.replace(in_coexistence(town).config, counter=None)
    citizen = phones(1, 780)[0]
    body = change_body("smb_message_echoes", message_echoes([{"to": citizen, "text": "Ciao"}], "15550783881", 1e9))
    with closing(Store.open(sqlite_url)) as store:
        process_event(store, config, body.decode())
        assert store.db.scalar("SELECT COUNT(*) FROM conversations") == 0
        assert store.db.scalar("SELECT COUNT(*) FROM outbox") == 0


@pytest.mark.slow
def test_a_history_chunk_of_several_megabytes_is_stored_then_applied(coex: Coex) -> None:
    """Meta: a history webhook may hold thousands of messages. Over the 1 MB of other webhooks (guard.py)."""
    now = time.time()
    citizens = phones(4000, 10_000)
    threads = [{"citizen": p, "messages": [said("Buongiorno, vorrei ricevere gli avvisi del Comune, grazie. " * 3,
                                                now - 9 * DAY), on(now - 8 * DAY)]} for p in citizens]  # fmt: skip
    chunk = history_chunks(threads, "15550783881", now, per_chunk=4000)[1]  # phase 1: days 1–90
    assert len(change_body("history", chunk)) > 1_000_000  # over the 1 MB other webhooks may hold (guard.py)
    sent = coex.emit(threads=threads, chunk_threads=4000)
    assert sent["webhooks"] == 3  # phase 0 (progress only), the chunk with every thread, phase 2 (progress only)
    assert coex.store.db.scalar("SELECT COUNT(*) FROM subscribers WHERE consent_source = ?", (consent.HISTORY,)) == 4000


def test_history_contacts_and_echoes_on_both_stores(town: Town, store_url: str) -> None:
    """The same changes, applied by the worker's function, on SQLite and PostgreSQL (the SQL of both stores)."""
    config = in_coexistence(town).config
    now = time.time()
    late_off, fresh, contact = phones(3, 800)
    history = history_chunks(
        [{"citizen": late_off, "messages": [on(now - 100 * DAY), said("VALFIORITA OFF", now - 10 * DAY)]},
         {"citizen": fresh, "messages": [on(now - 5 * DAY)]}], "15550783881", now)  # fmt: skip
    bodies = [change_body("history", value) for value in history] * 2  # every chunk twice
    bodies.append(change_body("smb_app_state_sync", state_sync([{"phone": contact, "name": "Anna"}], now)))
    bodies.append(change_body("smb_message_echoes", message_echoes([{"to": fresh, "text": "Grazie!"}], "1555", now)))
    with closing(Store.open(store_url)) as store:
        for body in bodies:
            process_event(store, config, body.decode(), number_id="106540352242922")
        left, active = store.subscribers.get(late_off), store.subscribers.get(fresh)
        assert left is not None and left.status == "left" and left.opted_out_at == int(now - 10 * DAY)
        assert active is not None and active.status == "active" and active.consent_source == consent.HISTORY
        assert store.candidates.get(contact) is not None and store.subscribers.get(contact) is None
        cid = int(store.db.scalar("SELECT id FROM conversations WHERE phone = ?", (fresh,)))
        assert [(m.body, m.staff) for m in store.conversations.messages(cid)] == [("Grazie!", PHONE_APP)]
        assert store.db.scalar("SELECT COUNT(*) FROM outbox") == 0
