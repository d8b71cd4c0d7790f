"""The «Scegli cosa ricevere» block of the signup page: one click-to-chat link per choice (store/choices.py),
the keyword already typed. A link works to subscribe and, later, to change what one receives."""

from __future__ import annotations

import html

from site_tools.content.config import TownConfig
from site_tools.store.choices import DESCRIPTIONS, offered


def choices_markdown(config: TownConfig) -> str:
    """The block, in Markdown, for the WhatsApp list's section; nothing without the list."""
    wa = config.whatsapp
    if wa is None:
        return ""
    lines = "\n".join(
        f"- [{html.escape(DESCRIPTIONS[c].capitalize(), quote=False)}]({wa.chat_link(wa.choice_message(c))})"
        f"{{ .st-choice }}: scrivi «{wa.choice_message(c)}»"
        for c in offered(config.digest is not None)
    )
    return (
        "\n### Scegli cosa ricevere\n\n"
        "Se vuoi solo le emergenze, non serve bloccare il numero: scegli cosa ricevere. Tocca una scelta "
        "(il messaggio è già scritto) e invialo; vale anche per iscriversi.\n\n"
        f"{lines}\n\n"
        "Puoi cambiare quando vuoi allo stesso modo: la risposta conferma la tua scelta.\n"
    )
