"""A citizen's message that is not a keyword → a message in their counter conversation.

Called by :mod:`site_tools.service.events` inside the transaction that marks
the message as seen, so a conversation gets each message exactly once
however often Meta delivers it. Media arrive as an id: the medium itself is
fetched later by :mod:`.media` (never in the webhook's path).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from site_tools.phones import mask
from site_tools.store import Store
from site_tools.store.conversations import Inbound

log = logging.getLogger("site_tools.counter")

MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
#: Not a question: a reaction to one of our messages never opens a conversation.
IGNORED_TYPES = ("reaction",)
BODY_MAX = 10_000


def parse(message: dict[str, Any], sent_at: float) -> Inbound | None:
    """What to keep of one webhook message (None: nothing for the counter)."""
    kind = str(message.get("type") or "unsupported")
    if kind in IGNORED_TYPES:
        return None
    at = min(sent_at, time.time())
    wamid = str(message.get("id"))
    if kind in MEDIA_TYPES:
        media = _part(message, kind)
        return Inbound(
            wamid,
            kind,
            _text(media.get("caption")),
            at,
            media_id=str(media["id"]) if media.get("id") else None,
            media_mime=_text(media.get("mime_type"), 100),
            media_sha256=_text(media.get("sha256"), 200),
            media_filename=_text(media.get("filename"), 200),
        )
    return Inbound(wamid, kind if kind in KNOWN else "unsupported", _describe(kind, message), at)


def _part(message: dict[str, Any], kind: str) -> dict[str, Any]:
    part = message.get(kind)
    return part if isinstance(part, dict) else {}


def _text(value: Any, limit: int = BODY_MAX) -> str | None:
    return str(value)[:limit] if isinstance(value, str | int | float) and str(value).strip() else None


def _describe(kind: str, message: dict[str, Any]) -> str | None:
    part = _part(message, kind)
    if kind == "text":
        return _text(part.get("body"))
    if kind == "location":
        where = ", ".join(str(part[k]) for k in ("name", "address") if part.get(k))
        coordinates = f"{part.get('latitude')}, {part.get('longitude')}"
        return f"📍 Posizione: {where} ({coordinates})" if where else f"📍 Posizione: {coordinates}"
    if kind == "contacts":
        names = [str((c.get("name") or {}).get("formatted_name") or "") for c in message.get("contacts") or []]
        return "👤 Contatto condiviso: " + (", ".join(n for n in names if n) or "senza nome")
    if kind == "interactive":
        reply = part.get("button_reply") or part.get("list_reply") or {}
        return _text(reply.get("title")) if isinstance(reply, dict) else None
    if kind == "button":
        return _text(part.get("text"))
    errors = message.get("errors") or []
    detail = errors[0].get("title") if errors and isinstance(errors[0], dict) else None
    return "Messaggio di un tipo che WhatsApp non inoltra" + (f" ({detail})" if detail else "") + "."


KNOWN = ("text", "location", "contacts", "interactive", "button", *MEDIA_TYPES)


def record(store: Store, phone: str, message: dict[str, Any], sent_at: float) -> int | None:
    """Store the message in the citizen's conversation; returns the conversation id (None: ignored)."""
    inbound = parse(message, sent_at)
    if inbound is None:
        return None
    conversation_id, _ = store.conversations.record_inbound(phone, inbound)
    log.info("counter: %s message from %s in conversation %s", inbound.kind, mask(phone), conversation_id)
    return conversation_id
