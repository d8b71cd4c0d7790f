"""The basis of each subscriber's consent, as ``subscribers.consent_source`` records it: declared once.

Meta requires an opt-in that names the business and what it sends, and a record of it (time, source, text). A
subscriber exists only on one of these bases; exports and statistics read them from here.
"""

from __future__ import annotations

#: The citizen sent the town's ON keyword to the service (the webhook): the consent time is that message's.
KEYWORD = "whatsapp"
#: The ON keyword found in the chat history Meta shared when the number was connected (coexistence, ≤ 180 days).
HISTORY = "storico"
#: A contact of the WhatsApp Business app answered «Sì, continuo» to the re-confirmation message.
RECONFIRMED = "riconferma"
#: Imported from the town's own records of past consent, declared by the town (marked as such).
DECLARED = "dichiarazione"
#: A CSV of the old broadcast lists (number and consent date); the file's name follows after a colon.
CSV_IMPORT = "import"

#: What each basis means, in Italian, for exports, statistics and the counter's pages.
DESCRIPTIONS = {
    KEYWORD: "ha scritto la parola chiave al numero del Comune",
    HISTORY: "la parola chiave è nella chat con il Comune condivisa da Meta al collegamento del numero",
    RECONFIRMED: "ha risposto «Sì, continuo» al messaggio di conferma",
    DECLARED: "importato dagli archivi del Comune, su dichiarazione del Comune",
    CSV_IMPORT: "importato da un elenco (CSV) delle vecchie liste broadcast",
}


def basis(source: str | None) -> str | None:
    """The basis of a stored ``consent_source`` (``import:elenco.csv`` → ``import``)."""
    if not source:
        return None
    return source.split(":", 1)[0]
