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
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Europe/Rome")

MONTHS_IT = (
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
)
WEEKDAYS_IT = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")

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
    day = date(y, m, d)
    if parts.get("H") is None:
        return _at(day, None, tz, end_of_day)
    hh, mm, ss = int(parts["H"]), int(parts["M"]), int(parts.get("S") or 0)
    if hh > 23 or mm > 59 or ss > 59:
        raise DateError(f"nella data «{text}» l'ora non esiste.", "scrivi l'ora da 00:00 a 23:59.")
    zone: tzinfo = tz
    if parts.get("tz"):
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


def is_date_only(value: object) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})\s*", value))


def format_it(moment: datetime, tz: tzinfo = DEFAULT_TZ, *, with_time: bool = True) -> str:
    """``venerdì 20 novembre 2026, ore 08:30`` in the town's zone."""
    local = moment.astimezone(tz)
    text = f"{WEEKDAYS_IT[local.weekday()]} {local.day} {MONTHS_IT[local.month - 1]} {local.year}"
    if with_time and (local.hour or local.minute):
        text += f", ore {local:%H:%M}"
    return text


def now(tz: tzinfo = DEFAULT_TZ, override: str | None = None) -> datetime:
    """The current time in the town's zone, or ``override`` (``--now``, SITE_TOOLS_NOW) for tests and previews."""
    return parse_datetime(override, tz) if override else datetime.now(tz)
