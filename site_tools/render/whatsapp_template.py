"""Bulletin → the WhatsApp template message sent to list subscribers.

Messages to the lists are business-initiated, so they must be an approved
*utility* template. Ours has two named body parameters (``titolo``,
``sintesi``) and one URL button whose variable is the bulletin's path on
the site. The exact text to submit to Meta is :data:`BODY` (docs/comune/meta.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from site_tools.content import limits
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.content.dates import MONTHS_IT, now
from site_tools.content.town import DEFAULT_TEMPLATE

#: The template's body as submitted for approval (category UTILITY, language it).
BODY = "{{titolo}}\n\n{{sintesi}}\n\nTrovi tutti i dettagli sul sito del Comune."
BUTTON_LABEL = "Leggi l'avviso"
FOOTER = "Per non ricevere più avvisi scrivi {off}"
PARAMS = ("titolo", "sintesi")
URGENT_PREFIX = "URGENTE – "
#: The list's last weeks (``extra.town.transition``): the same body, the end date, and a button to the Channel.
TRANSITION_SUFFIX = "_transizione"
TRANSITION_BODY = BODY + "\n\nLa lista finisce il {{fine}}: segui il Canale del Comune."
TRANSITION_PARAMS = (*PARAMS, "fine")
CHANNEL_BUTTON_LABEL = "Segui il Canale"
#: The one-off invitation to the Channel (``site-tools subscribers invite-channel``): no parameter, one button.
INVITE_NAME = "invito_canale"
INVITE_BODY = (
    "Gli avvisi del Comune arrivano anche sul suo Canale WhatsApp, gratis e senza dare il proprio numero. "
    "Per continuare a riceverli seguilo con il pulsante qui sotto."
)
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


def template_request(to: str, callback: str, name: str, language: str, components: list[Any]) -> dict[str, Any]:
    """The Cloud API request body that sends template ``name`` to one recipient (E.164 digits): every template
    message of the project (a bulletin, the Channel invitation, the re-confirmation) is this envelope."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "biz_opaque_callback_data": callback,
        "template": {"name": name, "language": {"code": language}, "components": components},
    }


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
    #: The Channel's link on a second, static button (the transition variant); "" for none.
    channel_url: str = ""

    def payload(self, to: str) -> dict[str, Any]:
        """The Cloud API request body for one recipient (E.164 digits)."""
        return template_request(
            to,
            self.callback,
            self.name,
            self.language,
            [
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
        )

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


def day_text(day: date) -> str:
    """``10 febbraio 2027`` (``1º marzo 2027``), after «il»."""
    return f"{day.day}{'º' if day.day == 1 else ''} {MONTHS_IT[day.month - 1]} {day.year}"


def render_template(bulletin: Bulletin, config: TownConfig, today: date | None = None) -> TemplateMessage:
    """The list's message as sent ``today`` (default: the town's today): during ``extra.town.transition`` the
    variant that announces the end of the list and links the Channel."""
    category = config.category(bulletin.categories[0])
    name = category.template if category else DEFAULT_TEMPLATE
    day = today or now(config.timezone).date()
    plan = config.transition
    # The variant exists for the list's own template only (transition_submission): a category's own template keeps
    # its name, or Meta would refuse every message of that category as an unknown template.
    transition = plan is not None and plan.active(day) and bool(config.channel_url) and name == DEFAULT_TEMPLATE
    body = TRANSITION_BODY if transition else BODY
    extra = {"fine": day_text(plan.until)} if transition and plan is not None else {}
    fixed = len(hydrate(body, {**dict.fromkeys(PARAMS, ""), **extra}))
    room = limits.TEMPLATE_BODY_MAX - fixed
    prefix = title_prefix(bulletin)
    title = clean_param(prefix + bulletin.title, min(len(prefix) + limits.TITLE_MAX, room // 3))
    summary = clean_param(bulletin.summary, min(limits.SUMMARY_MAX, room - len(title)))
    off = config.whatsapp.off_message if config.whatsapp else "STOP"
    return TemplateMessage(
        name=name + TRANSITION_SUFFIX if transition else name,
        language="it",
        params={"titolo": title, "sintesi": summary, **extra},
        url_suffix=bulletin.url_path,
        callback=bulletin.id,
        site_url=config.site_url,
        footer=FOOTER.format(off=off)[: limits.TEMPLATE_FOOTER_MAX],
        body=body,
        channel_url=(config.channel_url or "") if transition else "",
    )


def _footer(config: TownConfig) -> dict[str, Any]:
    return {"type": "FOOTER", "text": FOOTER.format(off=config.whatsapp.off_message if config.whatsapp else "STOP")}


def _examples(names: tuple[str, ...]) -> list[dict[str, str]]:
    examples = {
        "titolo": "Chiusura di via Roma",
        "sintesi": "Dal 21 al 23 novembre via Roma è chiusa per lavori alla rete idrica.",
        "fine": "10 febbraio 2027",
    }
    return [{"param_name": key, "example": examples[key]} for key in names]


def _read_button(config: TownConfig) -> dict[str, Any]:
    return {
        "type": "URL",
        "text": BUTTON_LABEL,
        "url": config.site_url + "{{1}}",
        "example": [config.site_url + "notizie/2026/11/chiusura-via-roma/"],
    }


def submission(config: TownConfig) -> dict[str, Any]:
    """The template to submit to Meta for approval, as the Graph API wants it."""
    return {
        "name": "avviso_comunale",
        "language": "it",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "message_send_ttl_seconds": 43200,
        "components": [
            {"type": "BODY", "text": BODY, "example": {"body_text_named_params": _examples(PARAMS)}},
            _footer(config),
            {"type": "BUTTONS", "buttons": [_read_button(config)]},
        ],
    }


def transition_submission(config: TownConfig) -> dict[str, Any] | None:
    """The list template's variant for ``extra.town.transition`` (None when the town plans none)."""
    if config.transition is None or not config.channel_url:
        return None
    channel = {"type": "URL", "text": CHANNEL_BUTTON_LABEL, "url": config.channel_url}
    return {
        **submission(config),
        "name": DEFAULT_TEMPLATE + TRANSITION_SUFFIX,
        "components": [
            {
                "type": "BODY",
                "text": TRANSITION_BODY,
                "example": {"body_text_named_params": _examples(TRANSITION_PARAMS)},
            },
            _footer(config),
            {"type": "BUTTONS", "buttons": [_read_button(config), channel]},
        ],
    }


def invite_submission(config: TownConfig) -> dict[str, Any] | None:
    """The one-off invitation to the Channel, declared with ``extra.town.transition`` (None without a plan)."""
    if config.whatsapp is None or not config.channel_url or config.transition is None:
        return None
    return {
        "name": INVITE_NAME,
        "language": "it",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "message_send_ttl_seconds": 43200,
        "components": [
            {"type": "BODY", "text": INVITE_BODY},
            _footer(config),
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": CHANNEL_BUTTON_LABEL, "url": config.channel_url}]},
        ],
    }


def invite_payload(to: str, callback: str) -> dict[str, Any]:
    """The Cloud API request body of the invitation for one recipient (the button's link is in the template)."""
    return template_request(to, callback, INVITE_NAME, "it", [])
