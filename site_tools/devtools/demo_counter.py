"""The demo's one-to-one counter step: simulated citizens ask questions; staff can answer from the inbox.

Citizens write through the simulator (so that it opens their 24-hour window
and keeps their photo behind its media endpoint, as WhatsApp does); the
subscriptions service stores the conversations and fetches the photo; a
demo staff account with a fresh random password is created for the inbox.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import time
from dataclasses import dataclass

import click
import httpx

from site_tools.devtools.sim_citizens import sample_png
from site_tools.service.counter.auth import hash_password

#: (question, with a photo) — what citizens ask at the counter in the demo.
QUESTIONS = (
    ("Buongiorno, quando scade la seconda rata della TARI? Non ho ricevuto il bollettino.", False),
    ("C'è una buca profonda in via Roma davanti al civico 12, ecco la foto.", True),
    ("A che ora apre l'anagrafe? Devo rinnovare la carta d'identità.", False),
    ("Il sottopasso di via Marconi è di nuovo aperto?", False),
)
DEMO_USER = "demo"


def counter_phone(i: int) -> str:
    return f"39333{900 + i:07d}"  # the fake 333 000 … range, apart from the subscribers


@dataclass
class CounterDemo:
    inbox_url: str
    phone_url: str
    password: str
    conversations: int

    def tell(self) -> None:
        echo = click.echo
        echo("")
        echo(f"Sportello WhatsApp: {self.conversations} cittadini hanno scritto domande al Comune.")
        echo(f"  Rispondi dalla posta dello sportello: {self.inbox_url}")
        echo(f"  accesso di prova: utente «{DEMO_USER}», password «{self.password}» (nuova a ogni demo)")
        echo(f"  Le risposte arrivano ai telefoni simulati: {self.phone_url}")


def ask_the_counter(db: str, sim_url: str, hook_port: int, step: str) -> CounterDemo:
    from site_tools.store import Store

    click.echo(f"{step} Sportello: {len(QUESTIONS)} cittadini scrivono domande al Comune…")
    password = secrets.token_urlsafe(12)
    with contextlib.closing(Store.open(db)) as store:
        if store.staff.by_username(DEMO_USER) is None:
            store.staff.add(DEMO_USER, "Operatore di prova", hash_password(password))
        for i, (text, photo) in enumerate(QUESTIONS):
            payload: dict[str, object] = {"from": counter_phone(i), "text": text, "name": f"Cittadino {i + 1}"}
            if photo:
                image = base64.b64encode(sample_png(320, 200, (150, 110, 70))).decode()
                payload["media"] = {"type": "image", "mime_type": "image/png", "data": image, "caption": text}
            httpx.post(f"{sim_url}/_sim/inbound", json=payload, timeout=30).raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stored = store.db.scalar("SELECT COUNT(*) FROM conversation_messages WHERE media_state = 'stored'")
            if store.conversations.count() >= len(QUESTIONS) and stored:
                break
            time.sleep(0.2)
        conversations = store.conversations.count()
    # localhost, not 127.0.0.1: browsers keep the inbox's Secure cookie on localhost without HTTPS.
    return CounterDemo(f"http://localhost:{hook_port}/sportello/", f"{sim_url}/_sim/telefono", password, conversations)
