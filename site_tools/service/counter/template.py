"""The approved template for answers outside WhatsApp's 24-hour customer-service window.

Inside the window staff answer in free text; outside it WhatsApp accepts
only an approved template (error 131047 otherwise). Ours carries the answer
as a parameter, so a parameter's rules apply: one paragraph (no newline or
tab, no run of spaces), and the whole body within 1,024 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from site_tools.content import limits
from site_tools.content.config import TownConfig
from site_tools.render.whatsapp_template import clean_param, hydrate

#: The body as submitted for approval (category UTILITY, language it, named parameters).
BODY = (
    "Risposta dello sportello del Comune al tuo messaggio del {{data}}:\n\n{{risposta}}\n\n"
    "Per altre domande puoi scrivere qui."
)
PARAMS = ("data", "risposta")
#: Room left for the answer once the fixed text and a date are in.
ANSWER_MAX = limits.TEMPLATE_BODY_MAX - len(hydrate(BODY, {"data": "00/00/0000", "risposta": ""}))


@dataclass(frozen=True)
class CounterTemplate:
    name: str
    params: dict[str, str]

    def component(self) -> dict[str, Any]:
        """The ``template`` object of a Cloud API message."""
        return {
            "name": self.name,
            "language": {"code": "it"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "parameter_name": key, "text": value} for key, value in self.params.items()
                    ],
                }
            ],
        }

    @property
    def text(self) -> str:
        return hydrate(BODY, self.params)


def answer_template(config: TownConfig, answer: str, asked: datetime) -> CounterTemplate:
    """The template carrying ``answer`` (made one paragraph) to a question asked at ``asked``.

    Raises ValueError when the answer does not fit.
    """
    assert config.counter is not None
    text = clean_param(answer, 10**6)
    if not text:
        raise ValueError("la risposta è vuota.")
    if len(text) > ANSWER_MAX:
        raise ValueError(f"fuori dalla finestra di 24 ore la risposta può avere al massimo {ANSWER_MAX} caratteri.")
    date = asked.astimezone(config.timezone).strftime("%d/%m/%Y")
    return CounterTemplate(config.counter.template, {"data": date, "risposta": text})


def submission(config: TownConfig) -> dict[str, Any]:
    """The template to submit to Meta for approval (Graph API shape)."""
    assert config.counter is not None
    return {
        "name": config.counter.template,
        "language": "it",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": BODY,
                "example": {
                    "body_text_named_params": [
                        {"param_name": "data", "example": "24/11/2026"},
                        {
                            "param_name": "risposta",
                            "example": "La carta d'identità si rinnova su appuntamento all'ufficio anagrafe.",
                        },
                    ]
                },
            }
        ],
    }
