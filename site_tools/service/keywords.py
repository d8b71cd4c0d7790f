"""What a citizen's message asks for: subscribe, unsubscribe, or something else.

Case, accents, spaces and punctuation are ignored (``normalize_keyword``);
the town's keyword is optional ("VALFIORITA ON", "on", "Iscrivimi!"). People
write to a town hall politely and in full sentences, so a short message made
only of an opt-out word, words that go with it and courtesies is an opt-out
("stop per favore", "annulla iscrizione", "cancellami dalla lista, grazie",
"non voglio più ricevere messaggi"); the same for opting in. A longer message
that merely contains "stop" ("stop ai lavori in via Roma?") is a question.
Opting out wins when a message has words of both, and an opt-in word under a NON
("non iscrivimi") is an opt-out: an unwanted message is the worse mistake.

A choice (store/choices.py) is its name after the town's keyword ("VALFIORITA URGENTI",
"VALFIORITA SOLO URGENTI", "VALFIORITA SETTIMANALE", "VALFIORITA TUTTO"), with courtesies around it.
"URGENTI", "SOLO URGENTI" and "SETTIMANALE" are also understood alone; "TUTTO" and "URGENTE" alone are not:
they are too common words to take as consent.
"""

from __future__ import annotations

from enum import Enum

from site_tools.content.config import WhatsAppList, normalize_keyword
from site_tools.store.choices import CHOICES, EVERYTHING, URGENT_ONLY

#: Words that alone mean "add me" / "remove me".
ON_WORDS = frozenset(
    {
        "ON",
        "ISCRIVIMI",
        "ISCRIVI",
        "ISCRIZIONE",
        "ISCRIVERMI",
        "ISCRIVETEMI",
        "START",
        "ATTIVA",
        "ATTIVAMI",
        "SUBSCRIBE",
        "AVVIA",
    }
)
OFF_WORDS = frozenset(
    {
        "OFF", "STOP", "ANNULLA", "CANCELLAMI", "CANCELLA", "CANCELLARMI", "DISISCRIVIMI", "DISISCRIVI",
        "DISISCRIVERMI", "DISATTIVA", "DISATTIVAMI", "BASTA", "UNSUBSCRIBE", "RIMUOVIMI", "RIMUOVI", "RIMUOVERMI",
        "TOGLIMI", "TOGLI", "TOGLIERMI", "ELIMINAMI", "ELIMINA", "DISDICI", "DISDETTA", "ESCI", "ESCIMI",
        "CANCELLATEMI", "TOGLIETEMI", "RIMUOVETEMI", "DISISCRIVETEMI", "ELIMINATEMI",
    }
)  # fmt: skip
#: Word pairs that mean "remove me" only together ("NON VOGLIO" più messaggi).
OFF_PAIRS = frozenset({("NON", "VOGLIO"), ("NON", "INVIATE"), ("NON", "MANDATE"), ("NON", "SCRIVETEMI")})
ON_PAIRS = frozenset({("VOGLIO", "ISCRIVERMI"), ("VORREI", "ISCRIVERMI"), ("VOGLIO", "RICEVERE")})
#: What may surround those words without turning the message into a question.
COMPANIONS = frozenset(
    {
        "PER", "FAVORE", "CORTESIA", "GRAZIE", "PREGO", "PLEASE", "PLS", "GRAZIE MILLE", "MILLE", "SALVE", "BUONGIORNO",
        "BUONASERA", "CIAO", "DALLA", "DALLE", "DA", "ALLA", "ALLE", "LA", "LE", "IL", "LO", "I", "GLI", "MIA", "MIO",
        "MI", "ME", "MIE", "MIEI", "LISTA", "ELENCO", "ISCRIZIONE", "NUMERO", "AVVISI", "AVVISO", "MESSAGGI",
        "NOTIFICHE", "NEWS", "NOTIZIE", "PIU", "RICEVERE", "VOGLIO", "VORREI", "DEGLI", "DEI", "DEL", "COMUNE",
        "A", "AGLI", "AI", "E", "ANCHE", "SUBITO", "ORA", "ADESSO", "TUTTI", "TUTTO", "QUESTO", "QUESTI", "WHATSAPP",
        "SERVIZIO", "DI", "NON", "INVIATE", "MANDATE", "SCRIVETEMI", "ISCRIVERMI", "OK", "SI", "PERFAVORE", "X",
        "L", "DELL", "DALL", "ALL", "UN", "UNA", "VOSTRA", "VOSTRO", "VOSTRI", "VOSTRE",
    }
)  # fmt: skip
#: A message longer than this is prose, not a command.
MAX_WORDS = 10


class Intent(str, Enum):
    ON = "on"
    OFF = "off"
    OTHER = "other"


def intent(text: str, wa: WhatsAppList) -> Intent:
    words = normalize_keyword(text).split()
    if words and words[0] == wa.keyword:
        words = words[1:]
    if not words or len(words) > MAX_WORDS:
        return Intent.OTHER
    pairs = set(zip(words, words[1:], strict=False))
    off = any(w == wa.off_word or w in OFF_WORDS for w in words) or bool(pairs & OFF_PAIRS)
    on = any(w == wa.on_word or w in ON_WORDS for w in words) or bool(pairs & ON_PAIRS)
    off = off or (on and "NON" in words)  # «non iscrivimi»: a negated opt-in is never consent
    allowed = OFF_WORDS | ON_WORDS | COMPANIONS | {wa.keyword, wa.on_word, wa.off_word}
    if not (off or on) or any(w not in allowed for w in words):
        return Intent.OTHER
    return Intent.OFF if off else Intent.ON


#: How each choice may be written after the town's keyword (normalised); the choice's own name always is.
CHOICE_WORDS: dict[tuple[str, ...], str] = {
    **{(normalize_keyword(c),): c for c in CHOICES},
    ("SOLO", "URGENTI"): URGENT_ONLY,
    ("URGENTE",): URGENT_ONLY,
    ("SOLO", "URGENTE"): URGENT_ONLY,
    ("TUTTI",): EVERYTHING,
}
#: Choices that need the town's keyword before them: alone they are ordinary words («urgente» is how many a
#: message to the counter begins: never consent, never a change of choice).
NEEDS_KEYWORD = frozenset({("TUTTO",), ("TUTTI",), ("URGENTE",)})
COURTESIES = frozenset({"PER", "FAVORE", "PERFAVORE", "GRAZIE", "CIAO", "SALVE", "BUONGIORNO", "BUONASERA", "OK"})


def choice(text: str, wa: WhatsAppList, offered: tuple[str, ...] = CHOICES) -> str | None:
    """The choice a message sets (store/choices.py), or None when it is not a choice keyword or not one of the
    town's ``offered`` choices (:func:`site_tools.store.choices.offered`)."""
    words = normalize_keyword(text).split()
    keyword = bool(words) and words[0] == wa.keyword
    rest = tuple(w for w in (words[1:] if keyword else words) if w not in COURTESIES)
    if rest in NEEDS_KEYWORD and not keyword:
        return None
    picked = CHOICE_WORDS.get(rest)
    return picked if picked in offered else None
