"""Reading a bulletin file: frontmatter and body → a Bulletin, or the problems that stop it."""

from __future__ import annotations

import difflib
import errno
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from site_tools.content import files, limits, yamlio
from site_tools.content.bulletin import ID_PATTERN, Attachment, Bulletin, Event, Priority
from site_tools.content.config import CHANNELS, TownConfig
from site_tools.content.dates import DateError, parse_datetime
from site_tools.content.merged import merge_time
from site_tools.content.model import ATTACHMENT_SUFFIXES, BY_NAME, FieldSpec, aliases
from site_tools.content.problems import Problem, ProblemList, display_path, shown
from site_tools.content.slips import check_slips
from site_tools.content.topics import TOPICS
from site_tools.content.topics import suggest as suggest_topic

_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}-")


def image_too_big(path: Path) -> tuple[str, str] | None:
    """(message, fix) when an image beside a bulletin is over :data:`limits.IMAGE_MAX_BYTES`."""
    size = path.stat().st_size
    if size <= limits.IMAGE_MAX_BYTES:
        return None
    return (
        f"{{what}} pesa {files.human(size)}, più del massimo di {files.human(limits.IMAGE_MAX_BYTES)}.",
        "riducila (per esempio a 1600 pixel di larghezza, JPEG): la pagina deve aprirsi anche su un telefono con poco segnale.",
    )


def content_file_problem(
    path: Path, value: str, config: TownConfig, what: str, suffixes: tuple[str, ...], *, image: bool
) -> tuple[str, str] | None:
    """(message, fix) when a file a bulletin names (``image``, an attachment) may not be published; else None.

    Inside content/ (nothing else is ever published), no symlink on the way, existing, of the right kind.
    """
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value.strip()) or value.strip().startswith(("//", "\\\\")):
        return (
            f"{what} deve stare nel repository, non su un altro sito.",
            "carica il file nella cartella content/ e scrivi il suo percorso.",
        )
    content = config.content_dir
    target = (content / value.lstrip("/")) if value.startswith("/") else (path.parent / value)
    escape = files.escapes(target, content)
    if escape == "outside":
        return (f"{what} «{value}» è fuori dalla cartella content/.", "sposta il file dentro content/.")
    if escape == "symlink":
        return files.SYMLINK
    if not target.is_file():
        return (
            f"{what} «{value}» non esiste.",
            "controlla il nome del file (maiuscole comprese) e il percorso, relativo a questo file.",
        )
    if not value.lower().endswith(suffixes):
        return (f"{what} «{value}» non è di un tipo ammesso.", f"usa un file {', '.join(suffixes)}.")
    too_big = image_too_big(target) if image else None
    if too_big:
        return (too_big[0].format(what=f"{what} «{value}»"), too_big[1])
    return None


class _Handler(YAMLHandler):
    def load(self, fm: str, **kwargs: object) -> Any:
        return yamlio.load(fm)


_HANDLER = _Handler()


def read_text(
    path: Path, problems: ProblemList, shown: str, max_bytes: int = limits.BULLETIN_MAX_BYTES, what: str = "un avviso"
) -> str | None:
    """The file as text: UTF-8 with or without BOM, any line endings; never through a symlink, never a huge file."""
    try:
        # O_NOFOLLOW: a symlink is refused by the very call that opens the file (no extra system call).
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            problems.add(shown, None, *files.SYMLINK)
        else:
            problems.add(
                shown,
                None,
                f"non riesco a leggere il file ({exc.strerror}).",
                "controlla che il file esista e che tu abbia i permessi per leggerlo.",
            )
        return None
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            problems.add(shown, None, *files.too_big(size, max_bytes, what))
            return None
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.add(
            shown,
            None,
            "il file non è salvato in codifica UTF-8 (forse è Windows-1252 o Latin-1).",
            "riaprilo con l'editor e salvalo scegliendo la codifica «UTF-8».",
            line,
        )
        return None
    if "\x00" in text:
        problems.add(
            shown,
            None,
            "il file contiene caratteri binari: non sembra un testo.",
            "controlla di aver caricato il file Markdown giusto (.md), non un'immagine o un documento Word.",
        )
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class Parsed:
    """What one file yielded: a bulletin if valid, and what is known anyway.

    Cross-file checks (duplicate ids, references, links in the body) run on
    every file, valid or not, so one run lists every problem.
    """

    path: Path
    shown: str
    bulletin: Bulletin | None = None
    problems: list[Problem] = field(default_factory=list)
    id: str | None = None
    url_path: str | None = None
    date: datetime | None = None
    updates: str | None = None
    cancels: str | None = None
    body: str = ""
    body_line: int = 1
    fm_text: str = ""

    def line(self, key: str) -> int | None:
        return yamlio.key_lines(self.fm_text, first_line=1).get(key) if self.fm_text else None


def parse_bulletin(path: Path, config: TownConfig, root: Path | None = None) -> tuple[Bulletin | None, list[Problem]]:
    """Parse and check one file on its own (cross-file checks live in :mod:`content`)."""
    parsed = read_bulletin(path, config, root)
    return parsed.bulletin, parsed.problems


def read_bulletin(path: Path, config: TownConfig, root: Path | None = None) -> Parsed:
    shown = display_path(path, root or config.root)
    parsed = Parsed(path, shown)
    _read(parsed, config)
    return parsed


def _read(parsed: Parsed, config: TownConfig) -> None:
    path, shown = parsed.path, parsed.shown
    problems = ProblemList()
    parsed.problems = problems
    text = read_text(path, problems, shown)
    if text is None:
        return
    if not _HANDLER.detect(text) or not text.lstrip("\ufeff").startswith("---"):
        problems.add(
            shown,
            None,
            "manca l'intestazione (frontmatter) tra due righe «---».",
            "inizia il file con una riga «---», i campi (title, date, summary, categories, id) e un'altra riga «---».",
            1,
        )
        return
    try:
        fm_text, body = _HANDLER.split(text)
    except ValueError:
        problems.add(
            shown,
            None,
            "l'intestazione (frontmatter) non è chiusa.",
            "aggiungi una riga con soli «---» dopo l'ultimo campo.",
            1,
        )
        return
    parsed.body = body
    parsed.body_line = text.count("\n", 0, text.find(body)) + 1 if body else text.count("\n") + 1
    meta = load_header(fm_text, problems, shown)
    if meta is REFUSED:
        return
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        problems.add(
            shown,
            None,
            "l'intestazione deve essere un elenco di campi «nome: valore».",
            "scrivi un campo per riga, per esempio «title: Chiusura di via Roma».",
            2,
        )
        return
    parsed.fm_text = fm_text
    check_slips(fm_text, body, parsed.body_line, shown, problems)  # before build(): a slip keeps the bulletin out
    _Fields(parsed, meta, fm_text, config, problems).build()


REFUSED = object()


def load_header(fm_text: str, problems: ProblemList, shown: str) -> Any:
    """The frontmatter's YAML, or ``REFUSED`` with the problem added: too long, anchors, aliases, too deep, invalid."""
    size = len(fm_text.encode("utf-8"))
    if size > limits.FRONTMATTER_MAX_BYTES:
        problems.add(
            shown,
            None,
            f"l'intestazione (tra le due righe «---») è troppo lunga: {size:,} byte, al massimo {limits.FRONTMATTER_MAX_BYTES:,}.".replace(
                ",", "."
            ),
            "l'intestazione contiene solo i campi brevi (titolo, data, sintesi…): il testo va sotto la seconda riga «---».",
            1,
        )
        return REFUSED
    try:
        # Anchors and aliases need «&» or «*»: only then one pass of libyaml's events, before anything is built.
        if "&" in fm_text or "*" in fm_text:
            refused = yamlio.refused_structure(fm_text, limits.FRONTMATTER_MAX_DEPTH)
            if refused is not None:
                problems.add(shown, None, *_STRUCTURE[refused[0]], refused[1] + 1)
                return REFUSED
        meta = _HANDLER.load(fm_text)
        if isinstance(meta, dict):
            deep = next((k for k, v in meta.items() if _deeper(v, limits.FRONTMATTER_MAX_DEPTH - 1)), None)
            if deep is not None:
                problems.add(
                    shown, None, *_STRUCTURE["depth"], yamlio.key_lines(fm_text, first_line=1).get(shown_key(deep))
                )
                return REFUSED
        return meta
    except yaml.YAMLError as exc:
        reason, fix, line = yamlio.explain_error(exc, fm_text)
        problems.add(shown, None, f"l'intestazione non è YAML valido: {reason}.", fix, line)
        return REFUSED
    except (ValueError, RecursionError) as exc:
        problems.add(
            shown,
            None,
            f"l'intestazione non è YAML valido ({shown_reason(exc)}).",
            "controlla i due punti dopo ogni campo e metti tra virgolette i testi che contengono «:» o «#».",
        )
        return REFUSED


def shown_key(key: Any) -> str:
    return key if isinstance(key, str) else shown(key)


def _deeper(value: Any, levels: int) -> bool:
    """Whether ``value`` nests lists or mappings more than ``levels`` deep (without aliases: a tree)."""
    if not isinstance(value, dict | list):
        return False
    if levels <= 0:
        return True
    return any(_deeper(v, levels - 1) for v in (value.values() if isinstance(value, dict) else value))


def shown_reason(exc: Exception) -> str:
    reason = getattr(exc, "problem", None) or str(exc)
    return shown(reason, 120)


_STRUCTURE = {
    "anchor": (
        "l'intestazione usa un'ancora YAML («&nome»), che non è ammessa.",
        "scrivi ogni valore per intero, senza «&» e «*».",
    ),
    "alias": (
        "l'intestazione usa un rimando YAML («*nome»), che non è ammesso.",
        "scrivi ogni valore per intero, senza «&» e «*».",
    ),
    "depth": (
        f"l'intestazione ha più di {limits.FRONTMATTER_MAX_DEPTH} livelli di campi annidati.",
        "i campi di un avviso hanno al massimo due livelli (per esempio «event:» e sotto «start:»).",
    ),
}


class _Fields:
    """Checks the fields of one bulletin, collecting every problem."""

    def __init__(self, parsed: Parsed, meta: dict[Any, Any], fm_text: str, config: TownConfig, problems: ProblemList):
        self.parsed = parsed
        self.path, self.shown, self.meta, self.body = parsed.path, parsed.shown, meta, parsed.body
        self.body_line, self.config, self.problems = parsed.body_line, config, problems
        self.fm_text = fm_text
        self._lines: dict[str, int] | None = None

    def line(self, key: str) -> int | None:
        if self._lines is None:
            self._lines = yamlio.key_lines(self.fm_text, first_line=1)
        return self._lines.get(key) or self._lines.get(key.split(".")[0])

    def add(self, key: str | None, message: str, fix: str) -> None:
        self.problems.add(self.shown, key, message, fix, self.line(key) if key else None)

    # -- helpers ------------------------------------------------------------
    def missing(self, spec: FieldSpec) -> None:
        self.add(
            spec.name,
            f"manca il campo obbligatorio «{spec.name}» ({spec.label.lower()}).",
            f"aggiungi «{spec.example}» (è un esempio: scrivi il tuo).",
        )

    def text(self, spec: FieldSpec) -> str | None:
        """A text field of the model: given (if required), a text, within its lengths (white space collapsed)."""
        key, value = spec.name, self.meta.get(spec.name)
        minimum, maximum = spec.min_length or 1, spec.max_length or limits.FRONTMATTER_MAX_BYTES
        if value is None:
            if spec.required:
                self.missing(spec)
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.add(
                key,
                f"«{key}» deve essere un testo.",
                f"scrivi «{spec.label.lower()}» su una riga, tra virgolette se contiene «:».",
            )
            return None
        value = " ".join(str(value).split())
        if len(value) < minimum:
            self.add(
                key,
                f"«{key}» è troppo corto ({len(value)} caratteri, minimo {minimum}).",
                "scrivi un testo che si capisca da solo, anche senza aprire il sito.",
            )
        elif len(value) > maximum:
            self.add(
                key,
                f"«{key}» è troppo lungo: {len(value)} caratteri, al massimo {maximum}.",
                f"accorcialo di {len(value) - maximum} caratteri: {spec.why}".rstrip(": "),
            )
        return value

    def when(self, key: str, value: Any, end_of_day: bool = False) -> datetime | None:
        try:
            return parse_datetime(value, self.config.timezone, end_of_day=end_of_day).astimezone(self.config.timezone)
        except DateError as exc:
            self.add(key, f"«{key}»: {exc.message}", exc.fix)
            return None

    def merge_date(self) -> datetime | None:
        """No «date:»: the bulletin is dated when it reaches the main branch (see :mod:`merged`)."""
        when = merge_time(self.path, self.config.bulletins_path, self.config.timezone)
        if when is None:
            self.add(
                None,
                "l'avviso non ha «date:» e la storia Git qui è incompleta (copia «shallow»): non so quando è stato unito.",
                "chi gestisce il sito: nel workflow usa actions/checkout con «fetch-depth: 0»; "
                "oppure aggiungi all'avviso «date:» con la data di pubblicazione.",
            )
        return when

    def flag(self, spec: FieldSpec) -> bool:
        key = spec.name
        value = self.meta.get(key, bool(spec.default))
        if not isinstance(value, bool):
            self.add(
                key,
                f"«{key}» deve essere true o false, non «{shown(value)}».",
                f"scrivi «{key}: true» oppure togli il campo.",
            )
            return False
        return value

    def choice(self, spec: FieldSpec) -> str:
        key, allowed, default = spec.name, [v for v, _ in spec.choices], str(spec.default)
        value = self.meta.get(key, default)
        if not isinstance(value, str) or value not in allowed:
            close = difflib.get_close_matches(shown(value).lower(), list(allowed), n=1, cutoff=0.5)
            hint = f"forse intendevi «{close[0]}»? " if close else ""
            self.add(
                key,
                f"«{shown(value)}» non è un valore ammesso per «{key}».",
                f"{hint}Valori ammessi: {', '.join(allowed)}.",
            )
            return default
        return value

    # -- the fields ---------------------------------------------------------
    def build(self) -> None:
        self.unknown_keys()
        bid = self.identifier()
        title, summary = self.text(BY_NAME["title"]), self.text(BY_NAME["summary"])
        date = self.when("date", self.meta["date"]) if "date" in self.meta else self.merge_date()
        categories = self.categories()
        topics = self.topics()
        btype = self.choice(BY_NAME["type"])
        priority_text = self.priority()
        channels = self.channels()
        draft, pin = self.flag(BY_NAME["draft"]), self.flag(BY_NAME["pin"])
        slug = self.slug(bid)
        expires = None
        if self.meta.get("expires") is not None:
            expires = self.when("expires", self.meta["expires"], end_of_day=True)
            if expires and date and expires <= date:
                self.add(
                    "expires",
                    "la scadenza viene prima della data di pubblicazione.",
                    "metti una scadenza successiva alla data, o togli il campo se l'avviso non scade.",
                )
        event = self.event()
        area, office = self.text(BY_NAME["area"]), self.text(BY_NAME["office"])
        image = self.image()
        updated = self.updated(date)
        attachments = self.attachments()
        urgency, severity, certainty = (self.cap_value(BY_NAME[k]) for k in ("urgency", "severity", "certainty"))
        updates, cancels = self.reference("updates", bid), self.reference("cancels", bid)
        if updates and cancels:
            self.add(
                "cancels",
                "un avviso non può sia aggiornare sia annullare.",
                "usa «updates» se l'avviso precedente resta valido con modifiche, «cancels» se è ritirato.",
            )
        p = self.parsed
        p.id, p.date, p.updates, p.cancels = bid, date, updates, cancels
        if date is not None:
            p.url_path = f"{self.config.bulletins_dir}/{date:%Y}/{date:%m}/{slug}/"
        if self.problems or not (bid and title and summary and date and categories):
            return
        p.bulletin = Bulletin(
            id=bid,
            path=self.path,
            title=title,
            date=date,
            summary=summary,
            categories=categories,
            topics=topics,
            body=self.body,
            type=btype,
            priority=Priority(priority_text),
            channels=channels,
            draft=draft,
            slug=slug,
            pin=pin,
            expires=expires,
            event=event,
            area=area,
            office=office,
            image=image,
            updates=updates,
            cancels=cancels,
            updated=updated,
            attachments=attachments,
            urgency=urgency,
            severity=severity,
            certainty=certainty,
            body_line=self.body_line,
            section=self.config.bulletins_dir,
            dated_at_merge="date" not in self.meta,
        )

    def unknown_keys(self) -> None:
        for key in self.meta:
            if key in BY_NAME:
                continue
            name = shown(key)
            target = _ALIASES.get(name.lower()) or next(
                iter(difflib.get_close_matches(name.lower(), list(BY_NAME), n=1)), None
            )
            hint = (
                f"forse intendevi «{target}»? Rinomina il campo."
                if target
                else f"togli il campo; quelli ammessi sono: {', '.join(BY_NAME)}."
            )
            self.add(name, f"campo sconosciuto «{name}».", hint)

    def identifier(self) -> str | None:
        value = self.meta.get("id")
        suggestion = _DATE_PREFIX.sub("", self.path.stem) if self.path.stem else "chiusura-via-roma"
        if value is None:
            self.add(
                "id",
                "manca il campo obbligatorio «id» (identificativo stabile dell'avviso).",
                f"aggiungi «id: {self.path.stem}»: non cambiarlo più, anche se modifichi il titolo.",
            )
            return None
        plain = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
        text = str(value) if plain and len(shown(value)) <= limits.ID_MAX else ""
        if not ID_PATTERN.match(text):
            self.add(
                "id",
                f"l'identificativo «{shown(value)}» non è valido.",
                f"usa lettere minuscole senza accenti, cifre e trattini (massimo {limits.ID_MAX}), per esempio «{suggestion}».",
            )
            return None
        return text

    def categories(self) -> tuple[str, ...]:
        value = self.meta.get("categories")
        if value is None:
            self.missing(BY_NAME["categories"])
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            self.add(
                "categories",
                "«categories» deve essere un elenco di categorie.",
                f"scrivi per esempio «categories: [viabilita]». Categorie: {', '.join(self.config.category_slugs)}.",
            )
            return ()
        good = []
        for item in items:
            if self.config.category(item):
                good.append(item)
                continue
            by_label = next((c.slug for c in self.config.categories if c.label.lower() == item.lower()), None)
            close = by_label or next(
                iter(difflib.get_close_matches(item.lower(), self.config.category_slugs, n=1, cutoff=0.7)), None
            )
            hint = f"forse intendevi «{close}»? " if close else ""
            self.add(
                "categories",
                f"la categoria «{shown(item)}» non esiste.",
                f"{hint}Categorie del Comune: {', '.join(self.config.category_slugs)}.",
            )
        if len(set(good)) != len(good):
            self.add("categories", "una categoria è ripetuta.", "togli il doppione dall'elenco.")
        return tuple(dict.fromkeys(good)) if len(good) == len(items) else ()

    def topics(self) -> tuple[str, ...]:
        """The model's topics, by slug; optional. A label, a synonym or a misspelling gets the slug to write."""
        value = self.meta.get("topics")
        if value is None:
            return ()
        example = BY_NAME["topics"].example
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            self.add(
                "topics",
                "«topics» deve essere un elenco di argomenti.",
                f"scrivi per esempio «{example}», oppure togli il campo. "
                "Gli argomenti ammessi sono quelli del modello dei siti comunali (guida della redazione).",
            )
            return ()
        good = []
        for item in items:
            if item in TOPICS:
                good.append(item)
                continue
            close = suggest_topic(item)
            fix = (
                f"forse intendevi «{close}» ({TOPICS[close]})? Scrivi «{close}»."
                if close
                else f"scegli un argomento del modello, scritto come nell'elenco: {', '.join(TOPICS)}."
            )
            self.add("topics", f"l'argomento «{shown(item)}» non è tra quelli del modello dei siti comunali.", fix)
        if len(set(good)) != len(good):
            self.add("topics", "un argomento è ripetuto.", "togli il doppione dall'elenco.")
        return tuple(dict.fromkeys(good)) if len(good) == len(items) else ()

    def priority(self) -> str:
        value = self.meta.get("priority", "normal")
        italian = {"normale": "normal", "urgente": "urgent", "alta": "urgent"}
        if isinstance(value, str) and value.lower() in italian:
            self.add("priority", f"«{value}» va scritto in inglese.", f"scrivi «priority: {italian[value.lower()]}».")
            return "normal"
        return self.choice(BY_NAME["priority"])

    def channels(self) -> frozenset[str]:
        value = self.meta.get("channels")
        if value is None or value == "all":
            return frozenset(CHANNELS)
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            self.add(
                "channels",
                "«channels» deve essere un elenco di canali.",
                f"scrivi per esempio «channels: [telegram]», oppure togli il campo per usarli tutti. Canali: {', '.join(CHANNELS)}.",
            )
            return frozenset()
        bad = [c for c in items if c not in CHANNELS]
        for item in bad:
            close = next(iter(difflib.get_close_matches(shown(item), list(CHANNELS), n=1)), None)
            hint = f"forse intendevi «{close}»? " if close else ""
            self.add("channels", f"il canale «{shown(item)}» non esiste.", f"{hint}Canali: {', '.join(CHANNELS)}.")
        return frozenset(items) if not bad else frozenset()

    def slug(self, bid: str | None) -> str:
        """``slug:``, or the ``id`` without its date prefix: never the file's name, so renaming it keeps the address."""
        value = self.meta.get("slug")
        default = _DATE_PREFIX.sub("", bid or self.path.stem)
        if value is None:
            return default  # without a valid id the bulletin is refused anyway (reported by identifier())
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            self.add(
                "slug",
                f"lo slug «{shown(value)}» non è valido.",
                "usa lettere minuscole senza accenti, cifre e trattini.",
            )
            return default
        return value

    def event(self) -> Event | None:
        value = self.meta.get("event")
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(
                "event",
                "«event» deve contenere start (e se serve end e location).",
                "scrivi sotto «event:» le righe «start: 2026-12-08 17:00», «end: …», «location: …», rientrate di due spazi.",
            )
            return None
        self.unknown_subkeys("event", _EVENT, value)
        if value.get("start") is None:
            self.add(
                "event.start",
                "l'evento non ha l'inizio (start).",
                f"aggiungi «{_EVENT.field('start').example}» sotto «event:».",
            )
            return None
        start = self.when("event.start", value["start"])
        end = self.when("event.end", value["end"], end_of_day=True) if value.get("end") is not None else None
        if start and end and end < start:
            self.add(
                "event.end",
                "l'evento finisce prima di cominciare.",
                "controlla le date di inizio (start) e fine (end).",
            )
        location = value.get("location")
        spec = _EVENT.field("location")
        if location is not None and (not isinstance(location, str) or len(location) > (spec.max_length or 0)):
            self.add(
                "event.location",
                "il luogo dell'evento deve essere un testo breve.",
                f"scrivi il luogo in al massimo {spec.max_length} caratteri.",
            )
            location = None
        return Event(start, end, location) if start else None

    def unknown_subkeys(self, key: str, spec: FieldSpec, value: dict[Any, Any]) -> None:
        """Keys inside ``event`` (or an attachment) that the model does not know, with a "did you mean"."""
        names = [f.name for f in spec.fields]
        for sub in value:
            if sub in names:
                continue
            name = shown(sub)
            target = aliases(spec.fields).get(name.lower()) or next(
                iter(difflib.get_close_matches(name.lower(), names, n=1)), None
            )
            hint = f"forse intendevi «{target}»? " if target else ""
            self.add(
                f"{key}.{name}",
                f"campo sconosciuto «{name}» in «{key}».",
                f"{hint}Campi ammessi: {', '.join(names)}.",
            )

    def image(self) -> str | None:
        value = self.meta.get("image")
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(
                "image",
                "«image» deve essere il percorso di un'immagine.",
                "scrivi per esempio «image: img/via-roma.jpg».",
            )
            return None
        return value if self.content_file("image", value, "l'immagine", _IMAGE_SUFFIXES) else None

    def content_file(self, key: str, value: str, what: str, suffixes: tuple[str, ...]) -> bool:
        """A file of the repository, inside content/ (nothing else is ever published), of the right kind."""
        problem = content_file_problem(self.path, value, self.config, what, suffixes, image=key == "image")
        if problem:
            self.add(key, *problem)
        return problem is None

    def attachments(self) -> tuple[Attachment, ...]:
        value = self.meta.get("attachments")
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        names, title_spec = [f.name for f in _ATTACHMENT.fields], _ATTACHMENT.field("title")
        found: list[Attachment] = []
        for item in items:
            file, title = (item, None) if isinstance(item, str) else (None, None)
            if isinstance(item, dict):
                file, title = item.get("file"), item.get("title")
                if set(item) - set(names):
                    self.unknown_subkeys("attachments", _ATTACHMENT, item)
                    continue
            if not isinstance(file, str) or (title is not None and not isinstance(title, str)):
                self.add(
                    "attachments",
                    "ogni allegato è un percorso di file, oppure «file» e «title».",
                    f"scrivi per esempio «- {{{_ATTACHMENT.field('file').example}, {title_spec.example}}}».",
                )
                continue
            low, high = title_spec.min_length or 1, title_spec.max_length
            if title is not None and not low <= len(title.strip()) <= (high or len(title)):
                self.add(
                    "attachments",
                    f"il titolo dell'allegato «{file}» deve avere da {low} a {high} caratteri.",
                    "scrivi un titolo breve che dica cos'è il documento, per esempio «Ordinanza n. 45».",
                )
                continue
            if self.content_file("attachments", file, "l'allegato", ATTACHMENT_SUFFIXES):
                found.append(Attachment(file, " ".join((title or Path(file).name).split())))
        return tuple(found)

    def updated(self, date: datetime | None) -> datetime | None:
        if self.meta.get("updated") is None:
            return None
        updated = self.when("updated", self.meta["updated"])
        if updated and date and updated < date:
            self.add(
                "updated",
                "l'ultima modifica viene prima della data di pubblicazione.",
                "scrivi la data e l'ora in cui hai cambiato il testo, dopo «date», o togli il campo.",
            )
            return None
        return updated

    def cap_value(self, spec: FieldSpec) -> str | None:
        """One of CAP's own words (``Severe``); an Italian or lower-case one gets the right spelling."""
        key, allowed = spec.name, dict(spec.choices)
        value = self.meta.get(key)
        if value is None:
            return None
        text = str(value).strip()
        if text in allowed:
            return text
        by_meaning = {m.split(" ")[0].rstrip(":").lower(): v for v, m in allowed.items()}
        match = next((v for v in allowed if v.lower() == text.lower()), None) or by_meaning.get(text.lower())
        hint = f"scrivi «{key}: {match}». " if match else ""
        choices = "; ".join(f"{v} ({m})" for v, m in allowed.items())
        self.add(key, f"«{text}» non è un valore CAP ammesso per «{key}».", f"{hint}Valori ammessi: {choices}.")
        return None

    def reference(self, key: str, own_id: str | None) -> str | None:
        value = self.meta.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            self.add(
                key,
                f"«{key}» deve essere l'id di un altro avviso, non «{shown(value)}».",
                "copia il campo «id» dell'avviso precedente.",
            )
            return None
        if value == own_id:
            self.add(key, "un avviso non può riferirsi a se stesso.", "scrivi l'id dell'avviso precedente.")
            return None
        return value


#: Alias → key, for the "did you mean" of an unknown key.
_ALIASES = aliases()
_EVENT = BY_NAME["event"]
_IMAGE_SUFFIXES = tuple(sorted(files.PREVIEW_IMAGE_SUFFIXES))
_ATTACHMENT = BY_NAME["attachments"]
