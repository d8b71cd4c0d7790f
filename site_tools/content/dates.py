"""Dates as editors write them, as time-zone-aware datetimes.

Editors write ``2026-11-20``, ``2026-11-20 08:30``, ``2026-11-20T08:30+01:00``
or the Italian ``20/11/2026 08:30``. A value without a zone is local time
in the town's zone (Europe/Rome). A date without a time means the start of
that day, or its end for fields such as ``expires`` (``end_of_day=True``):
"scade il 23" means the 23rd is still valid.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_day_names, get_month_names

DEFAULT_TZ = ZoneInfo("Europe/Rome")
LOCALE = "it_IT"

#: Italian month and weekday names from Babel (the CLDR data every Italian locale uses), Monday first.
MONTHS_IT: tuple[str, ...] = tuple(get_month_names("wide", locale=LOCALE)[m] for m in range(1, 13))
WEEKDAYS_IT: tuple[str, ...] = tuple(get_day_names("wide", locale=LOCALE)[d] for d in range(7))

_ISO = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?)?$"
)
_IT = re.compile(
    r"^(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})"
    r"(?:\s+(?:ore\s+)?(?P<H>\d{1,2})[:.](?P<M>\d{2}))?$"
)

EXAMPLE = "2026-11-20 oppure 2026-11-20 08:30"


class DateError(ValueError):
    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message = message
        self.fix = fix


def parse_datetime(value: object, tz: tzinfo = DEFAULT_TZ, *, end_of_day: bool = False) -> datetime:
    """Parse one frontmatter value; raise :class:`DateError` in Italian."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return _at(value, None, tz, end_of_day)
    if not isinstance(value, str) or not value.strip():
        raise DateError(
            f"«{value}» non è una data.",
            f"scrivi la data nel formato AAAA-MM-GG, per esempio {EXAMPLE}.",
        )
    text = value.strip()
    match = _ISO.match(text) or _IT.match(text)
    if not match:
        raise DateError(
            f"«{text}» non è una data nel formato atteso.",
            f"scrivi la data come AAAA-MM-GG, con l'ora se serve: {EXAMPLE}.",
        )
    parts = match.groupdict()
    y, m, d = int(parts["y"]), int(parts["m"]), int(parts["d"])
    if not 1 <= m <= 12:
        raise DateError(f"nella data «{text}» il mese {m} non esiste.", "il mese va da 01 a 12.")
    last = calendar.monthrange(y, m)[1]
    if not 1 <= d <= last:
        raise DateError(
            f"il {d} {MONTHS_IT[m - 1]} {y} non esiste: {MONTHS_IT[m - 1]} ha {last} giorni.",
            f"controlla il giorno (da 1 a {last}) e correggi la data.",
        )
    if y < 1:
        raise DateError(
            f"nella data «{text}» l'anno {y} non esiste.", "scrivi l'anno con quattro cifre, per esempio 2026."
        )
    day = date(y, m, d)
    if parts.get("H") is None:
        return _at(day, None, tz, end_of_day)
    hh, mm, ss = int(parts["H"]), int(parts["M"]), int(parts.get("S") or 0)
    if hh > 23 or mm > 59 or ss > 59:
        raise DateError(f"nella data «{text}» l'ora non esiste.", "scrivi l'ora da 00:00 a 23:59.")
    zone: tzinfo = tz
    if parts.get("tz"):
        digits = parts["tz"].lstrip("+-").replace(":", "")
        if parts["tz"] != "Z" and (int(digits[:2]) > 23 or int(digits[2:]) > 59):
            raise DateError(
                f"nella data «{text}» il fuso orario {parts['tz']} non esiste.",
                "scrivi +01:00 (ora solare) o +02:00 (ora legale), oppure toglilo: vale l'ora italiana.",
            )
        zone = _offset(parts["tz"])
    return datetime.combine(day, time(hh, mm, ss), tzinfo=zone)


def _at(day: date, moment: time | None, tz: tzinfo, end_of_day: bool) -> datetime:
    if end_of_day:
        # The first instant of the next day: "valid until the end of the 23rd".
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return datetime.combine(day, moment or time(0), tzinfo=tz)


def _offset(text: str) -> tzinfo:
    from datetime import timezone

    if text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def format_day(moment: datetime | date, tz: tzinfo = DEFAULT_TZ) -> str:
    """``domenica 22 novembre 2026``; the first of the month is ``1º`` as Italian writes it.

    Always with the weekday, so a sentence never needs an article before the
    date (no «il domenica», no «dell'8»): «annullato domenica 22 novembre 2026».
    """
    return _day_text(moment.astimezone(tz).date() if isinstance(moment, datetime) else moment)


# Babel formats each day once: ten years of bulletins are some 3,650 days (the site build at 10,000, profiled).
@lru_cache(maxsize=8192)
def _day_text(day: date) -> str:
    text = format_date(day, "EEEE d MMMM y", locale=LOCALE)
    if day.day == 1:
        text = text.replace(" 1 ", " 1º ", 1)
    return text


def format_it(moment: datetime, tz: tzinfo = DEFAULT_TZ, *, with_time: bool = True) -> str:
    """``venerdì 20 novembre 2026, ore 08:30`` in the town's zone (no time at midnight)."""
    local = moment.astimezone(tz)
    text = format_day(local, tz)
    if with_time and (local.hour or local.minute):
        text += f", ore {local:%H:%M}"
    return text


def format_until(moment: datetime, tz: tzinfo = DEFAULT_TZ) -> str:
    """The last moment something is valid, as the editor wrote it: ``mercoledì 16 dicembre 2026``.

    A date written alone (``expires: 2026-12-16``) is kept as the first
    instant of the next day (:func:`parse_datetime` with ``end_of_day=True``),
    so a midnight is shown as the day before it, the day the editor wrote;
    any other time is shown with its hour.
    """
    local = moment.astimezone(tz)
    if local.time() == time(0):
        return format_day(local.date() - timedelta(days=1))
    return format_it(local, tz)


def month_title(year: int, month: int) -> str:
    """``Novembre 2026``: a heading of the archive."""
    return format_date(date(year, month, 1), "LLLL y", locale=LOCALE).capitalize()


def now(tz: tzinfo = DEFAULT_TZ, override: str | None = None) -> datetime:
    """The current time in the town's zone, or ``override`` (``--now``, SITE_TOOLS_NOW) for tests and previews."""
    return parse_datetime(override, tz) if override else datetime.now(tz)
