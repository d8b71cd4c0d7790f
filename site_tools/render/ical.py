"""Bulletins with an event → iCalendar (the events feed and one .ics per event)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

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
    event.add("dtend", b.event.end or b.event.start + timedelta(hours=1))
    event.add("dtstamp", b.date)
    event.add("description", f"{b.summary}\n\n{config.site_url}{b.url_path}")
    event.add("url", config.site_url + b.url_path)
    if b.event.location:
        event.add("location", b.event.location)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def events_calendar(config: TownConfig, bulletins: Iterable[Bulletin], cancelled: set[str] | None = None) -> bytes:
    cal = _calendar(config)
    for b in bulletins:
        if b.event:
            cal.add_component(_event(config, b, b.id in (cancelled or set())))
    return cal.to_ical()


def event_ics(config: TownConfig, b: Bulletin, cancelled: bool = False) -> bytes:
    cal = _calendar(config)
    cal.add_component(_event(config, b, cancelled))
    return cal.to_ical()
