"""Who a bulletin reaches on the WhatsApp list, choice by choice (store/choices.py): for previews and dry runs."""

from __future__ import annotations

from collections.abc import Mapping

from site_tools.formatting import count, number
from site_tools.store.choices import CHOICES, NAMES, kind_of, receives


def reached(by_choice: Mapping[str, int], urgent: bool) -> int:
    """Active subscribers whose choice gets this bulletin."""
    return sum(by_choice.get(c, 0) for c in receives(kind_of(urgent)))


def describe(by_choice: Mapping[str, int], urgent: bool) -> str:
    """``10 destinatari (scelta «tutto»: 10; non lo ricevono «solo urgenti»: 5, «settimanale»: 3)``."""
    chosen = receives(kind_of(urgent))
    yes = [f"«{NAMES[c]}»: {number(by_choice.get(c, 0))}" for c in CHOICES if c in chosen]
    no = [f"«{NAMES[c]}»: {number(by_choice.get(c, 0))}" for c in CHOICES if c not in chosen]
    total = reached(by_choice, urgent)
    text = f"{count(total, 'destinatario', 'destinatari')} ("
    text += ("tutte le scelte, " if not no else "scelta ") + ", ".join(yes)
    return text + (f"; non lo ricevono {', '.join(no)})" if no else ")")
