"""What every renderer says the same way: status labels and event times."""

from __future__ import annotations

from datetime import time, timedelta, tzinfo

from site_tools.content.bulletin import Bulletin, Event
from site_tools.content.dates import format_day, format_it


def status_labels(b: Bulletin) -> list[tuple[str, str]]:
    """(emoji, label) lines that head a message: withdrawn, update, urgent."""
    labels = []
    if b.cancels:
        labels.append(("❌", "ANNULLATO / REVOCATO"))
    elif b.updates:
        labels.append(("🔄", "AGGIORNAMENTO"))
    if b.urgent:
        labels.append(("🔴", "URGENTE"))
    return labels


def event_when(event: Event, tz: tzinfo) -> str:
    """When an event happens, in words a citizen reads aloud.

    ``sabato 21 novembre 2026, dalle ore 09:30 alle ore 12:30`` on one day;
    ``da sabato 5 dicembre 2026, ore 10:00, a giovedì 24 dicembre 2026, ore 20:00``
    over several. An end written as a date alone (``end: 2026-12-24``) is read as
    the end of that day: it shows as that day, not as the midnight after it.
    """
    start = event.start.astimezone(tz)
    if event.end is None:
        return format_it(start, tz)
    end = event.end.astimezone(tz)
    if end.time() == time(0) and end > start:
        last_day = (end - timedelta(days=1)).date()
        if last_day == start.date():
            return format_it(start, tz)
        return _span(format_it(start, tz), format_day(last_day))
    if end.date() == start.date():
        day = format_day(start, tz)
        if start.time() == time(0):
            return f"{day}, fino alle ore {end:%H:%M}"
        return f"{day}, dalle ore {start:%H:%M} alle ore {end:%H:%M}"
    return _span(format_it(start, tz), format_it(end, tz))


def _span(start: str, end: str) -> str:
    """``da sabato 5 dicembre 2026 a giovedì 24 dicembre 2026``; a comma closes a start with its time."""
    return f"da {start}, a {end}" if ", ore " in start else f"da {start} a {end}"
