"""Bulletin → the WhatsApp template message sent to list subscribers.

Messages to the lists are business-initiated, so they must be an approved
*utility* template. Ours has two named body parameters (``titolo``,
``sintesi``) and one URL button whose variable is the bulletin's path on
the site. The exact text to submit to Meta is :data:`BODY` (docs/comune/meta.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from site_tools.content import limits
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig

#: The template's body as submitted for approval (category UTILITY, language it).
BODY = "{{titolo}}\n\n{{sintesi}}\n\nTrovi tutti i dettagli sul sito del Comune."
BUTTON_LABEL = "Leggi l'avviso"
FOOTER = "Per non ricevere più avvisi scrivi {off}"
PARAMS = ("titolo", "sintesi")
URGENT_PREFIX = "URGENTE – "
#: A bulletin that withdraws another says so first, on the list too: its title alone could read as a new notice.
CANCEL_PREFIX = "ANNULLATO – "

_BREAKS = re.compile(r"[\r\n\t\v\f]+")
_SPACES = re.compile(r" {2,}")


def clean_param(text: str, limit: int) -> str:
    """A template parameter WhatsApp accepts: no newline or tab, no run of spaces (132018)."""
    text = _SPACES.sub(" ", _BREAKS.sub(" ", text)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def hydrate(body: str, values: dict[str, str]) -> str:
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values.get(m.group(1), m.group(0)), body)


@dataclass(frozen=True)
class TemplateMessage:
    name: str
    language: str
    params: dict[str, str]
    url_suffix: str
    callback: str
    site_url: str
    footer: str = ""
    body: str = BODY

    def payload(self, to: str) -> dict[str, Any]:
        """The Cloud API request body for one recipient (E.164 digits)."""
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "biz_opaque_callback_data": self.callback,
            "template": {
                "name": self.name,
                "language": {"code": self.language},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "parameter_name": key, "text": value} for key, value in self.params.items()
                        ],
                    },
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "0",
                        "parameters": [{"type": "text", "text": self.url_suffix}],
                    },
                ],
            },
        }

    @property
    def text(self) -> str:
        """What the citizen reads (for previews and the character count)."""
        return hydrate(self.body, self.params)

    @property
    def url(self) -> str:
        return self.site_url + self.url_suffix


def title_prefix(bulletin: Bulletin) -> str:
    """«ANNULLATO – » and «URGENTE – » before the title parameter (the template's text is fixed by Meta)."""
    return (CANCEL_PREFIX if bulletin.cancels else "") + (URGENT_PREFIX if bulletin.urgent else "")


def render_template(bulletin: Bulletin, config: TownConfig) -> TemplateMessage:
    category = config.category(bulletin.categories[0])
    name = category.template if category else "avviso_comunale"
    fixed = len(hydrate(BODY, dict.fromkeys(PARAMS, "")))
    room = limits.TEMPLATE_BODY_MAX - fixed
    prefix = title_prefix(bulletin)
    title = clean_param(prefix + bulletin.title, min(len(prefix) + limits.TITLE_MAX, room // 3))
    summary = clean_param(bulletin.summary, min(limits.SUMMARY_MAX, room - len(title)))
    off = config.whatsapp.off_message if config.whatsapp else "STOP"
    return TemplateMessage(
        name=name,
        language="it",
        params={"titolo": title, "sintesi": summary},
        url_suffix=bulletin.url_path,
        callback=bulletin.id,
        site_url=config.site_url,
        footer=FOOTER.format(off=off)[: limits.TEMPLATE_FOOTER_MAX],
    )


def submission(config: TownConfig) -> dict[str, Any]:
    """The template to submit to Meta for approval, as the Graph API wants it."""
    return {
        "name": "avviso_comunale",
        "language": "it",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "message_send_ttl_seconds": 43200,
        "components": [
            {
                "type": "BODY",
                "text": BODY,
                "example": {
                    "body_text_named_params": [
                        {"param_name": "titolo", "example": "Chiusura di via Roma"},
                        {
                            "param_name": "sintesi",
                            "example": "Dal 21 al 23 novembre via Roma è chiusa per lavori alla rete idrica.",
                        },
                    ]
                },
            },
            {"type": "FOOTER", "text": FOOTER.format(off=config.whatsapp.off_message if config.whatsapp else "STOP")},
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": BUTTON_LABEL,
                        "url": config.site_url + "{{1}}",
                        "example": [config.site_url + "notizie/2026/11/chiusura-via-roma/"],
                    }
                ],
            },
        ],
    }
