"""Each citizen chooses what the WhatsApp list sends them: «tutto», «solo urgenti» or «settimanale».

The keywords go through the service signed as Meta signs them, the confirmations come back through the simulator,
and the publisher's fan-out sends each bulletin only to the choices it reaches, over real HTTP.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selectolax.lexbor import LexborHTMLParser

from site_tools.content.config import load_config
from site_tools.content.town import Digest
from site_tools.service.keywords import choice
from site_tools.site.build import build_site
from site_tools.store import Store
from site_tools.store.choices import EVERYTHING, URGENT_ONLY, WEEKLY, receives

from .command import site_tools
from .conftest import FIXTURE_TOWN, Town
from .services import phones, simulator, wait_for
from .test_digest import config_with_digest
from .test_publisher import NORMAL, URGENT, add, adopt, counts, publish
from .test_subscriptions import Service, inbound, running

WA = load_config(FIXTURE_TOWN / "mkdocs.yml").whatsapp
assert WA is not None


@pytest.fixture
def service(store_url: str) -> Iterator[Service]:
    """The service of a town that sends the weekly digest: it offers all three choices."""
    config = load_config(FIXTURE_TOWN / "mkdocs.yml")
    with running(replace(config, digest=Digest()), store_url) as started:
        yield started


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VALFIORITA URGENTI", URGENT_ONLY),
        ("valfiorità, solo urgenti per favore", URGENT_ONLY),
        ("Solo urgenti", URGENT_ONLY),
        ("urgenti", URGENT_ONLY),
        ("VALFIORITA SETTIMANALE", WEEKLY),
        ("settimanale grazie", WEEKLY),
        ("VALFIORITA TUTTO", EVERYTHING),
        ("Valfiorita tutti", EVERYTHING),
        ("tutto", None),  # too common a word alone to be taken as consent
        ("VALFIORITA ON", None),
        ("ci sono avvisi urgenti oggi?", None),
        ("VALFIORITA", None),
        ("", None),
    ],
)
def test_choice_keywords(text: str, expected: str | None) -> None:
    assert choice(text, WA) == expected


def test_digest_reaches_only_the_weekly_choice() -> None:
    assert receives("digest") == (WEEKLY,)
    assert set(receives("urgent")) == {EVERYTHING, URGENT_ONLY, WEEKLY}
    assert receives("bulletin") == (EVERYTHING,)


def _send(service: Service, phone: str, text: str, wamid: str, later: int = 0) -> None:
    """``later``: seconds after now, as the message's own time says (WhatsApp's timestamps are whole seconds)."""
    payload = inbound(phone, text, wamid)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = str(int(message["timestamp"]) + later)
    assert service.post(payload).status_code == 200


def test_a_choice_keyword_subscribes_with_that_choice_and_says_how_to_change(service: Service) -> None:
    new, plain = phones(2)
    _send(service, new, "VALFIORITA URGENTI", "wamid.n1")
    _send(service, plain, "VALFIORITA ON", "wamid.p1")
    service.settle()
    wait_for(lambda: len(service.texts_to(new)) == 1 and len(service.texts_to(plain)) == 1)
    with closing(service.store()) as store:
        sub = store.subscribers.get(new)
        assert sub is not None and sub.status == "active" and sub.choice == URGENT_ONLY
        assert sub.consent_source == "whatsapp" and sub.consent_text == "VALFIORITA URGENTI"  # consent, as for ON
        assert store.subscribers.get(plain).choice == EVERYTHING  # type: ignore[union-attr]
    confirmation = service.texts_to(new)[0]
    assert "Iscrizione confermata" in confirmation and "solo gli avvisi urgenti" in confirmation
    assert "«VALFIORITA TUTTO»" in confirmation and "«VALFIORITA SETTIMANALE»" in confirmation
    assert "«VALFIORITA OFF»" in confirmation
    assert "tutti gli avvisi" in service.texts_to(plain)[0] and "«VALFIORITA URGENTI»" in service.texts_to(plain)[0]


def test_a_subscriber_changes_their_choice_and_keeps_it_when_they_come_back(service: Service) -> None:
    (citizen,) = phones(1)
    _send(service, citizen, "VALFIORITA ON", "wamid.c1")
    service.settle()
    _send(service, citizen, "settimanale", "wamid.c2")
    service.settle()
    wait_for(lambda: len(service.texts_to(citizen)) == 2)
    changed = service.texts_to(citizen)[1]
    assert "Scelta aggiornata" in changed and "riepilogo settimanale" in changed and "«VALFIORITA OFF»" in changed
    _send(service, citizen, "VALFIORITA SETTIMANALE", "wamid.c3")  # the same choice again: nothing changes
    _send(service, citizen, "VALFIORITA OFF", "wamid.c4")
    _send(service, citizen, "VALFIORITA ON", "wamid.c5", later=2)
    service.drained()
    texts = service.texts_to(citizen)
    assert len(texts) == 4, texts  # no answer to the repeated choice; the OFF and the ON are confirmed
    (off,) = [t for t in texts[2:] if "Cancellazione confermata" in t]  # the OFF's answer waits a little
    assert "solo gli avvisi urgenti scrivi «VALFIORITA URGENTI»" in off  # who wanted fewer messages learns how
    (back,) = [t for t in texts[2:] if "Iscrizione confermata" in t]
    assert "riepilogo settimanale" in back  # back with the choice they had made
    with closing(service.store()) as store:
        assert store.subscribers.get(citizen).choice == WEEKLY  # type: ignore[union-attr]


def test_each_choice_is_routed_end_to_end(service: Service, demo_town: Town) -> None:
    everything, urgent_only, weekly = phones(3)
    adopt(demo_town, service.db, service.sim)
    _send(service, everything, "VALFIORITA ON", "wamid.e1")
    _send(service, urgent_only, "VALFIORITA SOLO URGENTI", "wamid.u1")
    _send(service, weekly, "VALFIORITA SETTIMANALE", "wamid.w1")
    service.settle()
    with closing(Store.open(service.db)) as store:
        assert store.subscribers.count_by_choice() == {EVERYTHING: 1, URGENT_ONLY: 1, WEEKLY: 1}

    add(demo_town, URGENT, "allerta-rossa")
    add(demo_town, NORMAL, "biblioteca")
    plan, report = publish(demo_town, service.db, service.sim)
    lists = {r.bulletin_id: r for r in report.results if r.channel == "whatsapp_list"}
    assert lists["allerta-rossa"].state == "done" and lists["biblioteca"].state == "done"
    assert counts(service.sim, "allerta-rossa") == Counter({everything: 1, urgent_only: 1, weekly: 1})
    assert counts(service.sim, "biblioteca") == Counter({everything: 1})
    assert lists["allerta-rossa"].report.recipients == 3 and lists["biblioteca"].report.recipients == 1
    # A second run owes nobody anything: those who did not choose the bulletin are not "pending".
    plan, report = publish(demo_town, service.db, service.sim)
    assert report.results == []
    assert counts(service.sim, "biblioteca") == Counter({everything: 1})


def test_dry_run_and_preview_count_recipients_and_cost_for_each_choice(demo_town: Town, sqlite_url: str) -> None:
    with closing(Store.open(sqlite_url)) as store:
        store.subscribers.bulk_subscribe(phones(10), "test")  # everyone before the choices existed: «tutto»
        for n, (phone, picked) in enumerate(zip(phones(9, start=10), [URGENT_ONLY] * 5 + [WEEKLY] * 4, strict=True)):
            store.subscribers.subscribe(phone, "test", choice=picked, at=1_000_000 + n)
    env = {"SITE_TOOLS_DB": sqlite_url, "SITE_TOOLS_NOW": "2026-11-23 12:00"}
    assert site_tools("publish", cwd=demo_town.root, env=env).returncode == 0  # the first run: all historical
    add(demo_town, URGENT, "allerta-rossa")
    add(demo_town, NORMAL, "biblioteca")
    dry = site_tools("publish", "--dry-run", cwd=demo_town.root, env=env)
    assert dry.returncode == 0, dry.stderr
    urgent, normal = dry.stdout.split("=== allerta-rossa")[1].split("=== biblioteca")
    assert (
        "19 destinatari (tutte le scelte, «tutto»: 10, «solo urgenti»: 5, «settimanale»: 4), circa 0 s a 80 "
        "messaggi/s, costo stimato € 0,95" in urgent
    )
    assert (
        "10 destinatari (scelta «tutto»: 10; non lo ricevono «solo urgenti»: 5, «settimanale»: 4), circa 0 s a 80 "
        "messaggi/s, costo stimato € 0,50" in normal
    )
    files = sorted(str(p) for p in (demo_town.root / "content" / "notizie").rglob("*.md") if "2026-11-23" in p.name)
    preview = site_tools("preview", *files, cwd=demo_town.root, env=env)
    assert preview.returncode == 0, preview.stderr
    assert "19 destinatari (tutte le scelte" in preview.stdout and "costo stimato € 0,95" in preview.stdout
    assert "10 destinatari (scelta «tutto»: 10; non lo ricevono" in preview.stdout


def test_the_signup_page_offers_each_choice_with_its_keyword_typed(town: Town, tmp_path: Path) -> None:
    config_with_digest(town)
    build_site(town.root / "mkdocs.yml", tmp_path / "site", strict=False)
    page = LexborHTMLParser((tmp_path / "site" / "iscriviti" / "index.html").read_text(encoding="utf-8"))
    heading = next(h for h in page.css("h3") if h.text().strip() == "Scegli cosa ricevere")
    assert heading is not None
    links = {a.text().strip(): a.attributes["href"] for a in page.css("a.st-choice")}
    assert list(links) == [
        "Tutti gli avvisi",
        "Solo gli avvisi urgenti",
        "Gli avvisi urgenti e il riepilogo settimanale",
    ]
    typed = {}
    for label, href in links.items():
        url = urlparse(href or "")
        assert (url.scheme, url.netloc, url.path) == ("https", "wa.me", "/393330000000")
        (typed[label],) = parse_qs(url.query)["text"]
    assert typed == {
        "Tutti gli avvisi": "VALFIORITA TUTTO",
        "Solo gli avvisi urgenti": "VALFIORITA URGENTI",
        "Gli avvisi urgenti e il riepilogo settimanale": "VALFIORITA SETTIMANALE",
    }
    assert all(choice(text, WA) is not None for text in typed.values())  # each link's text is understood


def test_export_and_stats_show_the_choice(sqlite_url: str) -> None:
    a, b = phones(2)
    with closing(Store.open(sqlite_url)) as store:
        store.subscribers.subscribe(a, "test", choice=URGENT_ONLY)
        store.subscribers.subscribe(b, "test")
    exported = site_tools("subscribers", "export", a, "--db", sqlite_url, cwd=FIXTURE_TOWN)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["choice"] == URGENT_ONLY
    stats = site_tools("subscribers", "stats", "--db", sqlite_url, cwd=FIXTURE_TOWN)
    assert "Per scelta: «tutto» 1, «solo urgenti» 1, «settimanale» 0" in stats.stdout


def test_the_cost_ceiling_counts_only_the_subscribers_a_bulletin_reaches(town: Town, sqlite_url: str) -> None:
    from .test_no_bulletin_lost import NORMAL as LIBRARY
    from .test_no_bulletin_lost import cli, sent, set_cost_ceiling, write

    set_cost_ceiling(town, 0.2)  # 4 messages at € 0,05
    with closing(Store.open(sqlite_url)) as store:
        store.subscribers.bulk_subscribe(phones(3), "test")  # «tutto»: € 0,15, under the ceiling
        for n, phone in enumerate(phones(5, start=3)):
            store.subscribers.subscribe(phone, "test", choice=URGENT_ONLY, at=1_000_000 + n)
    with simulator() as sim:
        env = {**sim.env(), "SITE_TOOLS_DB": sqlite_url}
        assert cli(town, "adopt", env=env).returncode == 0
        write(town, "2026-11-23-biblioteca.md", LIBRARY, "biblioteca")
        ran = cli(town, "publish", env=env)
        assert ran.returncode == 0, ran.stderr  # 8 subscribers would cost € 0,40: only 3 get it
        assert sent(sim, "biblioteca") == Counter(dict.fromkeys(phones(3), 1))
