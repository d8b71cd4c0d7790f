"""The bulletin's fields as an editing form sees them: one description, derived from validation's own rules.

The web editor (Decap CMS at ``/admin/``, :mod:`site_tools.site.admin`)
is generated from :func:`bulletin_fields`. Nothing here is a second copy of a
rule: the keys and which are required come from
:mod:`site_tools.content.frontmatter` (``KEYS``, ``REQUIRED``, ``EVENT_KEYS``),
the lengths from :mod:`site_tools.content.limits`, the types and priorities
from :mod:`site_tools.content.bulletin`, the categories and channels from the
town's configuration. What this module adds is only what a form needs and
validation does not: Italian labels and hints, and widget kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from site_tools.content import limits
from site_tools.content.bulletin import CAP_CERTAINTY, CAP_SEVERITY, CAP_URGENCY, ID_PATTERN, TYPES, Priority
from site_tools.content.config import CHANNELS, TownConfig
from site_tools.content.frontmatter import EVENT_KEYS, KEYS, REQUIRED


class Kind(str, Enum):
    """What kind of input a field needs (a form library maps each to its widget)."""

    TEXT_LINE = "text_line"
    TEXT_AREA = "text_area"
    DATETIME = "datetime"
    CHOICE = "choice"
    CHOICES = "choices"
    FLAG = "flag"
    IMAGE = "image"
    BULLETIN = "bulletin"  # the id of another bulletin
    EVENT = "event"
    IDENTIFIER = "identifier"  # filled in once, automatically, never edited
    ATTACHMENTS = "attachments"  # documents (PDF) inside content/, each with a title


#: The one format a form writes dates in; :func:`site_tools.content.dates.parse_datetime` reads it
#: as wall-clock time in the town's zone.
DATETIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: Kind
    required: bool
    hint: str
    min_length: int | None = None
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    default: str | bool | None = None
    #: A regular expression the value must match (besides the lengths), with the words that explain it.
    pattern: str | None = None
    fields: tuple[FieldSpec, ...] = ()

    def length_pattern(self) -> str | None:
        """A regular expression true exactly when validation accepts the text's length.

        Validation measures the text with runs of white space collapsed and the
        ends trimmed; the expression refuses runs of white space inside the
        text (so that what the form counts is what validation counts), allows
        them at the ends, and counts a character outside the BMP as one (as
        Python does; a JavaScript ``RegExp`` without the ``u`` flag would count two).
        The same expression works in Python's ``re`` and in JavaScript.
        """
        if self.min_length is None and self.max_length is None:
            return None
        low, high = self.min_length or 1, self.max_length or ""
        char = r"(?:[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S])"
        return rf"^\s*(?![\s\S]*\S\s{{2,}}\S)(?=\S){char}{{{low},{high}}}(?<=\S)\s*$"

    def length_message(self) -> str:
        low, high = self.min_length or 1, self.max_length
        span = f"da {low} a {high} caratteri" if high else f"almeno {low} caratteri"
        return f"deve avere {span}, senza spazi doppi"


# Labels and hints: the only editor-facing words that validation does not already hold.
_LABELS = {
    "id": "Identificativo",
    "title": "Titolo",
    "date": "Data e ora di pubblicazione",
    "summary": "Sintesi per i telefoni",
    "categories": "Categorie",
    "type": "Tipo",
    "priority": "Priorità",
    "channels": "Canali",
    "draft": "Bozza",
    "slug": "Indirizzo della pagina",
    "pin": "In evidenza",
    "expires": "Scadenza",
    "event": "Evento",
    "area": "Zona interessata",
    "office": "Ufficio responsabile",
    "image": "Immagine",
    "updates": "Aggiorna l'avviso",
    "cancels": "Annulla l'avviso",
    "updated": "Ultimo aggiornamento",
    "attachments": "Allegati",
    "urgency": "Allerta CAP: urgenza",
    "severity": "Allerta CAP: gravità",
    "certainty": "Allerta CAP: certezza",
}
_EVENT_LABELS = {"start": "Inizio", "end": "Fine", "location": "Luogo"}
PRIORITY_LABELS = {Priority.NORMAL.value: "Normale", Priority.URGENT.value: "Urgente (arriva a tutti, subito)"}


def _hints(config: TownConfig) -> dict[str, str]:
    zone = str(config.timezone)
    return {
        "id": "Si assegna da solo al primo salvataggio e non cambia più.",
        "title": f"Va nel messaggio WhatsApp e nella notifica del telefono: da {limits.TITLE_MIN} a {limits.TITLE_MAX} caratteri.",
        "date": f"Ora di {zone}. Se è nel futuro, l'avviso esce a quell'ora.",
        "summary": f"Il testo che arriva su WhatsApp e Telegram: da {limits.SUMMARY_MIN} a {limits.SUMMARY_MAX} caratteri. I dettagli vanno nel testo.",
        "categories": "Almeno una. La prima decide i canali: le categorie essenziali arrivano anche alla lista WhatsApp.",
        "type": "Avviso, notizia, comunicato o bando: decide la sezione del sito.",
        "priority": "Urgente solo per emergenze: arriva subito a tutti i canali e compare in cima al sito.",
        "channels": "Lascia vuoto per usare i canali previsti dalla categoria.",
        "draft": "Se attivo, l'avviso non compare sul sito e non parte, anche dopo l'approvazione.",
        "slug": "Lascia vuoto: l'indirizzo viene dal titolo. Solo lettere minuscole, cifre e trattini.",
        "pin": "Resta in cima alla pagina iniziale finché non scade.",
        "expires": f"Ora di {zone}. Dopo la scadenza l'avviso non è più tra quelli in corso.",
        "event": "Solo se l'avviso annuncia un evento: finisce nel calendario del sito.",
        "area": f"Vie, frazioni o quartieri interessati (al massimo {limits.AREA_MAX} caratteri).",
        "office": f"Chi risponde alle domande dei cittadini (al massimo {limits.OFFICE_MAX} caratteri).",
        "image": f"Una foto o una mappa, al massimo {limits.IMAGE_MAX_BYTES // (1024 * 1024)} MB: si salva accanto all'avviso.",
        "updates": "Se questo avviso aggiorna un avviso precedente (che resta valido con modifiche), sceglilo qui.",
        "cancels": "Se questo avviso ritira un avviso precedente, sceglilo qui.",
        "updated": f"Ora di {zone}. Solo se hai cambiato il testo dopo la pubblicazione: la pagina la mostra.",
        "attachments": f"Documenti PDF (un'ordinanza, un modulo) con un titolo breve, fino a {limits.ATTACHMENT_TITLE_MAX} caratteri.",
        "urgency": "Solo per le allerte. Vuoto: un aggiornamento eredita quella dell'allerta originale.",
        "severity": "Solo per le allerte. Vuoto: un aggiornamento eredita quella dell'allerta originale.",
        "certainty": "Solo per le allerte. Vuoto: un aggiornamento eredita quella dell'allerta originale.",
    }


def _text(
    name: str, label: str, hint: str, maximum: int, minimum: int | None = None, required: bool = False
) -> FieldSpec:
    kind = Kind.TEXT_AREA if name == "summary" else Kind.TEXT_LINE
    return FieldSpec(name, label, kind, required, hint, min_length=minimum or 1, max_length=maximum)


def _event(hint: str, zone: str) -> FieldSpec:
    start = FieldSpec(
        "start", _EVENT_LABELS["start"], Kind.DATETIME, True, f"Ora di {zone}. Obbligatorio se c'è un evento."
    )
    end = FieldSpec("end", _EVENT_LABELS["end"], Kind.DATETIME, False, f"Ora di {zone}. Facoltativa.")
    location = FieldSpec(
        "location",
        _EVENT_LABELS["location"],
        Kind.TEXT_LINE,
        False,
        f"Dove si svolge (al massimo {limits.LOCATION_MAX} caratteri).",
        min_length=1,
        max_length=limits.LOCATION_MAX,
    )
    fields = {f.name: f for f in (start, end, location)}
    return FieldSpec("event", _LABELS["event"], Kind.EVENT, False, hint, fields=tuple(fields[k] for k in EVENT_KEYS))


def bulletin_fields(config: TownConfig) -> tuple[FieldSpec, ...]:
    """Every frontmatter key of a bulletin, in the order a form shows them."""
    hints = _hints(config)
    L = _LABELS
    categories = tuple((c.slug, c.label) for c in config.categories)
    identifier = ID_PATTERN.pattern
    specs = [
        _text("title", L["title"], hints["title"], limits.TITLE_MAX, limits.TITLE_MIN, required=True),
        _text("summary", L["summary"], hints["summary"], limits.SUMMARY_MAX, limits.SUMMARY_MIN, required=True),
        FieldSpec("date", L["date"], Kind.DATETIME, True, hints["date"]),
        FieldSpec("categories", L["categories"], Kind.CHOICES, True, hints["categories"], choices=categories),
        FieldSpec(
            "type", L["type"], Kind.CHOICE, False, hints["type"], choices=tuple(TYPES.items()), default="notizia"
        ),
        FieldSpec(
            "priority",
            L["priority"],
            Kind.CHOICE,
            False,
            hints["priority"],
            choices=tuple(PRIORITY_LABELS.items()),
            default=Priority.NORMAL.value,
        ),
        FieldSpec("expires", L["expires"], Kind.DATETIME, False, hints["expires"]),
        _event(hints["event"], str(config.timezone)),
        _text("area", L["area"], hints["area"], limits.AREA_MAX),
        _text("office", L["office"], hints["office"], limits.OFFICE_MAX),
        FieldSpec("image", L["image"], Kind.IMAGE, False, hints["image"]),
        FieldSpec("updates", L["updates"], Kind.BULLETIN, False, hints["updates"]),
        FieldSpec("cancels", L["cancels"], Kind.BULLETIN, False, hints["cancels"]),
        FieldSpec("updated", L["updated"], Kind.DATETIME, False, hints["updated"]),
        FieldSpec("attachments", L["attachments"], Kind.ATTACHMENTS, False, hints["attachments"]),
        *(
            FieldSpec(key, L[key], Kind.CHOICE, False, hints[key], choices=tuple(values.items()))
            for key, values in (("urgency", CAP_URGENCY), ("severity", CAP_SEVERITY), ("certainty", CAP_CERTAINTY))
        ),
        FieldSpec("channels", L["channels"], Kind.CHOICES, False, hints["channels"], choices=tuple(CHANNELS.items())),
        FieldSpec("pin", L["pin"], Kind.FLAG, False, hints["pin"], default=False),
        FieldSpec("draft", L["draft"], Kind.FLAG, False, hints["draft"], default=False),
        FieldSpec(
            "slug", L["slug"], Kind.TEXT_LINE, False, hints["slug"], max_length=limits.ID_MAX, pattern=identifier
        ),
        FieldSpec("id", L["id"], Kind.IDENTIFIER, True, hints["id"], max_length=limits.ID_MAX, pattern=identifier),
    ]
    by_name = {s.name: s for s in specs}
    missing, extra = set(KEYS) - set(by_name), set(by_name) - set(KEYS)
    if missing or extra:  # a key added to validation must be added to the form, and the other way round
        raise RuntimeError(f"bulletin fields out of step with frontmatter.KEYS: missing {missing}, unknown {extra}")
    wrong = {s.name for s in specs if s.required != (s.name in REQUIRED)}
    if wrong:
        raise RuntimeError(f"required fields out of step with frontmatter.REQUIRED: {wrong}")
    return tuple(specs)


def identifier_for(date_text: str, title: str) -> str:
    """The id (and file name) a new bulletin gets: ``2026-11-20-chiusura-di-via-roma``.

    The editor's JavaScript does the same; this is the reference its tests compare with.
    """
    from slugify import slugify

    from site_tools.content.authoring import SLUG_MAX

    day = date_text.strip()[:10]
    slug = slugify(title, max_length=SLUG_MAX, word_boundary=True) or "avviso"
    return f"{day}-{slug}"[: limits.ID_MAX].rstrip("-")
