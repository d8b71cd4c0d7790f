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


# -- coexistence (a number kept in the WhatsApp Business app): history, the app's contacts, staff's echoes --------
#: Meta's history phases: day 0–1, days 1–90, days 90–180 before the number was connected.
HISTORY_PHASES = ((0, 1), (1, 90), (90, 180))
#: Meta's error when the business declined sharing the chats' history.
HISTORY_DECLINED = {
    "code": 2593109,
    "title": "History sync is turned off by the business",
    "message": "History sync is turned off by the business",
    "error_data": {"details": "The business declined sharing its chat history during onboarding."},
}


def change_body(field: str, value: dict[str, Any], waba_id: str = WABA_ID) -> bytes:
    """One change of ``field`` (``history``, ``smb_app_state_sync``, ``smb_message_echoes``…) for our number."""
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": waba_id,
                    "changes": [
                        {"field": field, "value": {"messaging_product": "whatsapp", "metadata": METADATA, **value}}
                    ],
                }
            ],
        }
    ).encode()


def history_chunks(
    threads: list[dict[str, Any]], business: str, now: float, per_chunk: int = 100
) -> list[dict[str, Any]]:
    """The ``history`` values for ``threads`` (``{"citizen", "messages": [{"text", "at", "by"}]}``, ``by`` is
    ``citizen`` or ``business``): phase by phase, newest first, each phase in chunks of ``per_chunk`` threads
    (a phase without messages is one chunk with its progress only)."""
    values: list[dict[str, Any]] = []
    for phase, (newest, oldest) in enumerate(HISTORY_PHASES):
        in_phase = []
        for thread in threads:
            citizen = str(thread["citizen"])
            messages = [
                {
                    "from": business if m.get("by") == "business" else citizen,
                    "id": f"wamid.history.{citizen}.{int(float(m['at']) * 1000)}.{i}",
                    "timestamp": str(int(float(m["at"]))),
                    "type": "text",
                    "text": {"body": str(m["text"])},
                    "history_context": {"status": "READ" if m.get("by") != "business" else "DELIVERED"},
                }
                for i, m in enumerate(thread.get("messages") or [])
                if newest * 86400 <= now - float(m["at"]) < oldest * 86400 or (phase == 0 and now < float(m["at"]))
            ]
            if messages:
                in_phase.append({"id": citizen, "messages": messages})
        groups = [in_phase[i : i + per_chunk] for i in range(0, len(in_phase), per_chunk)] or [[]]
        for order, group in enumerate(groups, 1):
            chunk: dict[str, Any] = {
                "metadata": {"phase": phase, "chunk_order": order, "progress": round(100 * order / len(groups))}
            }
            if group:
                chunk["threads"] = group
            values.append({"history": [chunk]})
    return values


def history_declined() -> dict[str, Any]:
    """The ``history`` value when the business declined sharing: an error instead of threads."""
    return {"history": [{"errors": [HISTORY_DECLINED]}]}


def state_sync(contacts: list[dict[str, Any]], now: float) -> dict[str, Any]:
    """The ``smb_app_state_sync`` value for ``contacts`` (``{"phone", "name", "action": "add"|"remove"}``)."""
    items = []
    for c in contacts:
        name = str(c.get("name") or "")
        items.append(
            {
                "type": "contact",
                "contact": {"full_name": name, "first_name": name.split(" ")[0], "phone_number": str(c["phone"])},
                "action": str(c.get("action") or "add"),
                "metadata": {"timestamp": str(int(float(c.get("at") or now)))},
            }
        )
    return {"state_sync": items}


def message_echoes(echoes: list[dict[str, Any]], business: str, now: float) -> dict[str, Any]:
    """The ``smb_message_echoes`` value for what staff wrote in the app (``{"to", "text", "at"}``)."""
    return {
        "message_echoes": [
            {
                "from": business,
                "to": str(e["to"]),
                "id": f"wamid.echo.{e['to']}.{int(float(e.get('at') or now) * 1000)}.{i}",
                "timestamp": str(int(float(e.get("at") or now))),
                "type": "text",
                "text": {"body": str(e["text"])},
            }
            for i, e in enumerate(echoes)
        ]
    }
