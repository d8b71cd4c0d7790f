"""The town's configuration: one block, ``extra.town`` in ``mkdocs.yml``.

The site (through MkDocs, which exposes ``config.extra.town`` to templates)
and the publisher read the same block; this module is the only code that
reads it. The block's model, with every setting, its default and its checks,
is ``content/town.py``; here it is loaded, its refusals are reported all at
once in Italian with their line (``content/town_problems.py``), and it is
turned into the :class:`TownConfig` the rest of the code uses, with what
``mkdocs.yml`` says outside the block (the site's address, the content
folder, the Markdown extensions).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from site_tools.content import yamlio
from site_tools.content.dates import WEEKDAYS_IT
from site_tools.content.identity import FALLBACK, IDENTITY_KEYS, Identity
from site_tools.content.limits import WHATSAPP_SHARED_APP_MPS
from site_tools.content.problems import InvalidContent, Problem, ProblemList, display_path
from site_tools.content.town import (
    CHANNELS,
    DEFAULT_CATEGORIES,
    FREE_CHANNELS,
    TOWN_KEYS,
    UTILITY_CHANNELS,
    Bluesky,
    Category,
    Counter,
    Digest,
    Editor,
    Facebook,
    Mastodon,
    Newsletter,
    Readability,
    Reports,
    Service,
    Telegram,
    TownSettings,
    Transition,
    WebPush,
    WhatsAppList,
    normalize_keyword,
    town_model,
)
from site_tools.content.town_problems import Loc, node_lines, problems_from

__all__ = [
    "CHANNELS",
    "DEFAULT_CATEGORIES",
    "FREE_CHANNELS",
    "TOWN_KEYS",
    "UTILITY_CHANNELS",
    "Bluesky",
    "Category",
    "Counter",
    "Editor",
    "Facebook",
    "Identity",
    "Mastodon",
    "Newsletter",
    "OfficeHours",
    "Reports",
    "Service",
    "Telegram",
    "TownConfig",
    "Transition",
    "WebPush",
    "WhatsAppList",
    "find_config",
    "load_config",
    "normalize_keyword",
]


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
    price_per_template: float
    #: Above this estimated cost (euro) a send is not started without an explicit approval; None: no ceiling.
    cost_ceiling_eur: float | None
    #: Days the service keeps traces of webhook traffic that could identify a citizen (inbound message ids,
    #: whose ``wamid.HBgM…`` encodes the sender's number).
    retention_days: int
    #: The identity and what stops the site build but not the publisher (a missing PEC must not hold back an
    #: alert): checked when the site or ``validate`` asks, so the urgent path neither waits for nor imports it.
    site_check: Callable[[], tuple[Identity, tuple[Problem, ...]]] = field(
        default=lambda: (FALLBACK, ()), repr=False, compare=False
    )
    #: Python-Markdown extensions the site renders pages with (ProperDocs' built-ins first) and their options:
    #: the validator renders bodies with the same, so both agree on what a link is.
    markdown_extensions: tuple[str, ...] = ()
    markdown_configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: The web editor at /admin/ (None: the town has not set it up).
    editor: Editor | None = None
    #: The service that publishes when GitHub proves a push to main with an OIDC token (None: not set up).
    service: Service | None = None
    #: The list's last weeks: its messages announce the Channel and the end date (None: no transition planned).
    transition: Transition | None = None
    #: The weekly digest of the list (None: the town sends none).
    digest: Digest | None = None
    #: The summaries' readability threshold (Gulpease): ``validate`` warns below it (None: not checked).
    readability: Readability | None = None
    #: The social networks (channels/facebook.py, mastodon.py, bluesky.py); None: the town has not that account.
    facebook: Facebook | None = None
    mastodon: Mastodon | None = None
    bluesky: Bluesky | None = None
    #: The site's notifications (Web Push): the public VAPID key (None: not set up).
    webpush: WebPush | None = None
    #: The e-mail newsletter (None: the town has none).
    newsletter: Newsletter | None = None

    @property
    def newsletter_service_url(self) -> str | None:
        """Where the newsletter's form posts and its links lead: ``newsletter.service_url``, else ``service.url``."""
        if self.newsletter is None:
            return None
        url = self.newsletter.service_url or (self.service.url if self.service else None)
        return url.rstrip("/") if url else None

    @functools.cached_property
    def _site(self) -> tuple[Identity, tuple[Problem, ...]]:
        return self.site_check()

    @property
    def identity(self) -> Identity:
        """Footer, colour, coat of arms… (content/identity.py): only the site needs them."""
        return self._site[0]

    @property
    def site_problems(self) -> tuple[Problem, ...]:
        return self._site[1]

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

    def whatsapp_rate(self, configured: float) -> float:
        """The messages per second the list's number may send: ``WHATSAPP_MPS`` (or ``--rate``), at most
        :data:`~site_tools.content.limits.WHATSAPP_SHARED_APP_MPS` while the number is also in the WhatsApp
        Business app (coexistence). Every sender of the shared budget reads its rate here."""
        if self.whatsapp is not None and self.whatsapp.coexistence is not None:
            return min(configured, float(WHATSAPP_SHARED_APP_MPS))
        return configured

    def enabled_channels(self) -> tuple[str, ...]:
        enabled = []
        if self.whatsapp:
            enabled.append("whatsapp_list")
        if self.channel_url:
            enabled.append("whatsapp_channel")
        if self.telegram:
            enabled.append("telegram")
        enabled += [name for name in ("facebook", "mastodon", "bluesky") if getattr(self, name) is not None]
        if self.webpush:
            enabled.append("webpush")
        if self.newsletter:
            enabled.append("email")
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
    lines = functools.cache(lambda: node_lines(text))
    problems = ProblemList()
    config = _build(path, shown, raw if isinstance(raw, dict) else {}, lines, problems)
    if problems or config is None:
        raise InvalidContent(problems)
    return config


_TOWN: Loc = ("extra", "town")


def _build(
    path: Path, shown: str, raw: dict[str, Any], lines: Callable[[], dict[Loc, int]], problems: ProblemList
) -> TownConfig | None:
    def add(key: str, message: str, fix: str) -> None:
        problems.add(shown, key, message, fix, lines().get(tuple(key.split("."))))

    extra = raw.get("extra")
    block = extra.get("town") if isinstance(extra, dict) else None
    if not isinstance(block, dict):
        add(
            "extra.town",
            "manca il blocco «town» con i dati del Comune.",
            "aggiungi sotto «extra:» un blocco «town:» come in mkdocs.yml di esempio (nome, categorie, canali).",
        )
        return None
    site_url = _site_url(raw.get("site_url"), add)
    content_dir = path.parent / str(raw.get("docs_dir", "content"))
    if not content_dir.is_dir():
        add(
            "docs_dir",
            f"la cartella dei contenuti «{content_dir.name}» non esiste.",
            "crea la cartella content/ oppure correggi docs_dir.",
        )
    markdown = _markdown(raw.get("markdown_extensions"), add)
    settings: TownSettings | None = None
    try:
        settings = TownSettings.model_validate({k: v for k, v in block.items() if k not in IDENTITY_KEYS})
    except ValidationError as exc:
        problems.extend(problems_from(exc, town_model(), block, _TOWN, shown, lines))
    if settings is None or problems:
        return None
    return TownConfig(
        path=path,
        site_name=str(raw.get("site_name") or settings.name),
        site_url=site_url,
        name=settings.name,
        short_name=settings.short_name or settings.name.removeprefix("Comune di ").strip(),
        timezone=ZoneInfo(settings.timezone),
        population=settings.population,
        content_dir=content_dir,
        bulletins_dir=settings.bulletins_dir,
        categories=settings.categories,
        whatsapp=settings.whatsapp,
        channel_url=settings.whatsapp_channel,
        telegram=settings.telegram,
        office_hours=OfficeHours(settings.office_hours),
        counter=settings.counter,
        reports=settings.reports or Reports(),
        price_per_template=settings.price_per_template,
        cost_ceiling_eur=settings.cost_ceiling_eur,
        retention_days=settings.retention_days,
        site_check=functools.partial(_site_check, block, content_dir, settings.reports is None, shown, lines),
        **markdown,
        editor=settings.editor,
        service=settings.service,
        transition=settings.transition,
        digest=settings.digest,
        readability=settings.readability,
        facebook=settings.facebook,
        mastodon=settings.mastodon,
        bluesky=settings.bluesky,
        webpush=settings.webpush,
        newsletter=settings.newsletter,
    )


def _site_check(
    block: dict[str, Any], content_dir: Path, no_reports: bool, shown: str, lines: Callable[[], dict[Loc, int]]
) -> tuple[Identity, tuple[Problem, ...]]:
    """The identity, and what only stops the site (its problems are kept aside: the publisher goes on)."""
    site_problems = ProblemList()
    identity = FALLBACK
    try:
        identity = Identity.model_validate(
            {k: block[k] for k in IDENTITY_KEYS if k in block}, context={"content_dir": content_dir}
        )
    except ValidationError as exc:
        site_problems.extend(problems_from(exc, town_model(), block, _TOWN, shown, lines))
    if no_reports:
        site_problems.add(
            shown,
            "extra.town.reports",
            "manca «reports»: il sito deve dire dove segnalare un disservizio (la lista WhatsApp è a senso unico).",
            "aggiungi «reports:» con toll_free (numero verde), form_url (modulo web) e/o email.",
            lines().get((*_TOWN, "reports")) or lines().get(_TOWN),
        )
    return identity, tuple(site_problems)


#: ProperDocs' own Markdown extensions, always on, before those listed in ``markdown_extensions``.
BUILTIN_MARKDOWN_EXTENSIONS = ("toc", "tables", "fenced_code")


def _markdown(value: Any, add: Callable[[str, str, str], None]) -> dict[str, Any]:
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


def _site_url(site_url: Any, add: Callable[[str, str, str], None]) -> str:
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
