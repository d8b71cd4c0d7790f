"""The counter's staff inbox, in-process: the real subscriptions service app under Starlette's TestClient.

Webhooks are signed as Meta signs them and processed by the service's own
worker; the inbox is driven as a browser without JavaScript would (forms,
redirects, cookies); what is checked is what staff see and what would leave
through the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from site_tools.content.config import load_config
from site_tools.service.app import Service
from site_tools.service.counter.auth import hash_password
from site_tools.settings import Settings
from site_tools.store import Store
from site_tools.store.conversations import Inbound

from .conftest import FIXTURE_TOWN
from .services import phones, wait_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET = "test-app-secret"
PASSWORD = "cavallo batteria graffetta"
CONFIG = load_config(FIXTURE_TOWN / "mkdocs.yml")


class Desk:
    """The service, one store connection for assertions, and a browser-like client."""

    def __init__(self, client: TestClient, store: Store):
        self.client, self.store = client, store
        self.seq = 0

    def write(self, phone: str, text: str | None = None, kind: str = "text", extra: dict | None = None) -> None:
        self.seq += 1
        message: dict[str, Any] = {"from": phone, "id": f"wamid.t{self.seq}.{time.time_ns()}", "type": kind}
        message["timestamp"] = str(int(time.time()))
        if text is not None:
            message["text"] = {"body": text}
        message.update(extra or {})
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"messages": [message]}}]}],
            }
        ).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        answer = self.client.post(
            "/webhook", content=body, headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
        )
        assert answer.status_code == 200
        wait_for(lambda: self.client.get("/health").json()["pending_events"] == 0, timeout=20)

    def login(self, username: str = "mario", password: str = PASSWORD) -> Any:
        page = self.client.get("/sportello/accesso")
        return self.client.post(
            "/sportello/accesso",
            data={"csrf": csrf(page.text), "utente": username, "password": password},
            follow_redirects=False,
        )

    def conversation_id(self, phone: str) -> int:
        row = self.store.db.one("SELECT id FROM conversations WHERE phone = ?", (phone,))
        assert row, "no conversation for this number"
        return int(row[0])

    def outbox(self, phone: str) -> list[tuple[str, Any]]:
        rows = self.store.db.all("SELECT body, template FROM outbox WHERE phone = ? ORDER BY id", (phone,))
        return [(body, json.loads(template) if template else None) for body, template in rows]


def csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def make_desk(url: str, session_secret: str | None = "s" * 40) -> Iterator[Desk]:
    store = Store.open(url)
    store.staff.add("mario", "Mario Bianchi", hash_password(PASSWORD))
    store.staff.add("anna", "Anna Verdi", hash_password(PASSWORD + " anna"))
    settings = Settings(app_secret=SECRET, verify_token="v", session_secret=session_secret)
    service = Service(CONFIG, settings, lambda: Store.open(url))
    app = service.app()
    with TestClient(app, base_url="https://testserver") as client:
        yield Desk(client, store)
    store.close()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    yield from make_desk(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def any_desk(store_url: str) -> Iterator[Desk]:
    """The same test on SQLite and PostgreSQL."""
    yield from make_desk(store_url)


# -- login, sessions, CSRF, throttling ---------------------------------------------------


def test_every_page_needs_a_login(desk: Desk) -> None:
    for path in ("/sportello/", "/sportello/conversazioni/1", "/sportello/conversazioni/1/media/1"):
        answer = desk.client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/sportello/accesso"
    page = desk.client.get("/sportello/accesso")
    refused = desk.client.post(
        "/sportello/conversazioni/1/rispondi", data={"csrf": csrf(page.text), "testo": "x"}, follow_redirects=False
    )
    assert refused.status_code == 403


def test_the_session_cookie_is_secure_httponly_strict_and_logout_revokes_it(desk: Desk) -> None:
    answer = desk.login()
    assert answer.status_code == 303 and answer.headers["location"] == "/sportello/"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie and "path=/sportello" in cookie
    stolen = desk.client.cookies.get("sportello")
    assert desk.client.get("/sportello/").status_code == 200
    home = desk.client.get("/sportello/")
    out = desk.client.post("/sportello/esci", data={"csrf": csrf(home.text)}, follow_redirects=False)
    assert out.status_code == 303
    desk.client.cookies.set("sportello", stolen, domain="testserver.local", path="/sportello")
    replay = desk.client.get("/sportello/", follow_redirects=False)
    assert replay.status_code == 303, "a signed cookie from before the logout still opened the inbox"
    actions = [e.action for e in desk.store.staff.audit_log()]
    assert actions[:2] == ["logout", "login"]


def test_a_disabled_account_loses_its_session_at_once(desk: Desk) -> None:
    desk.login()
    assert desk.client.get("/sportello/", follow_redirects=False).status_code == 200
    member = desk.store.staff.by_username("mario")
    desk.store.staff.set_active(member.id, False)
    assert desk.client.get("/sportello/", follow_redirects=False).status_code == 303


def test_wrong_password_five_times_is_slowed_down(desk: Desk) -> None:
    for _ in range(4):
        assert desk.login(password="sbagliata").status_code == 401
    fifth = desk.login(password="sbagliata")
    assert fifth.status_code == 401 and "errati" in fifth.text
    sixth = desk.login()  # even the right password must wait now
    assert sixth.status_code == 429
    assert int(sixth.headers["retry-after"]) >= 29 and "Troppi tentativi" in sixth.text
    assert desk.client.get("/sportello/", follow_redirects=False).status_code == 303
    assert desk.login("anna", PASSWORD + " anna").status_code == 303  # a colleague is not locked out
    actions = [e.action for e in desk.store.staff.audit_log()]
    assert actions.count("login_failed") == 5 and "login_throttled" in actions
    assert all(e.detail in (None, "mario") for e in desk.store.staff.audit_log())  # never a password


def test_forms_without_a_valid_csrf_token_are_refused(desk: Desk) -> None:
    no_token = desk.client.post("/sportello/accesso", data={"utente": "mario", "password": PASSWORD})
    assert no_token.status_code == 403 and "codice di sicurezza" in no_token.text
    desk.login()
    phone = phones(1, 200)[0]
    desk.write(phone, "Quando riapre la biblioteca?")
    cid = desk.conversation_id(phone)
    page = desk.client.get(f"/sportello/conversazioni/{cid}")
    for data in ({"testo": "Risposta"}, {"testo": "Risposta", "csrf": "x" * 43}):
        data["invio"] = field(page.text, "invio")
        assert desk.client.post(f"/sportello/conversazioni/{cid}/rispondi", data=data).status_code == 403
    assert desk.client.post(f"/sportello/conversazioni/{cid}/stato", data={"stato": "gestita"}).status_code == 403
    assert desk.client.post("/sportello/esci", data={}).status_code == 403
    assert [b for b, _ in desk.outbox(phone)][1:] == []  # only the automatic answer
    assert desk.store.conversations.get(cid).state == "open"


# -- conversations ------------------------------------------------------------------------


def test_a_question_is_listed_answered_and_queued_once(any_desk: Desk) -> None:
    desk = any_desk
    phone = phones(1, 300)[0]
    desk.write(phone, "Buongiorno, a che ora apre l'anagrafe martedì?")
    desk.login()
    inbox = desk.client.get("/sportello/")
    assert "+39 333 000 0300" in inbox.text and "a che ora apre l&#39;anagrafe" in inbox.text
    assert "In attesa da" in inbox.text and "Finestra 24 h: restano 2" in inbox.text  # 23 h 59 min, or 24 h 00
    cid = desk.conversation_id(phone)
    page = desk.client.get(f"/sportello/conversazioni/{cid}")
    assert page.status_code == 200 and "Invia risposta" in page.text
    form = {"csrf": csrf(page.text), "invio": field(page.text, "invio"), "testo": "Martedì 9–13 e 15–17:30."}
    done = desk.client.post(f"/sportello/conversazioni/{cid}/rispondi", data=form)
    assert done.status_code == 200 and "Risposta in invio" in done.text and "in coda" in done.text
    again = desk.client.post(f"/sportello/conversazioni/{cid}/rispondi", data=form)  # a double click
    assert "già stata inviata" in again.text
    bodies = [b for b, _ in desk.outbox(phone)]
    assert bodies.count("Martedì 9–13 e 15–17:30.") == 1
    assert desk.store.conversations.get(cid).waiting_since is None
    log = [(e.staff, e.action, e.conversation_id) for e in desk.store.staff.audit_log(cid)]
    assert ("mario", "answer", cid) in log and ("mario", "read", cid) in log


def test_keywords_do_not_open_conversations_but_media_and_other_types_do(desk: Desk) -> None:
    a, b, c, d = phones(4, 400)
    desk.write(a, "VALFIORITA ON")
    desk.write(
        b,
        None,
        "image",
        {"image": {"id": "1234567890", "mime_type": "image/jpeg", "sha256": "ab", "caption": "La buca"}},
    )
    desk.write(c, None, "location", {"location": {"latitude": 43.1, "longitude": 12.3, "name": "Piazza"}})
    desk.write(d, None, "reaction", {"reaction": {"message_id": "wamid.x", "emoji": "👍"}})
    assert desk.store.db.scalar("SELECT COUNT(*) FROM conversations WHERE phone = ?", (a,)) == 0
    assert desk.store.db.scalar("SELECT COUNT(*) FROM conversations WHERE phone = ?", (d,)) == 0
    image = desk.store.conversations.messages(desk.conversation_id(b))[0]
    assert (image.kind, image.body, image.media_state, image.media_mime) == (
        "image",
        "La buca",
        "pending",
        "image/jpeg",
    )
    place = desk.store.conversations.messages(desk.conversation_id(c))[0]
    assert place.body.startswith("📍 Posizione: Piazza")
    desk.login()
    page = desk.client.get(f"/sportello/conversazioni/{desk.conversation_id(b)}")
    assert "in arrivo da WhatsApp" in page.text


def test_oldest_waiting_first_with_the_time_left_in_the_window(desk: Desk) -> None:
    now = time.time()
    recent, old, answered = phones(3, 500)
    conversations = desk.store.conversations
    conversations.record_inbound(recent, Inbound("w.r", "text", "Domanda recente", now - 60))
    conversations.record_inbound(old, Inbound("w.o", "text", "Domanda di stamattina", now - 5 * 3600))
    cid, _ = conversations.record_inbound(answered, Inbound("w.a", "text", "Già risposta", now - 10 * 3600))
    outbox = desk.store.outbox.queue(answered, "Fatto")
    conversations.add_answer(cid, 1, "text", "Fatto", outbox)
    desk.login()
    html = desk.client.get("/sportello/").text
    order = [html.index(p) for p in ("Domanda di stamattina", "Domanda recente", "Fatto")]
    assert order == sorted(order)
    assert "In attesa da 5,0 ore" in html
    assert "restano 18 h 59 min" in html or "restano 19 h 00 min" in html


def test_outside_the_window_only_the_approved_template(desk: Desk) -> None:
    phone = phones(1, 600)[0]
    asked = time.time() - 25 * 3600
    cid, _ = desk.store.conversations.record_inbound(phone, Inbound("w.old", "text", "Ieri ho chiesto…", asked))
    desk.login()
    page = desk.client.get(f"/sportello/conversazioni/{cid}")
    assert "Finestra 24 h chiusa" in page.text and "modello approvato «sportello_risposta»" in page.text
    assert "Invia risposta" not in page.text and "Invia con il modello approvato" in page.text
    form = {"csrf": csrf(page.text), "invio": field(page.text, "invio"), "testo": "Risposta libera"}
    refused = desk.client.post(f"/sportello/conversazioni/{cid}/rispondi", data=form)
    assert "più di 24 ore" in refused.text and desk.outbox(phone) == []
    form["testo"] = "La carta d'identità si rinnova\nsu appuntamento."
    form["invio"] = field(refused.text, "invio")
    done = desk.client.post(f"/sportello/conversazioni/{cid}/modello", data=form)
    assert "Modello in invio" in done.text
    ((body, template),) = desk.outbox(phone)
    assert template["name"] == "sportello_risposta" and template["language"] == {"code": "it"}
    params = {p["parameter_name"]: p["text"] for p in template["components"][0]["parameters"]}
    assert params["risposta"] == "La carta d'identità si rinnova su appuntamento."  # one paragraph
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", params["data"]) and params["risposta"] in body
    too_long = {**form, "invio": "k2", "testo": "parola " * 200}
    assert "al massimo" in desk.client.post(f"/sportello/conversazioni/{cid}/modello", data=too_long).text


def test_handled_reopened_when_the_citizen_writes_again_and_assigned(desk: Desk) -> None:
    phone = phones(1, 700)[0]
    desk.write(phone, "Il cassonetto di via Verdi è rotto")
    cid = desk.conversation_id(phone)
    desk.login()
    page = desk.client.get(f"/sportello/conversazioni/{cid}")
    anna = desk.store.staff.by_username("anna")
    assigned = desk.client.post(f"/sportello/conversazioni/{cid}/assegna", data={"csrf": csrf(page.text), "a": anna.id})
    assert "Assegnata ad Anna Verdi" in assigned.text
    mine = desk.client.get("/sportello/?filtro=mie").text
    assert "+39 333 000 0700" not in mine
    closed = desk.client.post(
        f"/sportello/conversazioni/{cid}/stato", data={"csrf": csrf(page.text), "stato": "gestita"}
    )
    assert "segnata come gestita" in closed.text and "+39 333 000 0700" not in closed.text  # back to the open list
    assert "+39 333 000 0700" in desk.client.get("/sportello/?stato=gestite").text
    desk.write(phone, "È ancora rotto")
    conversation = desk.store.conversations.get(cid)
    assert conversation.state == "open" and conversation.waiting_since and conversation.assignee == "Anna Verdi"
    actions = [e.action for e in desk.store.staff.audit_log(cid)]
    assert "assigned" in actions and "handled" in actions


def test_canned_answers_and_bulletins_that_match_the_question(desk: Desk) -> None:
    phone = phones(1, 800)[0]
    desk.write(phone, "Quando scade la seconda rata della TARI? Non ho ricevuto il bollettino")
    cid = desk.conversation_id(phone)
    desk.login()
    wait_for(lambda: "TARI" in desk.client.get(f"/sportello/conversazioni/{cid}").text, timeout=30)  # library loaded
    page = desk.client.get(f"/sportello/conversazioni/{cid}").text
    suggested = page.split("Suggerite per questa domanda")[1].split("Tutte le risposte pronte")[0]
    assert "TARI, scadenze e pagamento" in suggested
    bulletins = page.split("Avvisi sul sito che potrebbero rispondere")[1]
    assert 'href="https://avvisi.valfiorita.example.it/notizie/2026/10/' in bulletins and "TARI" in bulletins
    prefilled = desk.client.get(f"/sportello/conversazioni/{cid}?risposta=tari").text
    textarea = prefilled.split('name="testo"')[1].split("</textarea>")[0]
    assert "la TARI si paga con l&#39;avviso pagoPA" in textarea and "*" not in textarea.split(">")[0]
    link = re.search(r'href="\?avviso=([^"#]+)#rispondi"', prefilled).group(1)
    with_link = desk.client.get(f"/sportello/conversazioni/{cid}?avviso={link}").text
    assert "https://avvisi.valfiorita.example.it/notizie/" in with_link.split('name="testo"')[1].split("</textarea>")[0]
    evil = desk.client.get(f"/sportello/conversazioni/{cid}?avviso=https://evil.example/x").text
    assert "evil.example" not in evil.split('name="testo"')[1].split("</textarea>")[0]


def test_what_arrived_while_the_office_was_closed_is_pointed_out(desk: Desk) -> None:
    from datetime import datetime

    now = datetime.now(CONFIG.timezone)
    closed, reopened = CONFIG.office_hours.overnight(now)
    night = closed.timestamp() + min(600, (reopened.timestamp() - closed.timestamp()) / 2)
    day = phones(1, 900)[0]
    desk.store.conversations.record_inbound(day, Inbound("w.n", "text", "Scritto di notte", night))
    desk.login()
    html = desk.client.get("/sportello/").text
    assert "1 domanda arrivata a sportello chiuso" in html and "Arrivata a sportello chiuso" in html


def test_media_are_served_only_to_staff_and_never_run(desk: Desk) -> None:
    phone = phones(1, 950)[0]
    cid, mid = desk.store.conversations.record_inbound(
        phone, Inbound("w.m", "document", None, time.time(), "55", "text/html", None, "x.html")
    )
    desk.store.conversations.media_stored(mid, b"<script>alert(1)</script>", "text/html")
    path = f"/sportello/conversazioni/{cid}/media/{mid}"
    assert desk.client.get(path, follow_redirects=False).status_code == 303
    desk.login()
    answer = desk.client.get(path)
    assert answer.content == b"<script>alert(1)</script>"
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-disposition"].startswith("attachment")
    assert (
        "sandbox" in answer.headers["content-security-policy"] and answer.headers["x-content-type-options"] == "nosniff"
    )
    assert desk.client.get(f"/sportello/conversazioni/{cid + 1}/media/{mid}").status_code == 404  # not of that thread
    assert "Pagina non trovata" in desk.client.get("/sportello/conversazioni/nessuna").text
    assert ("media", cid) in [(e.action, e.conversation_id) for e in desk.store.staff.audit_log()]


def test_every_page_is_uncached_and_framed_by_nobody(desk: Desk) -> None:
    for answer in (desk.client.get("/sportello/accesso"), desk.login(), desk.client.get("/sportello/")):
        assert answer.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_inbox_stays_closed_without_a_session_secret(tmp_path: Path) -> None:
    for desk in make_desk(f"sqlite:///{tmp_path / 'store.db'}", session_secret=None):
        answer = desk.client.get("/sportello/accesso")
        assert answer.status_code == 503 and "SITE_TOOLS_SESSION_SECRET" in answer.text
        assert desk.client.get("/health").status_code == 200  # the subscriptions service still works


def test_status_webhooks_move_an_answer_forward(desk: Desk) -> None:
    phone = phones(1, 960)[0]
    desk.write(phone, "Domanda")
    cid = desk.conversation_id(phone)
    outbox = desk.store.outbox.queue(phone, "Risposta")
    desk.store.conversations.add_answer(cid, 1, "text", "Risposta", outbox)
    desk.store.db.execute("UPDATE outbox SET state = 'sent', wamid = 'wamid.ans' WHERE id = ?", (outbox,))
    for state in ("read", "delivered"):
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": "1",
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "statuses": [
                                        {"id": "wamid.ans", "status": state, "timestamp": "1", "recipient_id": phone}
                                    ]
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        desk.client.post("/webhook", content=body, headers={"X-Hub-Signature-256": signature})
    wait_for(lambda: desk.client.get("/health").json()["pending_events"] == 0)
    assert desk.store.conversations.messages(cid)[-1].status == "read"


def test_citizens_numbers_never_reach_the_log(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    phone = phones(1, 970)[0]
    desk.write(phone, "Una domanda")
    desk.login()
    cid = desk.conversation_id(phone)
    page = desk.client.get(f"/sportello/conversazioni/{cid}")
    desk.client.post(f"/sportello/conversazioni/{cid}/rispondi", data={"invio": "k", "testo": "x"})  # refused, logged
    desk.client.post(
        f"/sportello/conversazioni/{cid}/rispondi", data={"csrf": csrf(page.text), "invio": "k", "testo": "Risposta"}
    )
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "counter:" in text and "0970" not in text.replace("••", "")
    assert phone not in text


def test_addresses_with_impossible_numbers_are_not_found_not_a_crash(desk: Desk) -> None:
    desk.login()
    huge = "9" * 40
    for path in (f"/sportello/conversazioni/{huge}", f"/sportello/conversazioni/1/media/{huge}"):
        assert desk.client.get(path).status_code == 404
    assert desk.client.get(f"/sportello/?pagina={huge}").status_code == 200
