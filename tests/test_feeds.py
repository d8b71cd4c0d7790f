"""Calendars and alerts as other programs read them: VTIMEZONE for every zone, CAP that means what it says."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import vobject
from icalendar import Calendar
from lxml import etree

from site_tools.content.loading import load_content
from site_tools.render.cap import CapFeed
from site_tools.render.ical import event_ics, events_calendar

from .conftest import Town, good
from .test_site import CAP_XSD, CONFIG, NOW, build_at

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
ROME = CONFIG.timezone


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_at(NOW, tmp_path_factory.mktemp("feeds-site"))


def ics_files(site: Path) -> list[Path]:
    return [site / "eventi.ics", *sorted((site / "calendario").glob("*.ics"))]


def test_every_calendar_defines_every_zone_it_uses(site: Path) -> None:
    files = ics_files(site)
    assert len(files) >= 5
    for path in files:
        cal = Calendar.from_ical(path.read_bytes())
        used = set(re.findall(r";TZID=([^:;]+)", path.read_text(encoding="utf-8")))
        defined = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
        assert used == {"Europe/Rome"} and used <= defined, path.name
        assert cal.get_missing_tzids() == set()
        for event in cal.walk("VEVENT"):
            assert event.decoded("dtstamp").utcoffset() == timedelta(0)  # RFC 5545: DTSTAMP in UTC


def _without_zone_name(text: str) -> str:
    """The same calendar with its zone renamed: a reader can only use the VTIMEZONE block."""
    return text.replace("Europe/Rome", "X-Fuso-Del-Comune")


@pytest.mark.parametrize(
    "event_id,expected",
    [
        ("2026-11-02-festa-degli-alberi", "2026-11-21T09:30:00+01:00"),  # winter time
        ("2026-09-05-sagra-della-castagna-2026", "2026-10-09T17:00:00+02:00"),  # summer time
    ],
)
def test_a_second_parser_places_events_by_the_vtimezone_alone(site: Path, event_id: str, expected: str) -> None:
    """vobject (independent of icalendar) reads the zone from the file: the right hour, summer time included."""
    text = _without_zone_name((site / f"calendario/{event_id}.ics").read_text(encoding="utf-8"))
    parsed = vobject.readOne(text)
    start = parsed.vevent.dtstart.value
    assert start.utcoffset() is not None  # a zone it built from the VTIMEZONE block, not a floating time
    assert start.astimezone(UTC) == datetime.fromisoformat(expected).astimezone(UTC)
    # The whole feed too: every event at the same instant in both parsers.
    feed = (site / "eventi.ics").read_text(encoding="utf-8")
    ours = {str(e["uid"]): e.decoded("dtstart") for e in Calendar.from_ical(feed).walk("VEVENT")}
    theirs = {e.uid.value: e.dtstart.value for e in vobject.readOne(_without_zone_name(feed)).vevent_list}
    assert ours.keys() == theirs.keys() and len(ours) >= 4
    for uid, moment in ours.items():
        assert theirs[uid].astimezone(UTC) == moment.astimezone(UTC), uid


def test_an_empty_calendar_is_still_valid() -> None:
    cal = Calendar.from_ical(events_calendar(CONFIG, []))
    assert cal.walk("VEVENT") == [] and cal.walk("VTIMEZONE") == []


def test_the_zone_block_covers_the_events_years() -> None:
    event = load_content(CONFIG).by_id()["2026-11-02-festa-degli-alberi"]
    text = event_ics(CONFIG, event).decode()
    assert "BEGIN:VTIMEZONE" in text and "TZOFFSETTO:+0200" in text and "TZOFFSETTO:+0100" in text
    assert len(text) < 4000  # not 1970–2038 of transitions in every file


# --- CAP: what the messages mean --------------------------------------------------------------


def cap_docs(site: Path) -> dict[str, etree._ElementTree]:
    return {p.stem: etree.parse(str(p)) for p in sorted((site / "cap").glob("*.xml"))}


def info(doc: etree._ElementTree, name: str) -> str | None:
    return doc.findtext(f"cap:info/cap:{name}", namespaces=NS)


def test_cap_index_lists_exactly_the_files(site: Path) -> None:
    index = json.loads((site / "cap/index.json").read_text(encoding="utf-8"))
    listed = {url.removeprefix(CONFIG.site_url) for url in index["alerts"]}
    files = {p.relative_to(site).as_posix() for p in (site / "cap").glob("*.xml")}
    assert listed == files and len(files) >= 5


def test_every_reference_names_a_listed_message_by_sender_identifier_and_time(site: Path) -> None:
    docs = cap_docs(site)
    by_identifier = {d.findtext("cap:identifier", namespaces=NS): d for d in docs.values()}
    checked = 0
    for name, doc in docs.items():
        kind = doc.findtext("cap:msgType", namespaces=NS)
        refs = (doc.findtext("cap:references", namespaces=NS) or "").split()
        assert (kind == "Alert") == (not refs), name  # Update and Cancel always say what they refer to
        for ref in refs:
            sender, identifier, sent = ref.split(",")
            earlier = by_identifier[identifier]  # a file in the index, not a message nobody received
            assert earlier.findtext("cap:sender", namespaces=NS) == sender
            assert earlier.findtext("cap:sent", namespaces=NS) == sent
            assert datetime.fromisoformat(sent) < datetime.fromisoformat(doc.findtext("cap:sent", namespaces=NS))
            checked += 1
    assert checked >= 2


def test_an_update_keeps_the_alerts_severity(site: Path) -> None:
    docs = cap_docs(site)
    alert, update = docs["2026-11-21-allerta-arancione-idrogeologica"], docs["2026-11-23-bollettino-piena-fiora"]
    assert update.findtext("cap:msgType", namespaces=NS) == "Update"
    assert [info(update, k) for k in ("urgency", "severity", "certainty")] == ["Immediate", "Severe", "Observed"]
    assert [info(alert, k) for k in ("urgency", "severity", "certainty")] == ["Immediate", "Severe", "Observed"]


def test_every_message_is_valid_and_points_to_its_page(site: Path) -> None:
    schema = etree.XMLSchema(etree.parse(str(CAP_XSD)))
    for name, doc in cap_docs(site).items():
        schema.assertValid(doc)
        sent = datetime.fromisoformat(doc.findtext("cap:sent", namespaces=NS))
        effective = datetime.fromisoformat(info(doc, "effective"))
        assert sent <= effective, name
        if info(doc, "expires"):
            assert datetime.fromisoformat(info(doc, "expires")) > effective, name
        web = info(doc, "web")
        assert web.startswith(CONFIG.site_url) and (site / web.removeprefix(CONFIG.site_url) / "index.html").is_file()


ALERT = """
id: allerta
title: Allerta rossa per neve
date: 2026-11-20 08:00
categories: [meteo]
priority: urgent
summary: Allerta rossa per neve fino a domani sera, uscite solo se necessario.
"""


def feed_of(town: Town) -> CapFeed:
    content = load_content(town.config)
    assert content.problems == []
    return CapFeed(town.config, datetime(2026, 11, 20, 12, 0, tzinfo=ROME), content.bulletins)


def test_an_editor_may_set_what_the_update_changes_and_inherits_the_rest(town: Town) -> None:
    town.write("2026-11-20-allerta.md", ALERT + "severity: Extreme\n")
    town.write("2026-11-20-meno.md", good("meno").replace("08:30", "10:00") + "updates: allerta\nseverity: Moderate\n")
    feed = feed_of(town)
    alert, update = (next(b for b in feed.messages if b.id == i) for i in ("allerta", "meno"))
    assert feed.assessment(alert) == feed.assessment(alert).__class__("Immediate", "Extreme", "Observed")
    assert (feed.msg_type(update), feed.assessment(update).severity) == ("Update", "Moderate")
    assert feed.assessment(update).urgency == "Immediate" and feed.assessment(update).certainty == "Observed"


def test_a_cancel_only_for_a_message_that_was_issued(town: Town) -> None:
    town.write("2026-11-19-festa.md", good("festa").replace("2026-11-20 08:30", "2026-11-19 08:30"))  # not urgent
    town.write("2026-11-20-festa-annullata.md", good("festa-annullata") + "cancels: festa\n")
    town.write("2026-11-20-neve.md", good("neve").replace("08:30", "09:00") + "priority: urgent\nupdates: festa\n")
    feed = feed_of(town)
    ids = {b.id for b in feed.messages}
    assert "festa-annullata" not in ids and "festa" not in ids  # nothing was ever issued: nothing to cancel
    neve = next(b for b in feed.messages if b.id == "neve")
    assert feed.msg_type(neve) == "Alert" and feed.chain(neve) == []  # urgent, but updates nothing issued


def test_a_withdrawn_alert_leaves_the_feed_once_it_would_have_expired(town: Town) -> None:
    town.write("2026-11-20-allerta.md", ALERT + "expires: 2026-11-21 20:00\n")
    town.write("2026-11-20-revoca.md", good("revoca").replace("08:30", "11:00") + "cancels: allerta\n")
    assert {b.id for b in feed_of(town).messages} == {"allerta", "revoca"}
    later = CapFeed(town.config, datetime(2026, 11, 22, 9, 0, tzinfo=ROME), load_content(town.config).bulletins)
    assert later.messages == [] and json.loads(later.files()["cap/index.json"]) == {"alerts": []}


@pytest.mark.parametrize(
    "line,hint",
    [
        ("severity: grave", "severity: Severe"),
        ("urgency: immediate", "urgency: Immediate"),
        ("certainty: certa", "Valori ammessi: Observed"),
    ],
)
def test_cap_values_outside_caps_enumerations_are_refused_in_italian(town: Town, line: str, hint: str) -> None:
    town.write("2026-11-20-allerta.md", ALERT + line + "\n")
    problems = load_content(town.config).problems
    assert len(problems) == 1 and problems[0].field == line.split(":")[0]
    assert "non è un valore CAP ammesso" in problems[0].message and hint in problems[0].fix
