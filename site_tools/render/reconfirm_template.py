"""The re-confirmation message: one template asking each contact of the app whether to go on receiving the notices.

Sent once per person to the WhatsApp Business app's contacts (coexistence, ``candidates: riconferma``). Category
UTILITY: it is not promotional, it concerns a public service the person already receives from the town, and it asks
only whether to keep it (docs/reference/messaging-apis.md, «Re-confirmation»). Two quick-reply buttons; the answer
comes back as an inbound ``button`` message carrying the payload set here at send time.
"""

from __future__ import annotations

from typing import Any

from site_tools.content.config import TownConfig
from site_tools.render.whatsapp_template import template_request

NAME = "conferma_iscrizione"
LANGUAGE = "it"
CATEGORY = "UTILITY"
#: The body as submitted for approval: the town's name is a named parameter.
BODY = (
    "Il {{comune}} ha collegato questo numero al suo nuovo servizio di avvisi. Vuoi continuare a ricevere qui gli "
    "avvisi del Comune (allerte, chiusure di strade, scadenze e servizi)? Se non rispondi non riceverai più avvisi."
)
YES, NO = "Sì, continuo", "No"
#: The payloads the buttons carry back (the inbound ``button.payload``); the label is the fallback.
YES_PAYLOAD, NO_PAYLOAD = "riconferma_si", "riconferma_no"


def town_name(config: TownConfig) -> str:
    return config.name


def answer_of(button: dict[str, Any]) -> bool | None:
    """True for «Sì, continuo», False for «No», None for any other button (another template's)."""
    payload, text = str(button.get("payload") or ""), str(button.get("text") or "").strip()
    if payload == YES_PAYLOAD or (not payload and text == YES):
        return True
    if payload == NO_PAYLOAD or (not payload and text == NO):
        return False
    return None


def submission(config: TownConfig) -> dict[str, Any]:
    """The template to submit to Meta for approval, as the Graph API wants it."""
    return {
        "name": NAME,
        "language": LANGUAGE,
        "category": CATEGORY,
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": BODY,
                "example": {"body_text_named_params": [{"param_name": "comune", "example": town_name(config)}]},
            },
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": YES}, {"type": "QUICK_REPLY", "text": NO}]},
        ],
    }


def payload(to: str, config: TownConfig, callback: str) -> dict[str, Any]:
    """The Cloud API request body for one contact (E.164 digits)."""
    buttons = [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(i),
            "parameters": [{"type": "payload", "payload": p}],
        }
        for i, p in enumerate((YES_PAYLOAD, NO_PAYLOAD))
    ]
    body = {"type": "body", "parameters": [{"type": "text", "parameter_name": "comune", "text": town_name(config)}]}
    return template_request(to, callback, NAME, LANGUAGE, [body, *buttons])


def text(config: TownConfig) -> str:
    """What the contact reads (previews)."""
    return BODY.replace("{{comune}}", town_name(config)) + f"\n[«{YES}»] [«{NO}»]"


def wanted(config: TownConfig) -> bool:
    """Whether this town sends the re-confirmation (the app's contacts become subscribers only by answering it)."""
    wa = config.whatsapp
    return bool(wa and wa.coexistence and wa.coexistence.candidates == "riconferma")
