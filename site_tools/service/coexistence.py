"""The webhooks of a number kept in the WhatsApp Business app and connected to the Cloud API (coexistence).

Called by the event worker (:func:`site_tools.service.events.process_event`) after the body was stored in the
inbox: a ``history`` chunk may hold thousands of messages. Every change here is idempotent: Meta delivers at least
once, chunks may repeat.

* ``history`` — the chats of the 180 days before the number was connected. A citizen whose thread holds the
  town's ON keyword (matched as the webhook's keywords are, :func:`~site_tools.service.keywords.intent`) becomes a
  subscriber on the basis :data:`~site_tools.store.consent.HISTORY`, at that message's time; an OFF written later
  in the thread leaves them out, at its time. A subscriber who opted out after the history's ON stays out (old
  history never resubscribes). Messages the business wrote (``from`` = the town's number) are not consent. Nobody
  is sent anything: their consent is old, the confirmation was the app's business then.
* ``smb_app_state_sync`` — the app's contacts: candidates (:mod:`site_tools.store.candidates`), never subscribers.
* ``smb_message_echoes`` — what staff send from the phone app: an answer from «telefono dell'ufficio» in the
  counter's conversation (when the counter is on; otherwise ignored). Never an opt-out, never an automatic answer,
  never the 24 h window, never billed (no outbox row, no delivery).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from typing import Any

from site_tools.content.config import TownConfig
from site_tools.phones import e164, mask
from site_tools.service.keywords import Intent, intent
from site_tools.store import Store, consent

log = logging.getLogger("site_tools.service.coexistence")

HISTORY, STATE_SYNC, ECHOES = "history", "smb_app_state_sync", "smb_message_echoes"
FIELDS = (HISTORY, STATE_SYNC, ECHOES)
#: ``history_context.status`` etc. aside, what of a message's text we keep as the consent text.
CONSENT_TEXT_MAX = 200


@dataclass
class CoexistenceOutcome:
    subscribed: int = 0
    unsubscribed: int = 0
    kept_out: int = 0  # an ON in the history older than the citizen's opt-out: not resubscribed
    contacts_seen: int = 0
    contacts_removed: int = 0
    echoes: int = 0
    history_errors: list[str] = field(default_factory=list)  # e.g. the business declined sharing the history


def apply_changes(
    store: Store, config: TownConfig, payload: dict[str, Any], number_id: str | None = None
) -> CoexistenceOutcome:
    """The coexistence changes of one webhook body (for our number), applied."""
    outcome = CoexistenceOutcome()
    for name, value in _changes(payload, number_id):
        if name == HISTORY:
            for chunk in _list(value, "history"):
                _history_chunk(store, config, chunk, outcome)
        elif name == STATE_SYNC:
            for item in _list(value, "state_sync"):
                _contact(store, item, outcome)
        else:
            for echo in _list(value, "message_echoes"):
                _echo(store, config, echo, outcome)
    return outcome


def _changes(payload: dict[str, Any], number_id: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in _items(payload.get("entry")):
        for change in _items(entry.get("changes")) if isinstance(entry, dict) else []:
            if not isinstance(change, dict) or change.get("field") not in FIELDS:
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            ours = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if number_id and ours != number_id:
                continue  # another number's
            yield str(change["field"]), value


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _list(value: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [item for item in _items(value.get(key)) if isinstance(item, dict)]


def _at(value: Any) -> float | None:
    try:
        at = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return at if 0 < at < 1e11 else None


def _text(message: dict[str, Any]) -> str:
    text = message.get("text")
    return str(text.get("body") or "") if isinstance(text, dict) and message.get("type") == "text" else ""


# -- history -----------------------------------------------------------------------------------------------
def _history_chunk(store: Store, config: TownConfig, chunk: dict[str, Any], outcome: CoexistenceOutcome) -> None:
    for error in _list(chunk, "errors"):
        outcome.history_errors.append(f"{error.get('code')}: {str(error.get('title') or '')[:200]}")
        log.warning("history not shared: %s %s", error.get("code"), str(error.get("title") or "")[:200])
    wa = config.whatsapp
    if wa is None:
        return
    town = e164(wa.number)
    # The history holds the chats before the number was connected: a message dated later (the phone's clock ahead)
    # is taken as of the start of that day, a fixed bound, so a repeated chunk never outlives a live OFF written since.
    latest = _connected_on(config)
    for thread in _list(chunk, "threads"):
        citizen = e164(str(thread.get("id") or ""))
        if not citizen or citizen == town:
            continue
        keywords: list[tuple[float, Intent, str]] = []
        for message in _list(thread, "messages"):
            if e164(str(message.get("from") or "")) != citizen:
                continue  # written by the business (the town's number): not the citizen's consent
            text, at = _text(message), _at(message.get("timestamp"))
            wish = intent(text, wa) if text else Intent.OTHER
            if wish is not Intent.OTHER and at is not None:
                keywords.append((min(at, latest), wish, text))
        for at, wish, text in sorted(keywords, key=lambda k: k[0]):  # the last word wins
            if wish is Intent.ON:
                _history_on(store, citizen, at, text, outcome)
            else:
                _history_off(store, citizen, at, outcome)


def _connected_on(config: TownConfig) -> float:
    """The start of the day the number was connected (``coexistence.since``), in the town's time zone."""
    coex = config.whatsapp.coexistence if config.whatsapp else None
    if coex is None:
        return time.time()
    return datetime.combine(coex.since, dtime(0), tzinfo=config.timezone).timestamp()


def _history_on(store: Store, phone: str, at: float, text: str, outcome: CoexistenceOutcome) -> None:
    sub = store.subscribers.get(phone)
    if sub is not None and sub.status == "active":
        return
    if sub is not None and sub.opted_out_at is not None and sub.opted_out_at >= at:
        outcome.kept_out += 1  # they opted out after writing this: the opt-out is the last word
        return
    if store.subscribers.subscribe(phone, consent.HISTORY, text[:CONSENT_TEXT_MAX], at=at):
        outcome.subscribed += 1
        log.info("subscribed %s (keyword in the shared chat history)", mask(phone))


def _history_off(store: Store, phone: str, at: float, outcome: CoexistenceOutcome) -> None:
    at = min(at, time.time())
    sub = store.subscribers.get(phone)
    if sub is not None and sub.status == "active" and sub.consent_at is not None and sub.consent_at > at:
        return  # they subscribed again after this OFF
    if sub is None or sub.status != "active":
        # Phases arrive newest first: the ON this OFF withdraws may come in a later chunk. Recorded, it stays out.
        store.subscribers.opted_out_before_consent(phone, at)
        return
    if store.subscribers.unsubscribe(phone, at=at):
        outcome.unsubscribed += 1
        log.info("unsubscribed %s (OFF in the shared chat history)", mask(phone))


# -- the app's contacts ---------------------------------------------------------------------------------------
def _contact(store: Store, item: dict[str, Any], outcome: CoexistenceOutcome) -> None:
    contact = item.get("contact")
    if item.get("type") != "contact" or not isinstance(contact, dict):
        return
    phone = e164(str(contact.get("phone_number") or ""))
    if not phone:
        return
    metadata = item.get("metadata")
    at = _at(metadata.get("timestamp")) if isinstance(metadata, dict) else None
    if item.get("action") == "remove":
        store.candidates.removed(phone, at=at)
        outcome.contacts_removed += 1
    elif item.get("action") == "add":
        name = contact.get("full_name") or contact.get("first_name")
        store.candidates.seen(phone, str(name)[:200] if name else None, at=at)
        outcome.contacts_seen += 1


# -- what staff write from the phone app ---------------------------------------------------------------------
def _echo(store: Store, config: TownConfig, echo: dict[str, Any], outcome: CoexistenceOutcome) -> None:
    if not config.counter:
        return  # no counter: nothing keeps staff's messages
    citizen, wamid = e164(str(echo.get("to") or "")), echo.get("id")
    if not citizen or not wamid:
        return
    at = min(_at(echo.get("timestamp")) or time.time(), time.time())
    body = _text(echo) or f"[{str(echo.get('type') or 'messaggio')[:40]}]"
    if store.conversations.record_echo(citizen, str(wamid), body, at) is not None:
        outcome.echoes += 1
        log.info("counter: staff wrote to %s from the phone app", mask(citizen))
