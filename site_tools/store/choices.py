"""What each subscriber of the WhatsApp list chose to receive, as ``subscribers.choice`` records it: declared once.

Three choices, set by a keyword or a link on the signup page:

* ``tutto`` — every bulletin routed to the list (what every subscriber got before the choice existed: the default);
* ``urgenti`` — urgent bulletins only;
* ``settimanale`` — urgent bulletins, plus the weekly digest instead of the other bulletins one by one.

The fan-out asks :func:`receives` which choices a message reaches; nothing else decides it.
"""

from __future__ import annotations

from typing import Literal

EVERYTHING = "tutto"
URGENT_ONLY = "urgenti"
WEEKLY = "settimanale"

#: Every choice, in the order the signup page and the confirmations list them.
CHOICES: tuple[str, ...] = (EVERYTHING, URGENT_ONLY, WEEKLY)
#: Existing subscribers keep what they got before choices existed.
DEFAULT = EVERYTHING

#: What each choice means, in Italian, for citizens (confirmations, the signup page) and staff.
DESCRIPTIONS = {
    EVERYTHING: "tutti gli avvisi",
    URGENT_ONLY: "solo gli avvisi urgenti",
    WEEKLY: "gli avvisi urgenti e il riepilogo settimanale",
}

#: Each choice's short name, as citizens write it and the previews show it.
NAMES = {EVERYTHING: "tutto", URGENT_ONLY: "solo urgenti", WEEKLY: "settimanale"}


def offered(digest: bool) -> tuple[str, ...]:
    """The choices a town offers: «settimanale» only when it sends the weekly digest (``extra.town.digest``);
    without one, a citizen who chose it would get the urgent bulletins only and never the digest it promises."""
    return CHOICES if digest else tuple(c for c in CHOICES if c != WEEKLY)


#: What a message to the list is, for the choice filter.
Kind = Literal["urgent", "bulletin", "digest"]


def kind_of(urgent: bool) -> Kind:
    """A bulletin's kind for the filter: ``urgent`` or ``bulletin``."""
    return "urgent" if urgent else "bulletin"


def receives(kind: Kind) -> tuple[str, ...]:
    """The choices that get a message of this kind: an urgent bulletin everyone, a bulletin ``tutto``, the
    digest ``settimanale``."""
    if kind == "urgent":
        return CHOICES
    if kind == "digest":
        return (WEEKLY,)
    return (EVERYTHING,)


def where(choices: tuple[str, ...] | None, column: str = "choice") -> tuple[str, tuple[str, ...]]:
    """The SQL condition (`` AND column IN (?, ?)``, or nothing for every choice) and its parameters."""
    if choices is None:
        return "", ()
    if not choices:
        return " AND 1 = 0", ()
    return f" AND {column} IN ({', '.join('?' for _ in choices)})", tuple(choices)
