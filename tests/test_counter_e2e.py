"""The counter end to end: real processes, real HTTP, Debian's Chromium.

A citizen writes to the town through the simulator (text and a photo); the
signed webhook reaches the subscriptions service; the photo is fetched
through the simulator's media endpoints; a member of staff created with
``site-tools staff add`` logs in with Chromium, reads the question, answers,
and the simulator receives the answer on the citizen's number.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from site_tools.devtools.sim_citizens import sample_png
from site_tools.store import Store

from .conftest import FIXTURE_TOWN, REPO
from .services import SimProcess, phones, wait_for
from .test_subscriptions import free_port

pytestmark = pytest.mark.e2e  # the service as a process, the simulator as a process, staff added by the command

SECRET = "e2e-app-secret"
PASSWORD = "una password da sportello"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class Counter:
    url: str  # the inbox, on localhost (a secure context: the Secure cookie is kept)
    sim: SimProcess
    db: str

    def write(self, phone: str, text: str, photo: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {"from": phone, "text": text, "name": "Cittadino di prova"}
        if photo:
            data = base64.b64encode(sample_png()).decode()
            payload["media"] = {"type": "image", "mime_type": "image/png", "data": data, "caption": text}
        answer = httpx.post(f"{self.sim.url}/_sim/inbound", json=payload, timeout=30)
        answer.raise_for_status()
        assert answer.json()["delivered"], "the service did not take the webhook"
        return answer.json()

    def texts_to(self, phone: str) -> list[str]:
        return [m["text"] for m in self.sim.messages()["whatsapp"] if m["to"] == phone]


@pytest.fixture
def counter(tmp_path: Path) -> Iterator[Counter]:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'store.db'}"
    sim = SimProcess(
        "--latency",
        "0",
        "--enforce-window",
        "--app-secret",
        SECRET,
        "--webhook-url",
        f"http://127.0.0.1:{port}/webhook",
    )
    env = {
        **os.environ,
        **sim.env(),
        "SITE_TOOLS_DB": db,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "v",
        "SITE_TOOLS_SESSION_SECRET": "e2e-session-secret-" + "x" * 24,
    }
    added = subprocess.run(
        [sys.executable, "-m", "site_tools", "staff", "add", "mario", "--name", "Mario Bianchi", "--password-stdin"],
        input=PASSWORD + "\n",
        cwd=FIXTURE_TOWN,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
        cwd=FIXTURE_TOWN,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    unhealthy = None
    try:
        try:
            wait_for(lambda: _up(f"http://127.0.0.1:{port}/health"), timeout=60)
        except AssertionError:
            unhealthy = _health(port)  # say why: a busy machine, or a check failing
        if unhealthy is None:
            yield Counter(f"http://localhost:{port}/sportello", sim, db)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0].decode()
        sim.stop()
        if unhealthy is not None:
            pytest.fail(f"the service did not become healthy in 60 s: /health said {unhealthy!r}\n{out}")
        assert "39333" not in out.replace("+39 333 •••", ""), "a citizen's number reached the service's log"


def _health(port: int) -> str:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/health")
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return f"{answer.status_code} {answer.text[:2000]}"


def _up(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # Like a phone: narrow screen. bypass_csp only so that the test can inject axe-core.
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="it-IT", bypass_csp=True)
    yield context.new_page()
    context.close()


def log_in(page: Any, counter: Counter, password: str = PASSWORD) -> None:
    page.goto(counter.url + "/")
    page.get_by_label("Nome utente").fill("mario")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Entra").click()


def test_staff_log_in_see_a_question_answer_it_and_the_citizen_receives_it(counter: Counter, page: Any) -> None:
    phone = phones(1, 1100)[0]
    counter.write(phone, "Buongiorno, la buca in via Roma è ancora lì: ecco la foto", photo=True)
    counter.write(phone, "Quando la sistemate?")
    store = Store.open(counter.db)
    wait_for(lambda: store.db.scalar("SELECT COUNT(*) FROM conversation_messages WHERE media_state = 'stored'") == 1)
    store.close()
    log_in(page, counter)
    assert page.get_by_role("heading", name="Conversazioni").is_visible()
    page.get_by_role("link", name="+39 333 000 1100").click()
    assert "Quando la sistemate?" in page.locator("ol.thread").inner_text()
    image = page.get_by_role(
        "img", name="Immagine inviata dal cittadino: Buongiorno, la buca in via Roma è ancora lì: ecco la foto"
    )
    assert image.evaluate("img => img.naturalWidth") == 48  # fetched from WhatsApp's media endpoint, served privately
    page.get_by_role("link", name="Usa «Come fare una segnalazione (buche, lampioni, rifiuti)»").click()
    reply = page.get_by_label("Risposta (testo libero", exact=False)
    assert "modulo online" in reply.input_value()
    reply.fill("Grazie, abbiamo girato la segnalazione all'ufficio tecnico: interverrà entro venerdì.")
    page.get_by_label("Segna come gestita dopo l'invio").check()
    page.get_by_role("button", name="Invia risposta").click()
    assert "Risposta in invio e conversazione segnata come gestita" in page.locator("main").inner_text()
    wait_for(lambda: any("ufficio tecnico" in t for t in counter.texts_to(phone)), timeout=30)

    def delivered() -> bool:  # the simulator's status webhooks reach the conversation
        page.reload()
        return "consegnata" in page.locator("ol.thread").inner_text()

    wait_for(delivered, timeout=20, interval=0.5)
    phone_page = httpx.get(f"{counter.sim.url}/_sim/telefono").text
    assert "ufficio tecnico" in phone_page  # the simulator's phone screen shows the answer arriving


def test_a_form_without_its_csrf_token_is_refused(counter: Counter, page: Any) -> None:
    phone = phones(1, 1200)[0]
    counter.write(phone, "Posso pagare la mensa con bonifico?")
    log_in(page, counter)
    page.get_by_role("link", name="+39 333 000 1200").click()
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => i.remove())")
    page.get_by_label("Risposta (testo libero", exact=False).fill("Sì.")
    page.get_by_role("button", name="Invia risposta").click()
    assert "Richiesta rifiutata" in page.locator("h1").inner_text()
    assert "codice di sicurezza" in page.locator("main").inner_text()
    assert not any(t == "Sì." for t in counter.texts_to(phone))


def test_a_wrong_password_five_times_is_slowed_down(counter: Counter, page: Any) -> None:
    for _ in range(5):
        log_in(page, counter, "password sbagliata")
        assert "Nome utente o password errati" in page.locator("main").inner_text()
    log_in(page, counter)  # the right one, too soon
    text = page.locator("main").inner_text()
    assert "Troppi tentativi" in text and "riprova tra 30 s" in text
    assert page.get_by_role("heading", name="Accesso del personale").is_visible()


def test_outside_the_window_the_simulator_refuses_free_text_and_the_template_goes(counter: Counter, page: Any) -> None:
    phone = phones(1, 1300)[0]
    counter.write(phone, "Domanda di ieri")
    store = Store.open(counter.db)
    # The service takes the webhook, then its worker opens the conversation: wait for it, then age it a day.
    wait_for(lambda: store.db.scalar("SELECT COUNT(*) FROM conversations WHERE phone = ?", (phone,)) == 1)
    store.db.execute("UPDATE conversations SET last_inbound_at = last_inbound_at - 90000 WHERE phone = ?", (phone,))
    store.close()
    log_in(page, counter)
    page.get_by_role("link", name="+39 333 000 1300").click()
    assert "Finestra 24 h chiusa" in page.locator("main").inner_text()
    page.get_by_label("Risposta da inserire nel modello").fill("Sì, il modulo è sul sito.")
    page.get_by_role("button", name="Invia con il modello approvato").click()
    wait_for(lambda: any("Sì, il modulo è sul sito." in t for t in counter.texts_to(phone)), timeout=30)
    (sent,) = [m for m in counter.sim.messages()["whatsapp"] if m["to"] == phone and m["type"] == "template"]
    assert sent["text"].startswith("Risposta dello sportello del Comune al tuo messaggio del")


@pytest.mark.parametrize("where", ["login", "inbox", "conversation"])
def test_no_serious_accessibility_violations_in_the_inbox(counter: Counter, page: Any, where: str) -> None:
    if not AXE.is_file():
        pytest.fail("axe-core is missing: scripts/test runs npm install")
    phone = phones(1, 1400)[0]
    counter.write(phone, "Buongiorno, vorrei sapere gli orari della biblioteca comunale", photo=True)
    if where == "login":
        page.goto(counter.url + "/accesso")
    else:
        log_in(page, counter)
        if where == "conversation":
            page.get_by_role("link", name="+39 333 000 1400").click()
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps([(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in serious])
