"""What staff do to a conversation, as store operations: answer, close, reopen, assign.

Each answer is queued in the outbox and recorded in the conversation in one
transaction (never one without the other), keyed by the form's one-time key
so that a double click sends once. The 24-hour window is checked here, on
the server, whatever the page showed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from site_tools.content import limits
from site_tools.content.config import TownConfig
from site_tools.formatting import count, number, to_whom
from site_tools.service.counter.template import answer_template
from site_tools.service.counter.window import Window
from site_tools.store import Store
from site_tools.store.conversations import HANDLED, OPEN

log = logging.getLogger("site_tools.counter")


#: What the audit log records, as staff read it: the conversation's history and «site-tools staff audit».
AUDIT_LABELS = {
    "login": "ha fatto l'accesso",
    "login_failed": "accesso non riuscito",
    "login_throttled": "accesso bloccato dopo troppi tentativi",
    "logout": "ha chiuso la sessione",
    "read": "ha letto",
    "answer": "ha risposto",
    "answer_template": "ha risposto con il modello",
    "handled": "ha segnato come gestita",
    "reopened": "ha riaperto",
    "assigned": "ha assegnato",
    "media": "ha aperto un allegato",
}


def audit_text(action: str, detail: str | None = None) -> str:
    """``ha letto``, ``ha assegnato ad anna``: one entry of the audit log in Italian."""
    label = AUDIT_LABELS.get(action, action)
    if action == "assigned" and detail:
        return f"{label} {to_whom(detail)}"
    return f"{label} ({detail})" if detail else label


@dataclass(frozen=True)
class Done:
    ok: bool
    message: str  # Italian, for the page


def answer(
    store: Store,
    config: TownConfig,
    conversation_id: int,
    staff_id: int,
    text: str,
    key: str,
    now: float,
    *,
    template: bool = False,
    close: bool = False,
) -> Done:
    conversation = store.conversations.get(conversation_id)
    if conversation is None:
        return Done(False, "Conversazione non trovata: forse è stata cancellata.")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return Done(False, "La risposta è vuota: scrivi il testo prima di inviare.")
    window = Window(conversation.last_inbound_at, now)
    if template:
        try:
            message = answer_template(
                config, text, datetime.fromtimestamp(conversation.last_inbound_at, config.timezone)
            )
        except ValueError as exc:
            return Done(False, f"Modello non inviato: {exc}")
        body, payload, kind = message.text, message.component(), "template"
    else:
        if not window.open:
            return Done(
                False,
                "Non inviata: sono passate più di 24 ore dall'ultimo messaggio del cittadino. "
                "WhatsApp accetta ora solo il modello approvato (qui sotto).",
            )
        # WhatsApp's free-form body holds 4,096 characters; a character is one code point (len()), as the
        # simulator counts and as static/sportello.js counts in the browser (not maxlength's UTF-16 units).
        if len(text) > limits.WHATSAPP_TEXT_MAX:
            return Done(
                False,
                f"Non inviata: la risposta ha {count(len(text), 'carattere', 'caratteri')}, un messaggio WhatsApp "
                f"ne può avere al massimo {number(limits.WHATSAPP_TEXT_MAX)}. Accorciala: il testo è qui sotto.",
            )
        body, payload, kind = text, None, "text"
    try:
        with store.db.transaction():
            if store.conversations.answered_with(key):
                return Done(True, "Questa risposta era già stata inviata.")
            outbox_id = store.outbox.queue(conversation.phone, body, template=payload)
            store.conversations.add_answer(conversation_id, staff_id, kind, body, outbox_id, key, at=now)
            store.staff.audit(staff_id, "answer" if kind == "text" else "answer_template", conversation_id)
            if close:
                store.conversations.set_state(conversation_id, HANDLED, staff_id)
                store.staff.audit(staff_id, "handled", conversation_id)
    except Exception:
        if store.conversations.answered_with(key):  # the same form, sent twice at once
            return Done(True, "Questa risposta era già stata inviata.")
        raise
    sent = "Risposta in invio" if kind == "text" else "Modello in invio"
    return Done(True, sent + (" e conversazione segnata come gestita." if close else "."))


def set_state(store: Store, conversation_id: int, staff_id: int, state: str) -> Done:
    if state not in (OPEN, HANDLED):
        return Done(False, "Stato non valido.")
    with store.db.transaction():
        changed = store.conversations.set_state(conversation_id, state, staff_id)
        if changed:
            store.staff.audit(staff_id, "handled" if state == HANDLED else "reopened", conversation_id)
    if not changed:
        return Done(True, "Nessun cambiamento.")
    return Done(True, "Conversazione segnata come gestita." if state == HANDLED else "Conversazione riaperta.")


def assign(store: Store, conversation_id: int, staff_id: int, to: int | None) -> Done:
    colleague = store.staff.get(to) if to is not None else None
    if to is not None and (colleague is None or not colleague.active):
        return Done(False, "Collega non trovato o non più attivo.")
    with store.db.transaction():
        if not store.conversations.assign(conversation_id, to):
            return Done(False, "Conversazione non trovata.")
        store.staff.audit(staff_id, "assigned", conversation_id, colleague.username if colleague else "nessuno")
    return Done(True, f"Assegnata {to_whom(colleague.display_name)}." if colleague else "Assegnazione tolta.")
