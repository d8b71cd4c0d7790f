"""What every renderer says the same way: status labels and event times."""

from __future__ import annotations

from datetime import tzinfo

from site_tools.content.bulletin import Bulletin, Event
from site_tools.content.dates import format_it


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
    """``sabato 21 novembre 2026, ore 09:30 – sabato 21 novembre 2026, ore 12:30``"""
    when = format_it(event.start, tz)
    if event.end:
        when += f" – {format_it(event.end, tz)}"
    return when
