"""What the subscriptions service does with each webhook event.

Inbound text → keyword opt-in / opt-out (stored with the consent record)
or one automatic answer per citizen per day; status updates → the delivery
ledger. Everything here is idempotent: Meta delivers at least once and in
any order, and a replayed payload changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from site_tools.content.config import TownConfig
from site_tools.phones import e164, mask
from site_tools.service import replies
from site_tools.service.counter import inbound as counter_inbound
from site_tools.service.keywords import Intent, intent
from site_tools.store import Store

log = logging.getLogger("site_tools.service.events")

#: An opt-out confirmation waits this long, so that a fan-out already running
#: has seen the opt-out (it polls every 100 ms) before the citizen reads "done".
OFF_CONFIRMATION_DELAY = 1.0


@dataclass
class Outcome:
    subscribed: int = 0
    unsubscribed: int = 0
    repeated: int = 0
    auto_answers: int = 0
    statuses: int = 0
    ignored: list[str] = field(default_factory=list)


def process_event(store: Store, config: TownConfig, body: str, now: datetime | None = None) -> Outcome:
    """Apply one webhook POST body. Raises ValueError on a body that is not Meta's shape."""
    payload = json.loads(body)
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise ValueError("not a WhatsApp Business Account event")
    outcome = Outcome()
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            if not isinstance(change, dict) or change.get("field") != "messages":
                outcome.ignored.append(str(change.get("field") if isinstance(change, dict) else change))
                continue
            value = change.get("value") or {}
            for message in value.get("messages") or []:
                _message(store, config, message, now, outcome)
            for status in value.get("statuses") or []:
                _status(store, status, outcome, counter=bool(config.counter))
    return outcome


def _message(store: Store, config: TownConfig, message: dict[str, Any], now: datetime | None, outcome: Outcome) -> None:
    wamid, sender = message.get("id"), message.get("from")
    phone = e164(str(sender or ""))
    if not wamid or not phone:
        outcome.ignored.append("message without id or sender")
        return
    try:
        sent_at = float(message.get("timestamp") or time.time())
    except (TypeError, ValueError):
        sent_at = time.time()
    moment = now or datetime.fromtimestamp(time.time(), config.timezone)
    with store.db.transaction():
        if not store.inbox.first_time(str(wamid)):
            outcome.repeated += 1
            return
        text = str((message.get("text") or {}).get("body") or "") if message.get("type") == "text" else ""
        wish = intent(text, config.whatsapp) if text and config.whatsapp else Intent.OTHER
        if wish is Intent.ON:
            if store.subscribers.subscribe(phone, "whatsapp", text[:200], at=sent_at):
                store.outbox.queue(phone, replies.subscribed(config))
                outcome.subscribed += 1
                log.info("subscribed %s", mask(phone))
            else:
                outcome.repeated += 1
        elif wish is Intent.OFF:
            if store.subscribers.unsubscribe(phone, at=time.time()):
                store.outbox.queue(phone, replies.unsubscribed(config), not_before=time.time() + OFF_CONFIRMATION_DELAY)
                outcome.unsubscribed += 1
                log.info("unsubscribed %s", mask(phone))
            else:
                outcome.repeated += 1
        else:
            if config.counter:  # the one-to-one counter keeps what is not a keyword (issue 15)
                counter_inbound.record(store, phone, message, sent_at)
            if store.inbox.auto_reply_due(phone, moment.astimezone(config.timezone).date().isoformat()):
                store.outbox.queue(phone, replies.automatic(config, moment))
                outcome.auto_answers += 1


def _status(store: Store, status: dict[str, Any], outcome: Outcome, counter: bool = False) -> None:
    wamid, state = status.get("id"), status.get("status")
    if not wamid or state not in ("sent", "delivered", "read", "failed"):
        outcome.ignored.append(f"status {state!r}")
        return
    code = None
    errors = status.get("errors") or []
    if errors and isinstance(errors[0], dict) and isinstance(errors[0].get("code"), int):
        code = errors[0]["code"]
    phone = e164(str(status.get("recipient_id") or ""))
    if store.ledger.apply_status(str(wamid), phone, state, status.get("biz_opaque_callback_data"), code):
        outcome.statuses += 1
        if code == 131026 and phone:
            sub = store.subscribers.get(phone)
            if sub:
                store.subscribers.record_undeliverable([sub.id])
    elif counter and store.conversations.apply_status(str(wamid), state, code):  # a counter answer (issue 15)
        outcome.statuses += 1
