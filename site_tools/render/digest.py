"""The weekly digest: which bulletins it holds, its WhatsApp template, its page and feed entry.

One digest per ISO week, sent at ``extra.town.digest``'s weekday and hour (the town's time): it holds the bulletins
dated in the seven days before that moment whose type and category the town chose, still worth reading then
(an event not over, a deadline not passed), never withdrawn (a bulletin that ``cancels`` it, visible by then),
never urgent (an urgent bulletin reached every subscriber already). Everything is computed *as of the send
moment*, so the preview the day before, the send, and a send resumed after a crash agree.

A template variable may not hold a newline (error 132018), so the bullet lines are the template's own: one
template per number of lines, ``<name>_1`` … ``<name>_5``, each with that many fixed slots; over five bulletins the
last slot says how many more the digest's page lists. Category MARKETING (Meta's rule for a digest of events and
calls).
"""

from __future__ import annotations

import bisect
import html
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from site_tools.content import limits
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.content.dates import MONTHS_IT, WEEKDAYS_IT, format_until
from site_tools.content.town import Digest
from site_tools.render.rss import FEED_SIZE
from site_tools.render.whatsapp_template import FOOTER, clean_param, hydrate, template_request

#: The most bullet lines a digest message has (templates ``<name>_1`` … ``<name>_SLOTS``).
SLOTS = 5
#: A line's longest text: five lines and the fixed text stay far under the body's 1,024 characters.
LINE_MAX = 120
#: Where the digests live on the site: ``riepiloghi/`` (the archive), ``riepiloghi/2026-W50/``, ``riepiloghi/feed.xml``.
SECTION = "riepiloghi"
FEED_PATH = f"{SECTION}/feed.xml"
ID_PREFIX = "riepilogo-"
INTRO = "Ecco il riepilogo della settimana dal Comune:"
OUTRO = "Date, luoghi e dettagli sono nella pagina del riepilogo."
BUTTON_LABEL = "Apri il riepilogo"
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Week:
    """An ISO week and the moment its digest is due (the town's weekday and hour)."""

    year: int
    number: int
    send_at: datetime

    @property
    def id(self) -> str:
        """The ledger's id of this digest (never a bulletin's: those start with a date)."""
        return f"{ID_PREFIX}{self.key}"

    @property
    def key(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def url_path(self) -> str:
        return f"{SECTION}/{self.key}/"

    @property
    def since(self) -> datetime:
        return self.send_at - WEEK


def week_of(day: date, config: TownConfig, digest: Digest) -> Week:
    """The week ``day`` falls in, with its digest's send moment."""
    year, number, _ = day.isocalendar()
    weekday = WEEKDAYS_IT.index(digest.weekday) + 1
    send_day = date.fromisocalendar(year, number, weekday)
    return Week(year, number, datetime.combine(send_day, time(digest.hour), tzinfo=config.timezone))


def due_week(now: datetime, config: TownConfig, digest: Digest) -> Week:
    """The latest digest due at ``now``: this week's once its moment has come, else last week's."""
    week = week_of(now.astimezone(config.timezone).date(), config, digest)
    return week if week.send_at <= now else week_of((week.send_at - WEEK).date(), config, digest)


def next_week(now: datetime, config: TownConfig, digest: Digest) -> Week:
    """The first digest due after ``now`` (the clock's next moment, the preview's «the day before»)."""
    week = week_of(now.astimezone(config.timezone).date(), config, digest)
    return week if week.send_at > now else week_of((week.send_at + WEEK).date(), config, digest)


def week_by_key(key: str, config: TownConfig, digest: Digest) -> Week | None:
    """``2026-W50`` → that week; None when it is not a week."""
    try:
        year, number = key.upper().split("-W")
        return week_of(date.fromisocalendar(int(year), int(number), 1), config, digest)
    except ValueError:
        return None


@dataclass(frozen=True)
class DigestContent:
    week: Week
    items: tuple[Bulletin, ...]
    #: Bulletins of the week left out, with the reason (Italian): for the preview.
    left_out: tuple[tuple[Bulletin, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.items


def select(bulletins: list[Bulletin], week: Week, digest: Digest) -> DigestContent:
    """What the digest of ``week`` holds, as of its send moment."""
    at = week.send_at
    withdrawn = {b.cancels for b in bulletins if b.cancels is not None and b.is_visible(at)}
    items: list[Bulletin] = []
    left_out: list[tuple[Bulletin, str]] = []
    for b in sorted(bulletins, key=lambda b: b.date):
        if not b.is_visible(at) or not week.since < b.date <= at:
            continue
        why = _left_out(b, at, withdrawn, digest)
        if why:
            left_out.append((b, why))
        else:
            items.append(b)
    return DigestContent(week, tuple(items), tuple(left_out))


def _left_out(b: Bulletin, at: datetime, withdrawn: set[str], digest: Digest) -> str:
    if b.type not in digest.types:
        return f"tipo «{b.type}» non nel riepilogo"
    if not set(b.categories) & set(digest.categories):
        return "categoria non nel riepilogo"
    if b.urgent:
        return "urgente: è già arrivato a tutti"
    if b.cancels:
        return "annulla un altro avviso"
    if b.id in withdrawn:
        return "annullato"
    if b.event is not None and b.event.is_over(at):
        return "l'evento è già passato"
    if b.expires is not None and b.expires <= at:
        return "scaduto"
    return ""


def _ordinal(day: int) -> str:
    """The day of the month as Italian writes it: the first is «1º» (content/dates.py does the same)."""
    return "1º" if day == 1 else str(day)


def _short_day(moment: datetime, config: TownConfig) -> str:
    local = moment.astimezone(config.timezone)
    return f"{WEEKDAYS_IT[local.weekday()]} {_ordinal(local.day)} {MONTHS_IT[local.month - 1]}"


def line(b: Bulletin, config: TownConfig) -> str:
    """One bullet's text: the title and when (an event's day, a deadline)."""
    when = ""
    if b.event is not None:
        when = f" – {_short_day(b.event.start, config)}"
    elif b.expires is not None:
        when = f" – entro {format_until(b.expires, config.timezone)}"
    title = clean_param(b.title, LINE_MAX - len(when))
    return clean_param(title + when, LINE_MAX)


def lines(content: DigestContent, config: TownConfig) -> list[str]:
    """The message's lines: one per bulletin, at most :data:`SLOTS` (the last then says how many more)."""
    texts = [line(b, config) for b in content.items]
    if len(texts) <= SLOTS:
        return texts
    more = len(texts) - (SLOTS - 1)
    return [*texts[: SLOTS - 1], f"e altri {more} avvisi nella pagina del riepilogo"]


def slot_names(count: int) -> tuple[str, ...]:
    return tuple(f"voce_{i}" for i in range(1, count + 1))


def body(count: int) -> str:
    """The template's body with ``count`` bullet lines (what Meta approves)."""
    bullets = "\n".join(f"• {{{{{name}}}}}" for name in slot_names(count))
    return f"{INTRO}\n\n{bullets}\n\n{OUTRO}"


def template_name(count: int, digest: Digest) -> str:
    return f"{digest.template}_{count}"


@dataclass(frozen=True)
class DigestMessage:
    name: str
    params: dict[str, str]
    url_suffix: str
    callback: str

    def payload(self, to: str) -> dict[str, Any]:
        """The request body for one recipient (E.164 digits), for ``/marketing_messages`` or ``/messages``."""
        return template_request(
            to,
            self.callback,
            self.name,
            "it",
            [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "parameter_name": k, "text": v} for k, v in self.params.items()],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": self.url_suffix}],
                },  # fmt: skip
            ],
        )

    @property
    def text(self) -> str:
        return hydrate(body(len(self.params)), self.params)


def message(content: DigestContent, config: TownConfig, digest: Digest) -> DigestMessage:
    """The digest's template message (``content`` must not be empty: an empty week sends nothing)."""
    texts = lines(content, config)
    assert texts, "an empty week has no message"
    return DigestMessage(
        template_name(len(texts), digest),
        dict(zip(slot_names(len(texts)), texts, strict=True)),
        content.week.url_path,
        content.week.id,
    )


def submissions(config: TownConfig) -> list[dict[str, Any]]:
    """The digest's templates as the Graph API wants them (none without ``extra.town.digest``)."""
    digest = config.digest
    if digest is None:
        return []
    off = config.whatsapp.off_message if config.whatsapp else "STOP"
    examples = ["Sagra delle castagne – sabato 12 dicembre", "Bando per i contributi all'affitto – entro il 20"]
    return [
        {
            "name": template_name(count, digest),
            "language": "it",
            "category": "MARKETING",
            "parameter_format": "NAMED",
            "components": [
                {
                    "type": "BODY",
                    "text": body(count),
                    "example": {
                        "body_text_named_params": [
                            {"param_name": name, "example": examples[i % len(examples)]}
                            for i, name in enumerate(slot_names(count))
                        ]
                    },
                },
                {"type": "FOOTER", "text": FOOTER.format(off=off)[: limits.TEMPLATE_FOOTER_MAX]},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {
                            "type": "URL",
                            "text": BUTTON_LABEL,
                            "url": config.site_url + "{{1}}",
                            "example": [config.site_url + f"{SECTION}/2026-W50/"],
                        }
                    ],
                },
            ],
        }
        for count in range(1, SLOTS + 1)
    ]


@dataclass(frozen=True)
class Cost:
    """One digest against the same bulletins sent one by one, to ``recipients`` subscribers."""

    recipients: int
    bulletins: int
    digest_eur: float
    separate_eur: float

    @property
    def saving_eur(self) -> float:
        return self.separate_eur - self.digest_eur


def cost(recipients: int, bulletins: int, config: TownConfig, digest: Digest) -> Cost:
    """Each delivered template is charged: one marketing message each, against one utility message per bulletin."""
    return Cost(
        recipients,
        bulletins,
        recipients * digest.price_per_marketing if bulletins else 0.0,
        recipients * bulletins * config.price_per_template,
    )


def title(week: Week) -> str:
    """``Riepilogo della settimana dal 7 al 13 dicembre 2026``"""
    monday = date.fromisocalendar(week.year, week.number, 1)
    sunday = monday + timedelta(days=6)
    first = _ordinal(monday.day) + ("" if monday.month == sunday.month else f" {MONTHS_IT[monday.month - 1]}")
    if monday.year != sunday.year:
        first += f" {monday.year}"
    last = f"{_ordinal(sunday.day)} {MONTHS_IT[sunday.month - 1]} {sunday.year}"
    return f"Riepilogo della settimana dal {first} al {last}"


def weeks_between(first: datetime, last: datetime, config: TownConfig, digest: Digest) -> list[Week]:
    """Every week whose digest was due between ``first`` and ``last`` (both included), oldest first."""
    week = next_week(first - timedelta(microseconds=1), config, digest)
    found = []
    for _ in range(math.ceil((last - first) / WEEK) + 2):
        if week.send_at > last:
            break
        found.append(week)
        week = week_of((week.send_at + WEEK).date(), config, digest)
    return found


def archive(bulletins: list[Bulletin], now: datetime, config: TownConfig, digest: Digest) -> list[DigestContent]:
    """Every digest due by ``now`` that held something, newest first (the site's archive and feed). Each week looks
    only at its own seven days (bisected), so ten years of bulletins cost one sort."""
    dated = sorted((b for b in bulletins if not b.draft), key=lambda b: b.date)
    if not dated:
        return []
    cancellers = [b for b in dated if b.cancels is not None]
    moments = [b.date for b in dated]
    found = []
    for week in weeks_between(dated[0].date, now, config, digest):
        window = dated[bisect.bisect_right(moments, week.since) : bisect.bisect_right(moments, week.send_at)]
        inside = {b.id for b in window}
        content = select(window + [c for c in cancellers if c.id not in inside], week, digest)
        if not content.empty:
            found.append(content)
    return found[::-1]


def feed(config: TownConfig, contents: list[DigestContent]) -> bytes:
    """The digests' RSS 2.0 feed (``riepiloghi/feed.xml``): one entry per week, its lines as the description."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.title(f"Riepiloghi settimanali – {config.name}")
    fg.link(href=config.site_url + FEED_PATH, rel="self")
    fg.link(href=config.site_url + SECTION + "/", rel="alternate")
    fg.description(f"Il riepilogo settimanale degli avvisi del {config.name}")
    fg.language("it")
    for content in reversed(contents[:FEED_SIZE]):  # feedgen prepends: oldest first
        url = config.site_url + content.week.url_path
        entry = fg.add_entry()
        entry.id(url)
        entry.guid(url, permalink=True)
        entry.title(title(content.week))
        entry.link(href=url)
        entry.description(html.escape("; ".join(line(b, config) for b in content.items), quote=False))  # HTML
        entry.published(content.week.send_at)
    if contents:
        fg.lastBuildDate(contents[0].week.send_at)
    return fg.rss_str(pretty=True)
