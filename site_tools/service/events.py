"""What the subscriptions service does with each webhook event.

Inbound text → keyword opt-in / opt-out (stored with the consent record)
or an automatic answer (one a day, and one per closed stretch of the
office); status updates → the delivery ledger. Everything here is idempotent: Meta delivers at least once and in
any order, and a replayed payload changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from site_tools.content.config import TownConfig
from site_tools.phones import e164, mask, mask_all, sender_hash
from site_tools.render import reconfirm_template
from site_tools.render.digest import ID_PREFIX as DIGEST_PREFIX
from site_tools.service import coexistence, replies
from site_tools.service.counter import inbound as counter_inbound
from site_tools.service.keywords import Intent, intent
from site_tools.service.keywords import choice as keyword_choice
from site_tools.service.meta_health import ACCOUNT_FIELDS, apply_account_changes
from site_tools.store import Store, consent
from site_tools.store.choices import DEFAULT, offered
from site_tools.store.database import StoreUnavailable, store_bug
from site_tools.store.inbox import MESSAGE, STATUS
from site_tools.store.ledger import Receipt

log = logging.getLogger("site_tools.service.events")

#: An opt-out confirmation waits this long, so that a fan-out already running
#: has seen the opt-out (it polls every 100 ms) before the citizen reads "done".
OFF_CONFIRMATION_DELAY = 1.0
#: A status webhook's failure code meaning "the citizen stopped marketing messages".
STOPPED_MARKETING = 131050


@dataclass
class Outcome:
    subscribed: int = 0
    unsubscribed: int = 0
    repeated: int = 0
    chosen: int = 0  # subscribers who changed their choice (store/choices.py)
    auto_answers: int = 0
    statuses: int = 0
    held: int = 0  # receipts for sends not recorded yet: matched again later
    foreign: int = 0  # changes for another phone number: ignored
    account: int = 0  # template status and number quality changes (meta_health)
    coex: coexistence.CoexistenceOutcome | None = None  # history, the app's contacts, staff's echoes
    ignored: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # items that failed on their own (the others were applied)


def parse(body: str | bytes) -> dict[str, Any]:
    """Meta's envelope, or ValueError (a permanent problem: retrying will not help)."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not JSON: {type(exc).__name__}") from exc
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise ValueError("not a WhatsApp Business Account event")
    return payload


def values(payload: dict[str, Any], number_id: str | None, outcome: Outcome) -> Iterator[dict[str, Any]]:
    """The ``value`` of every change for our number (another number's are counted and skipped)."""
    for entry in _items(payload.get("entry")):
        for change in _items(entry.get("changes")) if isinstance(entry, dict) else []:
            if isinstance(change, dict) and change.get("field") in ACCOUNT_FIELDS + coexistence.FIELDS:
                continue  # the account's and coexistence's changes: process_event hands them on
            if not isinstance(change, dict) or change.get("field") not in ("messages", "user_preferences"):
                outcome.ignored.append(str(change.get("field") if isinstance(change, dict) else change)[:50])
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                outcome.ignored.append("change without value")
                continue
            ours = (
                (value.get("metadata") or {}).get("phone_number_id")
                if isinstance(value.get("metadata"), dict)
                else None
            )
            if number_id and ours != number_id:
                outcome.foreign += 1
                continue
            yield value


def process_event(
    store: Store, config: TownConfig, body: str, now: datetime | None = None, number_id: str | None = None
) -> Outcome:
    """Apply one webhook POST body, each message and status on its own.

    Raises ValueError for a body that is not Meta's shape (park it) and
    :class:`StoreUnavailable` for a transient failure (retry the whole event:
    everything here is idempotent). A database error that is a bug
    (:func:`~site_tools.store.database.store_bug`) is raised as it is. Any
    other failure of one item is recorded in ``Outcome.errors`` and the other
    items are still applied.
    """
    payload = parse(body)
    outcome = Outcome()
    for value in values(payload, number_id, outcome):
        items = [
            *((_message, (store, config, m, now, outcome)) for m in _list(value, "messages")),
            *((_status, (store, s, outcome, bool(config.counter))) for s in _list(value, "statuses")),
            *((_preference, (store, u, outcome)) for u in _list(value, "user_preferences")),
        ]
        for handle, args in items:
            try:
                handle(*args)  # type: ignore[operator]
            except StoreUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad item must not cost the others
                if store_bug(exc):
                    raise  # a bug in the SQL would fail every item of every event: stop the worker instead
                outcome.errors.append(mask_all(f"{handle.__name__.strip('_')}: {type(exc).__name__}: {exc}")[:300])
    outcome.account = apply_account_changes(store, payload)
    outcome.coex = coexistence.apply_changes(store, config, payload, number_id)
    return outcome


def apply_opt_outs(store: Store, config: TownConfig, payload: dict[str, Any], number_id: str | None) -> Outcome:
    """The request's own fast path: an OFF keyword is applied before Meta gets its 200.

    The opt-out is one row; a fan-out already running sees it at its next poll
    (every 100 ms). The message is then marked as seen, so the worker that
    processes the stored event later does not apply it twice. Only a citizen
    who is subscribed now is unsubscribed here: one whose ON is still waiting
    for the worker (in this very POST, or in an earlier one while the worker
    is behind) is left to the worker, which applies both in order — the last
    word wins.
    """
    outcome = Outcome()
    wa = config.whatsapp
    if wa is None:
        return outcome
    for value in values(payload, number_id, outcome):
        for message in _list(value, "messages"):
            if message.get("type") != "text" or intent(_text(message), wa) is not Intent.OFF:
                continue
            phone = e164(str(message.get("from") or ""))
            sub = store.subscribers.get(phone) if phone else None
            if sub is not None and sub.status == "active":
                _message(store, config, message, None, outcome)
    return outcome


def _items(value: Any) -> list[Any]:
    """A JSON list, or nothing: a signed body of another shape is ignored, never a crash."""
    return value if isinstance(value, list) else []


def _list(value: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = value.get(key) or []
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _text(message: dict[str, Any]) -> str:
    text = message.get("text")
    return str(text.get("body") or "") if isinstance(text, dict) and message.get("type") == "text" else ""


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
        if not store.inbox.first_time(str(wamid), sender_hash(phone)):
            outcome.repeated += 1
            return
        button = _button(message)
        if button is not None:
            yes = reconfirm_template.answer_of(button)
            if yes is not None:
                _reconfirmed(store, config, phone, yes, sent_at, outcome)
                return
        text = _text(message)
        picked = (
            keyword_choice(text, config.whatsapp, offered(config.digest is not None))
            if text and config.whatsapp
            else None
        )
        if picked is not None:
            _chose(store, config, phone, picked, text, sent_at, outcome)
            return
        wish = intent(text, config.whatsapp) if text and config.whatsapp else Intent.OTHER
        if wish is Intent.ON:
            if _older_than_opt_out(store, phone, sent_at):
                outcome.repeated += (
                    1  # an ON written before the OFF that was already applied: the OFF was the last word
                )
                log.info("ON from %s older than their OFF: ignored", mask(phone))
            elif store.subscribers.subscribe(phone, consent.KEYWORD, text[:200], at=sent_at):
                store.outbox.queue(phone, replies.subscribed(config, _choice_of(store, phone)))
                outcome.subscribed += 1
                log.info("subscribed %s", mask(phone))
            else:
                outcome.repeated += 1
        elif wish is Intent.OFF:
            # Recorded at the moment the citizen wrote it, so an ON written before it cannot undo it.
            if store.subscribers.unsubscribe(phone, at=min(sent_at, time.time())):
                store.outbox.queue(phone, replies.unsubscribed(config), not_before=time.time() + OFF_CONFIRMATION_DELAY)
                outcome.unsubscribed += 1
                log.info("unsubscribed %s", mask(phone))
            else:
                if config.whatsapp and config.whatsapp.coexistence is not None:
                    # Nobody to unsubscribe yet: the chat history, still to come, may hold an older ON. Recorded,
                    # that ON never subscribes them (coexistence._history_on).
                    store.subscribers.opted_out_before_consent(phone, min(sent_at, time.time()))
                outcome.repeated += 1
        else:
            if config.counter:  # the one-to-one counter keeps what is not a keyword
                counter_inbound.record(store, phone, message, sent_at)
            if store.inbox.auto_reply_due(phone, replies.automatic_turn(config, moment)):
                store.outbox.queue(phone, replies.automatic(config, moment))
                outcome.auto_answers += 1


def _chose(
    store: Store, config: TownConfig, phone: str, picked: str, text: str, sent_at: float, outcome: Outcome
) -> None:
    """A choice keyword: a subscriber's new choice, or (from someone not subscribed) an opt-in with that choice,
    consent recorded as for ON."""
    sub = store.subscribers.get(phone)
    if sub is not None and sub.status == "active":
        if store.subscribers.choose(phone, picked):
            store.outbox.queue(phone, replies.chosen(config, picked))
            outcome.chosen += 1
            log.info("%s chose %s", mask(phone), picked)
        else:
            outcome.repeated += 1
    elif _older_than_opt_out(store, phone, sent_at):
        outcome.repeated += 1  # written before the OFF already applied: the OFF was the last word
        log.info("choice from %s older than their OFF: ignored", mask(phone))
    elif store.subscribers.subscribe(phone, consent.KEYWORD, text[:200], at=sent_at, choice=picked):
        store.outbox.queue(phone, replies.subscribed(config, picked))
        outcome.subscribed += 1
        log.info("subscribed %s (%s)", mask(phone), picked)
    else:
        outcome.repeated += 1


def _button(message: dict[str, Any]) -> dict[str, Any] | None:
    """A tapped button as ``{payload, text}``: a template's quick reply (type ``button``) or an interactive
    message's reply button (type ``interactive``, ``button_reply: {id, title}``); None for anything else."""
    if message.get("type") == "button" and isinstance(message.get("button"), dict):
        return dict(message["button"])
    interactive = message.get("interactive")
    if message.get("type") == "interactive" and isinstance(interactive, dict):
        reply = interactive.get("button_reply")
        if isinstance(reply, dict):
            return {"payload": reply.get("id"), "text": reply.get("title")}
    return None


def _reconfirmed(store: Store, config: TownConfig, phone: str, yes: bool, sent_at: float, outcome: Outcome) -> None:
    """A contact's answer to the re-confirmation: only someone asked (and not yet answered) changes state."""
    if not store.candidates.answer(phone, yes, at=sent_at):
        outcome.ignored.append("re-confirmation answer from someone not asked")
        return
    if not yes:
        log.info("re-confirmation declined by %s", mask(phone))
        return
    note = f"ha risposto «{reconfirm_template.YES}» al messaggio {reconfirm_template.NAME}"
    if store.subscribers.subscribe(phone, consent.RECONFIRMED, note, at=sent_at):
        store.outbox.queue(phone, replies.subscribed(config, _choice_of(store, phone)))
        outcome.subscribed += 1
        log.info("subscribed %s (re-confirmed)", mask(phone))
    else:
        outcome.repeated += 1


def _choice_of(store: Store, phone: str) -> str:
    """What a subscriber receives now: a returning one keeps the choice they had made."""
    sub = store.subscribers.get(phone)
    return sub.choice if sub is not None else DEFAULT


def _older_than_opt_out(store: Store, phone: str, sent_at: float) -> bool:
    sub = store.subscribers.get(phone)
    return bool(sub and sub.status != "active" and sub.opted_out_at is not None and sub.opted_out_at >= sent_at)


def receipt(status: dict[str, Any]) -> Receipt | None:
    """A status item as the ledger applies it; None when it is not one (no id, a state we do not track).

    Raises ValueError for an error code no database column holds (not Meta's: a person looks at the event)."""
    wamid, state = status.get("id"), status.get("status")
    if not wamid or state not in ("sent", "delivered", "read", "failed"):
        return None
    code = None
    errors = status.get("errors") or []
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and isinstance(errors[0].get("code"), int):
        code = errors[0]["code"]
        if not -(2**31) <= code < 2**31:
            raise ValueError("error code out of range")
    phone = e164(str(status.get("recipient_id") or ""))
    callback = status.get("biz_opaque_callback_data")
    try:
        at: float | None = float(status.get("timestamp") or "")
    except (TypeError, ValueError, OverflowError):
        at = None
    return Receipt(str(wamid), phone, str(state), str(callback) if callback is not None else None, code, at)


def _status(store: Store, status: dict[str, Any], outcome: Outcome, counter: bool = False) -> None:
    r = receipt(status)
    if r is None:
        outcome.ignored.append(f"status {str(status.get('status'))[:20]!r}")
        return
    wamid, phone, state, callback, code, _ = r
    result = store.ledger.apply_status(wamid, phone, state, callback, code)
    if result == "unmatched":
        if not callback and _reply_status(store, wamid, state, code, counter):
            outcome.statuses += 1
            return
        store.ledger.hold_receipt(wamid, phone, state, callback, code)
        outcome.held += 1
        return
    if result == "applied":
        outcome.statuses += 1
    if code == 131026 and phone and result == "applied":
        sub = store.subscribers.get(phone)
        if sub:
            store.subscribers.record_undeliverable([sub.id])
    stopped_marketing(store, r, outcome)


def stopped_marketing(store: Store, r: Receipt, outcome: Outcome) -> None:
    """131050 (the citizen stopped marketing messages): Meta says treat it as an opt-out. Recorded at the moment
    the receipt says it happened, as an OFF is at the moment it was written: an «ON» written after it still wins."""
    if r.error_code != STOPPED_MARKETING or not r.phone:
        return
    if (r.callback or "").startswith(DIGEST_PREFIX):
        # On the weekly digest (a marketing message): out of the digest, not off the list — the urgent bulletins
        # (utility) still reach them. Staff see the count in «site-tools digest preview».
        if store.subscribers.stop_marketing(r.phone):
            log.warning("%s stopped marketing messages (131050): no more weekly digest, urgent only", mask(r.phone))
        return
    at = min(r.at, time.time()) if r.at is not None and r.at > 0 else None
    if store.subscribers.unsubscribe(r.phone, at=at):
        outcome.unsubscribed += 1
        log.info("unsubscribed %s (131050: stopped marketing messages)", mask(r.phone))


def _reply_status(store: Store, wamid: str, state: str, code: int | None, counter: bool) -> bool:
    """A receipt for one of our replies (a confirmation, a counter answer), not for a bulletin: True if it was."""
    if not store.outbox.has_wamid(wamid):
        return False
    if counter:  # the counter shows staff whether their answer arrived
        store.conversations.apply_status(wamid, state, code)
    return True


def rematch_receipts(store: Store, counter: bool, keep_for: float) -> tuple[int, int]:
    """Held receipts, tried again: those that now match a send (or a reply) are applied, those older than
    ``keep_for`` seconds are dropped. Returns (matched, dropped)."""
    matched = dropped = 0
    now = time.time()
    for held in store.ledger.held_receipts():
        result = store.ledger.apply_status(held.wamid, held.phone, held.status, held.callback, held.error_code,
                                           at=held.received_at)  # fmt: skip
        if result != "unmatched" or (
            not held.callback and _reply_status(store, held.wamid, held.status, held.error_code, counter)
        ):
            matched += 1
        elif now - held.received_at <= keep_for:
            continue
        else:
            dropped += 1
        store.ledger.drop_held(held.id)
    return matched, dropped


def _preference(store: Store, item: dict[str, Any], outcome: Outcome) -> None:
    """``user_preferences``: a citizen who stops marketing messages from us is unsubscribed (a resume is not an ON)."""
    phone = e164(str(item.get("wa_id") or ""))
    if phone and item.get("category") == "marketing_messages" and item.get("value") == "stop":
        if store.subscribers.unsubscribe(phone):
            outcome.unsubscribed += 1
            log.info("unsubscribed %s (marketing preference: stop)", mask(phone))
    else:
        outcome.ignored.append("user preference")


def kind_of(payload: dict[str, Any], number_id: str | None) -> str:
    """How the worker should take a stored event: ``status`` when it carries receipts and nothing else (applied in
    batches, after any waiting message), else ``message`` (a citizen wrote, or a shape we do not know: first, on
    its own). A mixed event counts as a message; so does a receipt saying the citizen stopped marketing messages
    (131050, an opt-out): it keeps its place among their messages, so an «ON» written after it still wins."""
    if payload.get("object") != "whatsapp_business_account":
        return MESSAGE
    probe, statuses = Outcome(), 0
    for value in values(payload, number_id, probe):
        if _list(value, "messages") or _list(value, "user_preferences"):
            return MESSAGE
        for status in _list(value, "statuses"):
            errors = status.get("errors")
            if isinstance(errors, list) and any(
                isinstance(e, dict) and e.get("code") == STOPPED_MARKETING for e in errors
            ):
                return MESSAGE
            statuses += 1
    return STATUS if statuses and not probe.ignored else MESSAGE
