"""The Designers Italia model's controlled vocabulary of topics («argomenti»), declared once.

A bulletin's ``topics`` are chosen from this list (validation, the web editor's choice list,
the JSON Schema, the «Argomenti» page and one page per topic all derive from it). The list is
the one AGID's checker for municipal websites compares the «Argomenti» page with (criterion
C.SI.1.5, «Vocabolari controllati»), word for word:

* ``italia/pa-website-validator``, ``src/storage/municipality/controlledVocabulary.ts``
  (``municipalityModelVocabulary``, commit 71d44b3, December 2026);
* ``italia/pa-website-validator-ng``, ``src/audits/municipality_vocabulary/controlledVocabulary.ts``
  (commit bb31fe9): the same 64 entries.

The checker compares the text of each element marked ``data-element="topic-element"`` with this
list, case-insensitively, after trimming. Frontmatter holds a topic's slug (``protezione-civile``),
derived from its label by :func:`topic_slug`; pages show the label.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

#: The model's topics, in the checker's order (alphabetical), with the checker's spelling.
LABELS: tuple[str, ...] = (
    "Accesso all'informazione",
    "Acqua",
    "Agricoltura",
    "Anagrafe",
    "Animale domestico",
    "Aria",
    "Assistenza agli invalidi",
    "Assistenza sociale",
    "Associazioni",
    "Bilancio",
    "Commercio al minuto",
    "Commercio all'ingrosso",
    "Commercio ambulante",
    "Comunicazione istituzionale",
    "Comunicazione politica",
    "Concorsi",
    "Covid-19",
    "Elezioni",
    "Energie rinnovabili",
    "Estero",
    "Foreste",
    "Formazione professionale",
    "Gemellaggi",
    "Gestione rifiuti",
    "Giustizia",
    "Igiene pubblica",
    "Immigrazione",
    "Imposte",
    "Imprese",
    "Inquinamento",
    "Integrazione sociale",
    "Isolamento termico",
    "Istruzione",
    "Lavoro",
    "Matrimonio",
    "Mercato",
    "Mobilità sostenibile",
    "Morte",
    "Nascita",
    "Parcheggi",
    "Patrimonio culturale",
    "Pesca",
    "Piano di sviluppo",
    "Pista ciclabile",
    "PNRR",
    "Politica commerciale",
    "Polizia",
    "Prodotti alimentari",
    "Protezione civile",
    "Residenza",
    "Risposta alle emergenze",
    "Sistema giuridico",
    "Spazio Verde",
    "Sport",
    "Sviluppo sostenibile",
    "Tassa sui servizi",
    "Tempo libero",
    "Trasparenza amministrativa",
    "Trasporto pubblico",
    "Turismo",
    "Urbanizzazione",
    "Viaggi",
    "Zone pedonali",
    "ZTL",
)


def topic_slug(text: str) -> str:
    """``Accesso all'informazione`` → ``accesso-all-informazione``; ``Mobilità sostenibile`` → ``mobilita-sostenibile``."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


#: Slug → label, for every topic of the model.
TOPICS: dict[str, str] = {topic_slug(label): label for label in LABELS}
assert len(TOPICS) == len(LABELS), "two topics of the model share a slug"


#: Words editors write for a topic that is not the model's, and the model's topic that fits (the «forse intendevi»).
SYNONYMS: dict[str, str] = {
    "scuola": "istruzione",
    "scuole": "istruzione",
    "emergenza": "risposta-alle-emergenze",
    "emergenze": "risposta-alle-emergenze",
    "allerta": "protezione-civile",
    "meteo": "protezione-civile",
    "rifiuti": "gestione-rifiuti",
    "raccolta-differenziata": "gestione-rifiuti",
    "eventi": "tempo-libero",
    "tasse": "imposte",
    "tributi": "imposte",
    "bandi": "concorsi",
    "autobus": "trasporto-pubblico",
    "parcheggio": "parcheggi",
}
assert set(SYNONYMS.values()) <= set(TOPICS), "a synonym names a topic the model does not have"


def suggest(value: str) -> str | None:
    """The topic an editor most likely meant by an unknown ``value`` (a label, a synonym, a misspelling, a part)."""
    wanted = topic_slug(value)
    if wanted in TOPICS:
        return wanted
    if wanted in SYNONYMS:
        return SYNONYMS[wanted]
    close = difflib.get_close_matches(wanted, list(TOPICS), n=1, cutoff=0.75)
    if close:
        return close[0]
    containing = [slug for slug in TOPICS if wanted and wanted in slug]
    return containing[0] if len(containing) == 1 else None
