"""What a citizen's message asks for: subscribe, unsubscribe, or something else.

Case, accents, spaces and punctuation are ignored (``normalize_keyword``);
the town's keyword is optional ("VALFIORITA ON", "on", "Iscrivimi!").
"""

from __future__ import annotations

from enum import Enum

from site_tools.content.config import WhatsAppList, normalize_keyword

ON_WORDS = ("ON", "ISCRIVIMI", "ISCRIVI", "ISCRIZIONE", "START", "ATTIVA", "SUBSCRIBE")
OFF_WORDS = ("OFF", "STOP", "ANNULLA", "CANCELLAMI", "DISISCRIVIMI", "DISATTIVA", "BASTA", "UNSUBSCRIBE")


class Intent(str, Enum):
    ON = "on"
    OFF = "off"
    OTHER = "other"


def intent(text: str, wa: WhatsAppList) -> Intent:
    words = normalize_keyword(text).split()
    if words and words[0] == wa.keyword:
        words = words[1:]
    if len(words) != 1:
        return Intent.OTHER
    word = words[0]
    if word == wa.on_word or word in ON_WORDS:
        return Intent.ON
    if word == wa.off_word or word in OFF_WORDS:
        return Intent.OFF
    return Intent.OTHER
