"""Meta webhook events as the simulator, the demo and the benchmarks build them (tests keep their own copies)."""

from __future__ import annotations

import json
import time
from typing import Any

WABA_ID = "102290129340398"


METADATA = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}


def event_body(value: dict[str, Any], waba_id: str = WABA_ID) -> bytes:
    """One "messages" change; ``json.dumps`` escapes non-ASCII as Meta does (``\\u00e0``)."""
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": waba_id,
                    "changes": [
                        {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": METADATA, **value}}
                    ],
                }
            ],
        }
    ).encode()


def inbound_text(phone: str, text: str, wamid: str, name: str = "Cittadino") -> bytes:
    return event_body(
        {
            "contacts": [{"profile": {"name": name}, "wa_id": phone}],
            "messages": [
                {"from": phone, "id": wamid, "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}
            ],
        }
    )
