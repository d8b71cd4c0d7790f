"""Meta's webhook envelope and signature, in one place.

The subscriptions service checks signatures with :func:`valid_signature`; the
simulator, the demo and the opt-in benchmark build and sign events with the
other functions (tests keep their own, independent copies).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

WABA_ID = "102290129340398"
METADATA = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}


def signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(signature(secret, body), header)


def event_body(value: dict[str, Any], waba_id: str = WABA_ID) -> bytes:
    """One "messages" change; ``json.dumps`` escapes non-ASCII as Meta does (``\\u00e0``)."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp", "metadata": METADATA, **value}}]}]}).encode()


def inbound_text(phone: str, text: str, wamid: str, name: str = "Cittadino") -> bytes:
    return event_body({
        "contacts": [{"profile": {"name": name}, "wa_id": phone}],
        "messages": [{"from": phone, "id": wamid, "timestamp": str(int(time.time())), "type": "text",
                      "text": {"body": text}}]})
