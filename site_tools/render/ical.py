"""Bulletins with an event → iCalendar (the events feed and one .ics per event).

Times are local to the town (``DTSTART;TZID=Europe/Rome:…``) and every file
carries the ``VTIMEZONE`` that defines that zone (RFC 5545 §3.6.5), written
by icalendar itself from the time-zone database, covering the years of the
events: a calendar app that does not know "Europe/Rome" by name still places
the event at the right hour, summer time included.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date

from icalendar import Calendar, Event

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig


def _calendar(config: TownConfig) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//site-tools//Avvisi del Comune//IT")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Eventi – {config.name}")
    cal.add("x-wr-timezone", str(config.timezone))
    return cal


def _event(config: TownConfig, b: Bulletin, cancelled: bool) -> Event:
    assert b.event is not None
    host = config.site_url.split("//", 1)[-1].strip("/")
    event = Event()
    event.add("uid", f"{b.id}@{host}")
    event.add("summary", b.title)
    event.add("dtstart", b.event.start)
    event.add("dtend", b.event.finish)
    event.add("dtstamp", b.date.astimezone(UTC))  # RFC 5545: DTSTAMP is always UTC
    event.add("description", f"{b.summary}\n\n{config.site_url}{b.url_path}")
    event.add("url", config.site_url + b.url_path)
    if b.event.location:
        event.add("location", b.event.location)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def _finish(cal: Calendar, events: list[Bulletin]) -> bytes:
    """The VTIMEZONE blocks for every zone used, spanning the events' years (not 1970–2038: smaller files)."""
    if events:
        starts = [b.event.start for b in events if b.event]
        ends = [b.event.finish for b in events if b.event]
        cal.add_missing_timezones(first_date=date(min(starts).year - 1, 1, 1), last_date=date(max(ends).year + 2, 1, 1))
    return cal.to_ical()


def events_calendar(config: TownConfig, bulletins: Iterable[Bulletin], cancelled: set[str] | None = None) -> bytes:
    cal = _calendar(config)
    events = [b for b in bulletins if b.event]
    for b in events:
        cal.add_component(_event(config, b, b.id in (cancelled or set())))
    return _finish(cal, events)


def event_ics(config: TownConfig, b: Bulletin, cancelled: bool = False) -> bytes:
    cal = _calendar(config)
    cal.add_component(_event(config, b, cancelled))
    return _finish(cal, [b])
