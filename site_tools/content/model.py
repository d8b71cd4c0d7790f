"""The one description of a bulletin's frontmatter: every field, declared once.

Each :class:`FieldSpec` holds what any reader of a field needs: its key, its
Italian label and hint, the Italian names editors reach for (aliases), whether
it is required, its limits (from :mod:`site_tools.content.limits`), its
choices, and the fields inside it (``event``, an item of ``attachments``).

Everything else is derived from :data:`FIELDS`:

* the checks of :mod:`site_tools.content.frontmatter` (unknown keys and their
  "did you mean", required fields, lengths, choices, sub-keys);
* the web editor's form (:mod:`site_tools.site.admin`, through
  :func:`site_tools.content.schema.bulletin_fields`);
* a strict pydantic v2 model (:func:`frontmatter_model`: ``extra="forbid"`` at
  every level) and from it the JSON Schema published with the site
  (:mod:`site_tools.content.reference`), and the docs' table of fields.

The declaration is plain data on purpose: pydantic costs about a quarter of a
second to import, and the first urgent message parses a bulletin before it is
sent, so the pydantic model is built only by what needs it (the schema, the
docs, the editor's checks), never on the publishing path.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any

from site_tools.content import limits
from site_tools.content.bulletin import CAP_CERTAINTY, CAP_SEVERITY, CAP_URGENCY, ID_PATTERN, TYPES, Priority
from site_tools.content.config import CHANNELS
from site_tools.content.topics import TOPICS

if TYPE_CHECKING:
    from pydantic import BaseModel


class Kind(str, Enum):
    """What kind of value a field holds (a form maps each to its widget, the model to its type)."""

    TEXT_LINE = "text_line"
    TEXT_AREA = "text_area"
    DATETIME = "datetime"
    CHOICE = "choice"
    CHOICES = "choices"
    FLAG = "flag"
    IMAGE = "image"
    FILE = "file"  # a document (PDF) inside content/
    BULLETIN = "bulletin"  # the id of another bulletin
    EVENT = "event"
    IDENTIFIER = "identifier"  # filled in once, automatically, never edited
    ATTACHMENTS = "attachments"  # documents (PDF) inside content/, each with a title


#: The one format a form writes dates in; :func:`site_tools.content.dates.parse_datetime` reads it
#: as wall-clock time in the town's zone.
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
#: What a date may look like (``2026-11-20``, ``2026-11-20 08:30``, ISO with a zone, ``20/11/2026 08:30``):
#: the shapes :mod:`site_tools.content.dates` reads; whether the day exists is checked there.
DATETIME_PATTERN = (
    r"^\s*(?:\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}/\d{1,2}/\d{4}(?:\s+(?:ore\s+)?\d{1,2}[:.]\d{2})?)\s*$"
)
#: Placeholder in hints: the town's time zone.
ZONE = "{zone}"
#: What a document attached to a bulletin may be (Designers Italia: documents are PDF).
ATTACHMENT_SUFFIXES = (".pdf",)
#: The categories: the town's own (``extra.town.categories``), filled in by whoever knows the town.
TOWN_CATEGORIES = "town-categories"
IDENTIFIER_MESSAGE = "usa solo lettere minuscole senza accenti, cifre e trattini"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: Kind
    hint: str
    required: bool = False
    #: Other names editors write for this key (Italian, or common English): «forse intendevi …?».
    aliases: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    #: ``(value, label)``; for ``categories``, filled in from the town (see :data:`TOWN_CATEGORIES`).
    choices: tuple[tuple[str, str], ...] = ()
    default: str | bool | None = None
    #: A regular expression the value must match (besides the lengths), valid in Python and JavaScript.
    pattern: str | None = None
    #: How to add the field when it is missing (required fields), or an example of it (docs).
    example: str = ""
    #: Why a text has its maximum length (told with the fix when it is too long).
    why: str = ""
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

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


_CAP_HINT = "Solo per le allerte. Vuoto: un aggiornamento eredita quella dell'allerta originale."
PRIORITY_LABELS = {Priority.NORMAL.value: "Normale", Priority.URGENT.value: "Urgente (arriva a tutti, subito)"}

#: Every key of a bulletin's frontmatter, in the order a form shows them.
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "title",
        "Titolo",
        Kind.TEXT_LINE,
        f"Va nel messaggio WhatsApp e nella notifica del telefono: da {limits.TITLE_MIN} a {limits.TITLE_MAX} caratteri.",
        required=True,
        aliases=("titolo",),
        min_length=limits.TITLE_MIN,
        max_length=limits.TITLE_MAX,
        example="title: Chiusura di via Roma",
        why="il titolo va nel messaggio WhatsApp e nella notifica del telefono.",
    ),
    FieldSpec(
        "summary",
        "Sintesi per i telefoni",
        Kind.TEXT_AREA,
        f"Il testo che arriva su WhatsApp e Telegram: da {limits.SUMMARY_MIN} a {limits.SUMMARY_MAX} caratteri. "
        "I dettagli vanno nel testo.",
        required=True,
        aliases=("sintesi", "riassunto", "descrizione", "description", "descrizione_breve"),
        min_length=limits.SUMMARY_MIN,
        max_length=limits.SUMMARY_MAX,
        example="summary: Via Roma resta chiusa al traffico da lunedì a venerdì per lavori.",
        why="la sintesi è il testo che arriva su WhatsApp e Telegram; i dettagli vanno nel corpo dell'avviso.",
    ),
    FieldSpec(
        "date",
        "Data e ora di pubblicazione",
        Kind.DATETIME,
        f"Ora di {ZONE}. Se è nel futuro, l'avviso esce a quell'ora. Se manca, vale l'ora di {ZONE} "
        "del salvataggio nell'editor web (in un file scritto a mano: l'ora in cui è unito al sito).",
        aliases=("data",),
        pattern=DATETIME_PATTERN,
        example="date: 2026-11-20 08:30",
    ),
    FieldSpec(
        "categories",
        "Categorie",
        Kind.CHOICES,
        "Almeno una. La prima decide i canali: le categorie essenziali arrivano anche alla lista WhatsApp.",
        required=True,
        aliases=("categoria", "categorie", "category", "tags"),
        choices=((TOWN_CATEGORIES, ""),),
        example="categories: [viabilita]",
    ),
    FieldSpec(
        "topics",
        "Argomenti",
        Kind.CHOICES,
        "Facoltativi: gli argomenti del modello dei siti comunali (per esempio Protezione civile, Istruzione). "
        "L'avviso compare nelle pagine di quegli argomenti.",
        aliases=("argomenti", "argomento", "topic"),
        choices=tuple(TOPICS.items()),
        example="topics: [protezione-civile, risposta-alle-emergenze]",
    ),
    FieldSpec(
        "type",
        "Tipo",
        Kind.CHOICE,
        "Avviso, notizia, comunicato o bando: decide la sezione del sito.",
        aliases=("tipo",),
        choices=tuple(TYPES.items()),
        default="notizia",
        example="type: avviso",
    ),
    FieldSpec(
        "priority",
        "Priorità",
        Kind.CHOICE,
        "Urgente solo per emergenze: arriva subito a tutti i canali e compare in cima al sito.",
        aliases=("priorita", "priorità", "urgente"),
        choices=tuple(PRIORITY_LABELS.items()),
        default=Priority.NORMAL.value,
        example="priority: urgent",
    ),
    FieldSpec(
        "expires",
        "Scadenza",
        Kind.DATETIME,
        f"Ora di {ZONE}. Dopo la scadenza l'avviso non è più tra quelli in corso. "
        "Una data senza ora vale per tutto quel giorno.",
        aliases=("scadenza", "scade", "expiry", "expire"),
        pattern=DATETIME_PATTERN,
        example="expires: 2026-11-23",
    ),
    FieldSpec(
        "event",
        "Evento",
        Kind.EVENT,
        "Solo se l'avviso annuncia un evento: finisce nel calendario del sito.",
        aliases=("evento",),
        example="event: {start: 2026-12-08 17:00, location: Piazza del Comune}",
        fields=(
            FieldSpec(
                "start",
                "Inizio",
                Kind.DATETIME,
                f"Ora di {ZONE}. Obbligatorio se c'è un evento.",
                required=True,
                aliases=("inizio",),
                pattern=DATETIME_PATTERN,
                example="start: 2026-12-08 17:00",
            ),
            FieldSpec(
                "end",
                "Fine",
                Kind.DATETIME,
                f"Ora di {ZONE}. Facoltativa.",
                aliases=("fine",),
                pattern=DATETIME_PATTERN,
                example="end: 2026-12-08 19:00",
            ),
            FieldSpec(
                "location",
                "Luogo",
                Kind.TEXT_LINE,
                f"Dove si svolge (al massimo {limits.LOCATION_MAX} caratteri).",
                aliases=("luogo", "dove", "place"),
                min_length=1,
                max_length=limits.LOCATION_MAX,
                example="location: Piazza del Comune",
            ),
        ),
    ),
    FieldSpec(
        "area",
        "Zona interessata",
        Kind.TEXT_LINE,
        f"Vie, frazioni o quartieri interessati (al massimo {limits.AREA_MAX} caratteri).",
        aliases=("zona", "luogo"),
        min_length=1,
        max_length=limits.AREA_MAX,
        example="area: Via Roma, tra piazza Garibaldi e via Verdi",
    ),
    FieldSpec(
        "office",
        "Ufficio responsabile",
        Kind.TEXT_LINE,
        f"Chi risponde alle domande dei cittadini (al massimo {limits.OFFICE_MAX} caratteri).",
        aliases=("ufficio", "a_cura_di"),
        min_length=1,
        max_length=limits.OFFICE_MAX,
        example="office: Ufficio tecnico",
    ),
    FieldSpec(
        "image",
        "Immagine",
        Kind.IMAGE,
        f"Una foto o una mappa, al massimo {limits.IMAGE_MAX_BYTES // (1024 * 1024)} MB: si salva accanto all'avviso.",
        aliases=("immagine",),
        example="image: via-roma.jpg",
    ),
    FieldSpec(
        "updates",
        "Aggiorna l'avviso",
        Kind.BULLETIN,
        "Se questo avviso aggiorna un avviso precedente (che resta valido con modifiche), sceglilo qui.",
        aliases=("aggiorna", "update"),
        pattern=ID_PATTERN.pattern,
        example="updates: 2026-11-18-allerta-meteo",
    ),
    FieldSpec(
        "cancels",
        "Annulla l'avviso",
        Kind.BULLETIN,
        "Se questo avviso ritira un avviso precedente, sceglilo qui.",
        aliases=("annulla", "cancel"),
        pattern=ID_PATTERN.pattern,
        example="cancels: 2026-11-18-allerta-meteo",
    ),
    FieldSpec(
        "updated",
        "Ultimo aggiornamento",
        Kind.DATETIME,
        f"Ora di {ZONE}. Solo se hai cambiato il testo dopo la pubblicazione: la pagina la mostra.",
        aliases=("aggiornato", "aggiornamento", "ultimo_aggiornamento", "modified"),
        pattern=DATETIME_PATTERN,
        example="updated: 2026-11-20 12:00",
    ),
    FieldSpec(
        "attachments",
        "Allegati",
        Kind.ATTACHMENTS,
        f"Documenti PDF (un'ordinanza, un modulo) con un titolo breve, fino a {limits.ATTACHMENT_TITLE_MAX} caratteri.",
        aliases=("allegati", "allegato", "documenti", "attachment"),
        example="attachments: [{file: allegati/ordinanza-45.pdf, title: Ordinanza n. 45}]",
        fields=(
            FieldSpec(
                "file",
                "Documento (PDF)",
                Kind.FILE,
                "Un file PDF nella cartella content/.",
                required=True,
                aliases=("documento", "percorso", "path"),
                example="file: allegati/ordinanza-45.pdf",
            ),
            FieldSpec(
                "title",
                "Titolo",
                Kind.TEXT_LINE,
                f"Cos'è il documento (da 3 a {limits.ATTACHMENT_TITLE_MAX} caratteri); senza, il nome del file.",
                aliases=("titolo",),
                min_length=3,
                max_length=limits.ATTACHMENT_TITLE_MAX,
                example="title: Ordinanza n. 45",
            ),
        ),
    ),
    FieldSpec(
        "urgency",
        "Allerta CAP: urgenza",
        Kind.CHOICE,
        _CAP_HINT,
        aliases=("urgenza",),
        choices=tuple(CAP_URGENCY.items()),
        example="urgency: Immediate",
    ),
    FieldSpec(
        "severity",
        "Allerta CAP: gravità",
        Kind.CHOICE,
        _CAP_HINT,
        aliases=("gravita", "gravità"),
        choices=tuple(CAP_SEVERITY.items()),
        example="severity: Severe",
    ),
    FieldSpec(
        "certainty",
        "Allerta CAP: certezza",
        Kind.CHOICE,
        _CAP_HINT,
        aliases=("certezza",),
        choices=tuple(CAP_CERTAINTY.items()),
        example="certainty: Likely",
    ),
    FieldSpec(
        "channels",
        "Canali",
        Kind.CHOICES,
        "Lascia vuoto per usare i canali previsti dalla categoria.",
        aliases=("canali", "canale", "channel"),
        choices=tuple(CHANNELS.items()),
        example="channels: [telegram]",
    ),
    FieldSpec(
        "pin",
        "In evidenza",
        Kind.FLAG,
        "Resta in cima alla pagina iniziale finché non scade.",
        aliases=("in_evidenza", "evidenza", "pinned"),
        default=False,
        example="pin: true",
    ),
    FieldSpec(
        "draft",
        "Bozza",
        Kind.FLAG,
        "Se attivo, l'avviso non compare sul sito e non parte, anche dopo l'approvazione.",
        aliases=("bozza",),
        default=False,
        example="draft: true",
    ),
    FieldSpec(
        "slug",
        "Indirizzo della pagina",
        Kind.TEXT_LINE,
        "Lascia vuoto: l'indirizzo viene dall'identificativo. Solo lettere minuscole, cifre e trattini.",
        max_length=limits.ID_MAX,
        pattern=ID_PATTERN.pattern,
        example="slug: chiusura-via-roma",
    ),
    FieldSpec(
        "id",
        "Identificativo",
        Kind.IDENTIFIER,
        "Si assegna da solo al primo salvataggio e non cambia più.",
        required=True,
        max_length=limits.ID_MAX,
        pattern=ID_PATTERN.pattern,
        example="id: 2026-11-20-chiusura-via-roma",
    ),
)

#: Each field by its key.
BY_NAME: dict[str, FieldSpec] = {f.name: f for f in FIELDS}


def aliases(fields: tuple[FieldSpec, ...] = FIELDS) -> dict[str, str]:
    """Alias → key, for the "did you mean" of an unknown key (the first field declaring an alias wins)."""
    found: dict[str, str] = {}
    for spec in fields:
        for alias in spec.aliases:
            found.setdefault(alias, spec.name)
    return found


# -- the pydantic model (built on demand: see the module's docstring) ---------------------------
@cache
def frontmatter_model(categories: tuple[str, ...] = ()) -> type[BaseModel]:
    """A strict pydantic model of a bulletin's frontmatter; ``categories``: the town's, or any text if empty."""
    return _model("Bulletin", "Avviso", FIELDS, categories)


def _model(name: str, title: str, fields: tuple[FieldSpec, ...], categories: tuple[str, ...]) -> type[BaseModel]:
    """A model refusing unknown keys and converting nothing (``strict``), as validation does."""
    from pydantic import ConfigDict, create_model

    definitions: dict[str, Any] = {spec.name: _pydantic_field(spec, categories) for spec in fields}
    config = ConfigDict(extra="forbid", strict=True, title=title)
    return create_model(name, __config__=config, **definitions)


def _pydantic_field(spec: FieldSpec, categories: tuple[str, ...]) -> tuple[Any, Any]:
    from typing import Annotated, Literal

    from pydantic import Field

    extra: dict[str, Any] = {"x-aliases": list(spec.aliases)} if spec.aliases else {}
    text: dict[str, Any] = {}
    if spec.min_length is not None or spec.max_length is not None:
        text = {"min_length": spec.min_length, "max_length": spec.max_length}
    kind = spec.kind
    annotation: Any
    if kind in (Kind.TEXT_LINE, Kind.TEXT_AREA) and spec.pattern is None:
        # YAML reads «office: 118» as a number; validation takes it as the text «118», and so does the model.
        annotation = Annotated[str, Field(**text)] | int | float
    elif kind in (Kind.TEXT_LINE, Kind.TEXT_AREA, Kind.IMAGE, Kind.FILE, Kind.BULLETIN, Kind.DATETIME):
        annotation = Annotated[str, Field(pattern=spec.pattern, **text)]
    elif kind is Kind.IDENTIFIER:
        annotation = Annotated[str, Field(pattern=spec.pattern, **text)] | Annotated[int, Field(ge=0)]
    elif kind is Kind.CHOICE:
        annotation = Literal[tuple(v for v, _ in spec.choices)]
    elif kind is Kind.CHOICES:
        values = categories if spec.choices == ((TOWN_CATEGORIES, ""),) else tuple(v for v, _ in spec.choices)
        item: Any = Literal[values] if values else Annotated[str, Field(min_length=1)]
        annotation = item | Annotated[list[item], Field(min_length=1)]
        if spec.name == "channels":
            annotation = annotation | Literal["all"]
    elif kind is Kind.FLAG:
        annotation = bool
    elif kind is Kind.EVENT:
        annotation = _model("Event", spec.label, spec.fields, categories)
    elif kind is Kind.ATTACHMENTS:
        item_model = _model("Attachment", "Allegato", spec.fields, categories)
        one: Any = Annotated[str, Field(min_length=1)] | item_model
        annotation = one | list[one]
    else:  # pragma: no cover - every kind is handled above
        raise AssertionError(kind)
    description = spec.hint.replace(ZONE, "Europe/Rome")
    if spec.required:
        return annotation, Field(title=spec.label, description=description, json_schema_extra=extra or None)
    default = spec.default
    return annotation | None if default is None else annotation, Field(
        default=default, title=spec.label, description=description, json_schema_extra=extra or None
    )


def json_schema(categories: tuple[str, ...] = ()) -> dict[str, Any]:
    """The frontmatter's JSON Schema (draft 2020-12), from the pydantic model."""
    schema = frontmatter_model(categories).model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
