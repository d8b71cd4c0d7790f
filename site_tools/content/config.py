"""The town's configuration: one block, ``extra.town`` in ``mkdocs.yml``.

The site (through MkDocs, which exposes ``config.extra.town`` to templates)
and the publisher read the same block; this module is the only code that
interprets it. Loading validates everything and reports every problem at
once, in Italian, like bulletin validation.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml

from site_tools.content import yamlio
from site_tools.content.dates import WEEKDAYS_IT
from site_tools.content.identity import IDENTITY_KEYS, Identity, parse_identity
from site_tools.content.problems import InvalidContent, Problem, ProblemList, display_path

#: The channels a bulletin can go to, with the name editors see.
CHANNELS: dict[str, str] = {
    "whatsapp_list": "Lista WhatsApp",
    "whatsapp_channel": "Canale WhatsApp",
    "telegram": "Telegram",
}
#: Bulletins marked urgent always go to every channel the town has.
#: Without a town's own routing, the paid list gets only what is essential
#: (a utility template); everything else goes to the free channels.
UTILITY_CHANNELS = ("whatsapp_list", "whatsapp_channel", "telegram")
FREE_CHANNELS = ("whatsapp_channel", "telegram")

DEFAULT_CATEGORIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("emergenza", "Emergenza", UTILITY_CHANNELS),
    ("protezione-civile", "Protezione civile", UTILITY_CHANNELS),
    ("meteo", "Meteo", UTILITY_CHANNELS),
    ("viabilita", "Viabilità", UTILITY_CHANNELS),
    ("scuola", "Scuola", UTILITY_CHANNELS),
    ("eventi", "Eventi", FREE_CHANNELS),
    ("bandi-e-concorsi", "Bandi e concorsi", FREE_CHANNELS),
    ("scadenze", "Scadenze", FREE_CHANNELS),
    ("servizi", "Servizi", UTILITY_CHANNELS),
    ("ambiente", "Ambiente", FREE_CHANNELS),
)

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TEMPLATE = re.compile(r"^[a-z0-9_]+$")
_TELEGRAM_NAME = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{4,31}$")
_TELEGRAM_ID = re.compile(r"^-100\d{6,15}$")
_CHANNEL_URL = re.compile(r"^https://whatsapp\.com/channel/[A-Za-z0-9]{20,32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOURS = re.compile(r"^(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})$")


@dataclass(frozen=True)
class Category:
    slug: str
    label: str
    channels: tuple[str, ...]
    template: str


@dataclass(frozen=True)
class WhatsAppList:
    number: str  # E.164 digits without "+", as wa.me and the API want it
    display: str  # as printed on posters: "+39 333 000 0000"
    keyword: str
    on_word: str
    off_word: str

    @property
    def on_message(self) -> str:
        return f"{self.keyword} {self.on_word}"

    @property
    def off_message(self) -> str:
        return f"{self.keyword} {self.off_word}"

    @property
    def signup_link(self) -> str:
        """Click-to-chat link with the ON keyword already typed."""
        return f"https://wa.me/{self.number}?text={quote(self.on_message)}"


@dataclass(frozen=True)
class Telegram:
    chat: str  # "@name" or a numeric "-100…" id
    link: str  # where citizens join


@dataclass(frozen=True)
class Reports:
    toll_free: str | None = None
    form_url: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Editor:
    """Where the web editor (Decap CMS at /admin/) saves: a GitHub repository, through pull requests."""

    repo: str  # "owner/name"
    branch: str
    #: Origin of the OAuth endpoint that turns a GitHub login into a token (the subscriptions service).
    auth_url: str | None
    open_authoring: bool


@dataclass(frozen=True)
class OfficeHours:
    #: weekday (0 = Monday) → list of (open, close)
    ranges: Mapping[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)

    def is_open(self, moment: datetime) -> bool:
        local_time = moment.time()
        return any(start <= local_time < end for start, end in self.ranges.get(moment.weekday(), ()))

    def _spans(self, moment: datetime, days: range) -> list[tuple[datetime, datetime]]:
        """Opening spans as aware datetimes, for the days around ``moment`` (offsets in days)."""
        spans = []
        for offset in days:
            day = (moment + timedelta(days=offset)).date()
            for start, end in self.ranges.get(day.weekday(), ()):
                spans.append(
                    (
                        datetime.combine(day, start, moment.tzinfo),
                        datetime.combine(day, end, moment.tzinfo),
                    )
                )
        return sorted(spans)

    def next_opening(self, moment: datetime) -> datetime | None:
        """When the office opens next, after ``moment`` (None: it never opens)."""
        return next((a for a, _ in self._spans(moment, range(0, 8)) if a > moment), None)

    def overnight(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The last closed stretch up to ``moment``: (when the office closed, when it reopened or ``moment``)."""
        spans = self._spans(moment, range(-8, 1))
        current = next((a for a, b in spans if a <= moment < b), None)
        ends = [b for a, b in spans if b <= (current or moment)]
        return (ends[-1], current or moment) if ends else None

    def describe(self) -> str:
        """``lunedì 09:00–13:00; martedì 09:00–13:00, 15:00–17:30``"""
        parts = []
        for day in sorted(self.ranges):
            spans = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in self.ranges[day])
            parts.append(f"{WEEKDAYS_IT[day]} {spans}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Counter:
    """The one-to-one counter (``extra.town.counter``): staff answer citizens from a web inbox."""

    #: Canned answers, Markdown files under ``content/`` reviewed like bulletins; never published.
    answers_dir: str = "risposte"
    #: Days after which a conversation's messages and media are deleted.
    retention_days: int = 90
    #: The approved template for answers outside the 24-hour customer-service window.
    template: str = "sportello_risposta"


@dataclass(frozen=True)
class TownConfig:
    path: Path
    site_name: str
    site_url: str
    name: str
    short_name: str
    timezone: ZoneInfo
    population: int
    content_dir: Path
    bulletins_dir: str
    categories: tuple[Category, ...]
    whatsapp: WhatsAppList | None
    channel_url: str | None
    telegram: Telegram | None
    office_hours: OfficeHours
    counter: Counter | None
    reports: Reports
    #: Estimated price of one delivered template message, in euro.
    price_per_template: float = 0.05
    #: Above this estimated cost (euro) a send is not started without an explicit approval; None: no ceiling.
    cost_ceiling_eur: float | None = None
    #: Days the service keeps traces of webhook traffic that could identify a citizen (inbound message ids,
    #: whose ``wamid.HBgM…`` encodes the sender's number).
    retention_days: int = 30
    #: Footer, colour, coat of arms… (content/identity.py): only the site needs them.
    identity: Identity = field(default_factory=Identity)
    #: What stops the site build but not the publisher (a missing PEC must not hold back an alert).
    site_problems: tuple[Problem, ...] = ()
    #: Python-Markdown extensions the site renders pages with (ProperDocs' built-ins first) and their options:
    #: the validator renders bodies with the same, so both agree on what a link is.
    markdown_extensions: tuple[str, ...] = ()
    markdown_configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: The web editor at /admin/ (None: the town has not set it up).
    editor: Editor | None = None

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def bulletins_path(self) -> Path:
        return self.content_dir / self.bulletins_dir

    def category(self, slug: str) -> Category | None:
        return next((c for c in self.categories if c.slug == slug), None)

    @property
    def category_slugs(self) -> tuple[str, ...]:
        return tuple(c.slug for c in self.categories)

    def enabled_channels(self) -> tuple[str, ...]:
        enabled = []
        if self.whatsapp:
            enabled.append("whatsapp_list")
        if self.channel_url:
            enabled.append("whatsapp_channel")
        if self.telegram:
            enabled.append("telegram")
        return tuple(enabled)


def find_config(start: Path | None = None) -> Path:
    """``mkdocs.yml`` in ``start`` or the nearest parent folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "mkdocs.yml"
        if candidate.is_file():
            return candidate
    raise InvalidContent(
        [
            Problem(
                display_path(here),
                None,
                None,
                "non trovo il file mkdocs.yml con la configurazione del Comune.",
                "esegui il comando dalla cartella del sito, oppure indica il file con --config.",
            )
        ]
    )


def load_config(path: Path | None = None) -> TownConfig:
    """Load and validate; raise :class:`InvalidContent` listing every problem."""
    path = (path or find_config()).resolve()
    shown = display_path(path)
    problems = ProblemList()
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InvalidContent(
            [
                Problem(
                    shown,
                    None,
                    None,
                    f"non riesco a leggere il file ({exc.strerror}).",
                    "controlla che il file esista e sia leggibile.",
                )
            ]
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidContent(
            [
                Problem(
                    shown,
                    None,
                    None,
                    "il file non è in codifica UTF-8.",
                    "salvalo di nuovo scegliendo la codifica UTF-8.",
                )
            ]
        ) from exc
    try:
        raw = yamlio.load(text, yamlio.ConfigLoader) or {}
    except yaml.YAMLError as exc:
        raise InvalidContent(
            [
                Problem(shown, line, None, f"il file non è YAML valido: {reason}.", fix)
                for reason, fix, line in [yamlio.explain_error(exc, text)]
            ]
        ) from exc
    # Lines are found only for a problem to point at: composing the file again costs 8 ms on every run.
    config = _build(
        path, shown, raw if isinstance(raw, dict) else {}, functools.cache(lambda: yamlio.key_lines(text)), problems
    )
    if problems or config is None:
        raise InvalidContent(problems)
    return config


#: The keys of ``extra.town`` (a misspelt one gets a suggestion).
TOWN_KEYS = (
    "name",
    "short_name",
    "timezone",
    "population",
    "bulletins_dir",
    "categories",
    "whatsapp",
    "whatsapp_channel",
    "telegram",
    "office_hours",
    "counter",
    "reports",
    "price_per_template",
    "cost_ceiling_eur",
    "retention_days",
    *IDENTITY_KEYS,
    "editor",
)

Add = Callable[[str, str, str], None]


def _build(
    path: Path, shown: str, raw: dict[str, Any], lines: Callable[[], dict[str, int]], problems: ProblemList
) -> TownConfig | None:
    def add(key: str, message: str, fix: str) -> None:
        problems.add(shown, key, message, fix, lines().get(key))

    extra = raw.get("extra")
    town = extra.get("town") if isinstance(extra, dict) else None
    if not isinstance(town, dict):
        add(
            "extra.town",
            "manca il blocco «town» con i dati del Comune.",
            "aggiungi sotto «extra:» un blocco «town:» come in mkdocs.yml di esempio (nome, categorie, canali).",
        )
        return None
    P = "extra.town."
    _unknown_keys(town, P, add)
    site_url = _site_url(raw.get("site_url"), add)
    name = _text(town, "name", P, add, "il nome del Comune, per esempio «Comune di Valfiorita».")
    short_name = town.get("short_name") or (name.removeprefix("Comune di ").strip() if name else "")
    content_dir = path.parent / str(raw.get("docs_dir", "content"))
    if not content_dir.is_dir():
        add(
            "docs_dir",
            f"la cartella dei contenuti «{content_dir.name}» non esiste.",
            "crea la cartella content/ oppure correggi docs_dir.",
        )
    whatsapp = _whatsapp(town.get("whatsapp"), P, add)
    channel_url = _channel_url(town.get("whatsapp_channel"), P, add)
    telegram = _telegram(town.get("telegram"), P, add)
    if not (whatsapp or channel_url or telegram):
        add(
            P + "whatsapp",
            "nessun canale configurato.",
            "configura almeno uno tra whatsapp (lista), whatsapp_channel e telegram.",
        )
    site_problems = ProblemList()

    def add_site(key: str, message: str, fix: str) -> None:
        site_problems.add(shown, key, message, fix, lines().get(key))

    identity = parse_identity(town, content_dir, P, add_site)
    if not town.get("reports"):
        add_site(
            P + "reports",
            "manca «reports»: il sito deve dire dove segnalare un disservizio (la lista WhatsApp è a senso unico).",
            "aggiungi «reports:» con toll_free (numero verde), form_url (modulo web) e/o email.",
        )
    config = TownConfig(
        path=path,
        site_name=str(raw.get("site_name") or name),
        site_url=site_url,
        name=name,
        short_name=str(short_name),
        timezone=_timezone(town.get("timezone", "Europe/Rome"), P, add),
        population=_population(town.get("population"), P, add),
        content_dir=content_dir,
        bulletins_dir=str(town.get("bulletins_dir", "notizie")).strip("/"),
        categories=_categories(town.get("categories"), P, add),
        whatsapp=whatsapp,
        channel_url=channel_url,
        telegram=telegram,
        office_hours=_office_hours(town.get("office_hours"), P, add),
        counter=_counter(town.get("counter", False), P, add),
        reports=_reports(town.get("reports"), P, add),
        price_per_template=_price(town.get("price_per_template", 0.05), P, add),
        cost_ceiling_eur=_ceiling(town.get("cost_ceiling_eur"), P, add),
        retention_days=_retention(town.get("retention_days", 30), P, add),
        identity=identity,
        site_problems=tuple(site_problems),
        **_markdown(raw.get("markdown_extensions"), add),
        editor=_editor(town.get("editor"), P, add),
    )
    return None if problems else config


#: ProperDocs' own Markdown extensions, always on, before those listed in ``markdown_extensions``.
BUILTIN_MARKDOWN_EXTENSIONS = ("toc", "tables", "fenced_code")


def _markdown(value: Any, add: Add) -> dict[str, Any]:
    """``markdown_extensions`` as ProperDocs reads it: names, or one-key mappings of a name to its options."""
    names = list(BUILTIN_MARKDOWN_EXTENSIONS)
    configs: dict[str, Mapping[str, Any]] = {}
    for item in value if isinstance(value, list) else []:
        name, options = None, None
        if isinstance(item, str):
            name = item
        elif isinstance(item, dict) and len(item) == 1:
            name, options = next(iter(item.items()))
        if not isinstance(name, str) or not isinstance(options, (dict, type(None))):
            add(
                "markdown_extensions",
                "un'estensione di «markdown_extensions» non è scritta bene.",
                "scrivi il nome dell'estensione, oppure «- nome: {opzione: valore}».",
            )
            continue
        if name not in names:
            names.append(name)
        if options:
            configs[name] = options
    if value is not None and not isinstance(value, list):
        add(
            "markdown_extensions",
            "«markdown_extensions» deve essere un elenco.",
            "scrivi un'estensione per riga, con «- ».",
        )
    return {"markdown_extensions": tuple(names), "markdown_configs": configs}


def _unknown_keys(town: dict[str, Any], P: str, add: Add) -> None:
    for key in town:
        if key not in TOWN_KEYS:
            close = difflib.get_close_matches(str(key), sorted(TOWN_KEYS), n=1)
            hint = (
                f"forse intendevi «{close[0]}»?" if close else f"i campi ammessi sono: {', '.join(sorted(TOWN_KEYS))}."
            )
            add(P + str(key), f"campo sconosciuto «{key}».", hint)


def _site_url(site_url: Any, add: Add) -> str:
    if (
        not isinstance(site_url, str)
        or urlparse(site_url).scheme not in ("http", "https")
        or not urlparse(site_url).netloc
    ):
        add(
            "site_url",
            "manca l'indirizzo del sito (site_url) o non è un indirizzo web.",
            "scrivi l'indirizzo completo, per esempio https://avvisi.comune.example.it/.",
        )
        site_url = "http://localhost/"
    return site_url.rstrip("/") + "/"


def _timezone(value: Any, P: str, add: Add) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        add(P + "timezone", f"fuso orario «{value}» sconosciuto.", "usa «Europe/Rome».")
        return ZoneInfo("Europe/Rome")


def _population(value: Any, P: str, add: Add) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        add(
            P + "population",
            "manca il numero di residenti (population) o non è un numero intero positivo.",
            "scrivi il numero di abitanti senza punti, per esempio 38400.",
        )
        return 1
    return value


def _channel_url(value: Any, P: str, add: Add) -> str | None:
    if value is not None and (not isinstance(value, str) or not _CHANNEL_URL.match(value)):
        add(
            P + "whatsapp_channel",
            f"«{value}» non è un link di invito a un canale WhatsApp.",
            "copia il link dall'app (Canale › Condividi): ha la forma https://whatsapp.com/channel/0029Va….",
        )
        return None
    return value


COUNTER_KEYS = ("answers_dir", "retention_days", "template")


def _counter(value: Any, P: str, add: Add) -> Counter | None:
    if value is None or value is False:
        return None
    if value is True:
        return Counter()
    if not isinstance(value, dict):
        add(
            P + "counter",
            "«counter» deve essere true, false oppure un blocco con le impostazioni dello sportello.",
            "scrivi true se il Comune risponde in chat uno a uno (sportello virtuale), altrimenti false.",
        )
        return None
    for key in value:
        if key not in COUNTER_KEYS:
            add(
                P + f"counter.{key}", f"campo sconosciuto «{key}».", f"i campi ammessi sono: {', '.join(COUNTER_KEYS)}."
            )
    answers = value.get("answers_dir", Counter.answers_dir)
    if not isinstance(answers, str) or not _SLUG.match(answers.strip("/")):
        add(
            P + "counter.answers_dir",
            f"«{answers}» non è un nome di cartella valido.",
            "scrivi il nome di una cartella dentro content/, per esempio «risposte».",
        )
        answers = Counter.answers_dir
    days = value.get("retention_days", Counter.retention_days)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
        add(
            P + "counter.retention_days",
            f"«{days}» non è un numero di giorni valido.",
            "scrivi dopo quanti giorni cancellare i messaggi dei cittadini, per esempio 90.",
        )
        days = Counter.retention_days
    template = value.get("template", Counter.template)
    if not isinstance(template, str) or not _TEMPLATE.match(template):
        add(
            P + "counter.template",
            f"il nome del modello WhatsApp «{template}» non è valido.",
            "usa lettere minuscole, cifre e trattini bassi, come il modello approvato da Meta.",
        )
        template = Counter.template
    return Counter(answers.strip("/"), days, template)


def _retention(value: Any, P: str, add: Add) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 3650:
        add(
            P + "retention_days",
            "«retention_days» deve essere un numero di giorni tra 1 e 3650.",
            "scrivi per quanti giorni tenere le tracce dei messaggi ricevuti, per esempio 30.",
        )
        return 30
    return value


def _price(value: Any, P: str, add: Add) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        add(
            P + "price_per_template",
            "il prezzo per messaggio deve essere un numero in euro.",
            "scrivi per esempio 0.05 (cinque centesimi).",
        )
        return 0.05
    return float(value)


def _ceiling(value: Any, P: str, add: Add) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        add(
            P + "cost_ceiling_eur",
            "il tetto di spesa per invio deve essere un numero in euro.",
            "scrivi per esempio 300 (trecento euro), oppure togli la riga per non avere un tetto.",
        )
        return None
    return float(value)


def _text(block: dict[str, Any], key: str, prefix: str, add: Any, what: str) -> str:
    value = block.get(key)
    if not isinstance(value, str) or not value.strip():
        add(prefix + key, f"manca «{key}».", f"scrivi {what}")
        return ""
    return value.strip()


def _categories(value: Any, P: str, add: Any) -> tuple[Category, ...]:
    if value is None:
        return tuple(Category(s, label, ch, "avviso_comunale") for s, label, ch in DEFAULT_CATEGORIES)
    if not isinstance(value, list) or not value:
        add(
            P + "categories",
            "«categories» deve essere un elenco di categorie.",
            "scrivi un elenco con, per ognuna, slug ed etichetta (vedi mkdocs.yml di esempio).",
        )
        return ()
    result: list[Category] = []
    for index, item in enumerate(value, 1):
        where = f"{P}categories[{index}]"
        if not isinstance(item, dict):
            add(
                where, "ogni categoria deve avere slug e label.", "scrivi per esempio «- slug: meteo» e «label: Meteo»."
            )
            continue
        slug, label = item.get("slug"), item.get("label")
        if not isinstance(slug, str) or not _SLUG.match(slug):
            add(
                where,
                f"lo slug «{slug}» non è valido.",
                "usa solo lettere minuscole senza accenti, cifre e trattini, per esempio «protezione-civile».",
            )
            continue
        if not isinstance(label, str) or not label.strip():
            add(
                where,
                f"la categoria «{slug}» non ha un'etichetta (label).",
                "scrivi il nome in italiano, per esempio «Meteo».",
            )
            continue
        channels = item.get("channels", list(UTILITY_CHANNELS))
        if not isinstance(channels, list) or any(c not in CHANNELS for c in channels):
            add(
                where,
                f"i canali della categoria «{slug}» non sono validi: {channels}.",
                f"usa un elenco tra: {', '.join(CHANNELS)}.",
            )
            continue
        template = item.get("template", "avviso_comunale")
        if not isinstance(template, str) or not _TEMPLATE.match(template):
            add(
                where,
                f"il nome del modello WhatsApp «{template}» non è valido.",
                "usa lettere minuscole, cifre e trattini bassi, come il modello approvato da Meta.",
            )
            continue
        if any(c.slug == slug for c in result):
            add(where, f"la categoria «{slug}» è ripetuta.", "togli il doppione.")
            continue
        result.append(Category(slug, label.strip(), tuple(channels), template))
    return tuple(result)


def normalize_keyword(text: str) -> str:
    """Upper case, no accents, single spaces: how keywords are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^A-Z0-9]+", " ", plain.upper()).strip()


def _whatsapp(value: Any, P: str, add: Any) -> WhatsAppList | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        add(
            P + "whatsapp",
            "«whatsapp» deve contenere numero e parola chiave.",
            "scrivi «number:» e «keyword:» sotto «whatsapp:».",
        )
        return None
    number = value.get("number")
    try:
        parsed = phonenumbers.parse(str(number), "IT")
        if not phonenumbers.is_possible_number(parsed):
            raise phonenumbers.NumberParseException(0, "impossible")
    except phonenumbers.NumberParseException:
        add(
            P + "whatsapp.number",
            f"«{number}» non è un numero di telefono valido.",
            "scrivi il numero completo di prefisso internazionale, per esempio +39 333 000 0000.",
        )
        return None
    keyword = normalize_keyword(str(value.get("keyword", "")))
    if not keyword:
        add(
            P + "whatsapp.keyword",
            "manca la parola chiave per iscriversi alla lista.",
            "scrivi per esempio «keyword: VALFIORITA»: i cittadini manderanno «VALFIORITA ON».",
        )
        return None
    on_word = normalize_keyword(str(value.get("on", "ON"))) or "ON"
    off_word = normalize_keyword(str(value.get("off", "OFF"))) or "OFF"
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    display = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return WhatsAppList(e164.lstrip("+"), display, keyword, on_word, off_word)


def _telegram(value: Any, P: str, add: Any) -> Telegram | None:
    if value is None:
        return None
    chat, link = (
        (value, None)
        if isinstance(value, str)
        else ((value.get("chat"), value.get("link")) if isinstance(value, dict) else (None, None))
    )
    chat = str(chat) if chat is not None else ""
    if _TELEGRAM_NAME.match(chat):
        return Telegram(chat, link or f"https://t.me/{chat[1:]}")
    if _TELEGRAM_ID.match(chat):
        if not isinstance(link, str) or not link.startswith("https://t.me/"):
            add(
                P + "telegram.link",
                "un canale Telegram privato ha bisogno del link di invito.",
                "aggiungi «link: https://t.me/+…» copiato da Telegram (Canale › Link di invito).",
            )
            return None
        return Telegram(chat, link)
    add(
        P + "telegram",
        f"«{chat}» non è il nome di un canale Telegram.",
        "scrivi il nome pubblico con la chiocciola, per esempio «@valfiorita_avvisi».",
    )
    return None


_DAY_NAMES = {normalize_keyword(name): index for index, name in enumerate(WEEKDAYS_IT)} | {
    normalize_keyword(name[:3]): index for index, name in enumerate(WEEKDAYS_IT)
}


def _office_hours(value: Any, P: str, add: Any) -> OfficeHours:
    if value is None:
        return OfficeHours({})
    if not isinstance(value, dict):
        add(
            P + "office_hours",
            "gli orari devono essere un elenco di giorni.",
            "scrivi per esempio «lunedì: 09:00-13:00, 15:00-17:30».",
        )
        return OfficeHours({})
    ranges: dict[int, tuple[tuple[time, time], ...]] = {}
    for day, spans in value.items():
        index = _DAY_NAMES.get(normalize_keyword(str(day)))
        if index is None:
            add(
                P + f"office_hours.{day}",
                f"«{day}» non è un giorno della settimana.",
                "usa lunedì, martedì, mercoledì, giovedì, venerdì, sabato, domenica.",
            )
            continue
        parsed = []
        for span in str(spans).split(","):
            m = _HOURS.match(span.strip())
            if not m:
                add(
                    P + f"office_hours.{day}",
                    f"orario «{span.strip()}» non valido.",
                    "scrivi l'orario come 09:00-13:00; più fasce separate da virgola.",
                )
                continue
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h1, m1) >= (h2, m2):
                add(
                    P + f"office_hours.{day}",
                    f"orario «{span.strip()}» impossibile.",
                    "l'apertura deve venire prima della chiusura, entro le 24:00.",
                )
                continue
            close = time(23, 59, 59) if h2 == 24 else time(h2, m2)
            parsed.append((time(h1, m1), close))
        ranges[index] = tuple(parsed)
    return OfficeHours(ranges)


def _reports(value: Any, P: str, add: Any) -> Reports:
    if value is None:
        return Reports()
    if not isinstance(value, dict):
        add(
            P + "reports",
            "«reports» deve indicare dove mandare le segnalazioni.",
            "scrivi toll_free, form_url e/o email.",
        )
        return Reports()
    form_url, email = value.get("form_url"), value.get("email")
    if form_url is not None and urlparse(str(form_url)).scheme not in ("http", "https"):
        add(
            P + "reports.form_url", f"«{form_url}» non è un indirizzo web.", "scrivi l'indirizzo completo con https://."
        )
    if email is not None and not _EMAIL.match(str(email)):
        add(
            P + "reports.email",
            f"«{email}» non è un indirizzo e-mail.",
            "scrivi un indirizzo come urp@comune.example.it.",
        )
    toll_free = value.get("toll_free")
    return Reports(str(toll_free) if toll_free else None, form_url, email)


_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


def _editor(value: Any, P: str, add: Add) -> Editor | None:
    if value is None:
        return None
    where = P + "editor"
    if not isinstance(value, dict):
        add(where, "«editor» deve indicare il repository GitHub.", "scrivi «repo: proprietario/nome» sotto «editor:».")
        return None
    repo, branch = value.get("repo"), value.get("branch", "main")
    auth_url, open_authoring = value.get("auth_url"), value.get("open_authoring", True)
    ok = True
    if not isinstance(repo, str) or not _REPO.match(repo):
        add(
            where + ".repo",
            f"«{repo}» non è il nome di un repository GitHub.",
            "scrivi proprietario e nome, come nell'indirizzo: «comune-valfiorita/avvisi».",
        )
        ok = False
    if not isinstance(branch, str) or not branch.strip() or " " in branch:
        add(where + ".branch", f"«{branch}» non è un ramo valido.", "scrivi il ramo principale, di solito «main».")
        ok = False
    parsed = urlparse(auth_url) if isinstance(auth_url, str) else None
    if auth_url is not None and (
        parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/")
    ):
        add(
            where + ".auth_url",
            f"«{auth_url}» non è l'indirizzo del servizio di accesso.",
            "scrivi solo protocollo e nome del server, senza percorso: https://servizi.comune.example.it.",
        )
        ok = False
    if not isinstance(open_authoring, bool):
        add(where + ".open_authoring", "«open_authoring» deve essere true o false.", "scrivi true o false.")
        ok = False
    if not ok:
        return None
    return Editor(str(repo), str(branch), str(auth_url).rstrip("/") if auth_url else None, bool(open_authoring))
