"""The weekly digest: what it holds (which bulletins are in or out, the empty week, a bulletin withdrawn during the
week), its template, its cost against the same bulletins one by one, and its way to the subscribers who chose
«settimanale» through the simulator's Marketing Messages endpoint — once, resumed, 131049 and 131050 honoured."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from contextlib import closing
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from site_tools.cli.main import main
from site_tools.content.config import TownConfig, load_config
from site_tools.content.loading import load_content
from site_tools.render import digest as render
from site_tools.service.meta_templates import project_templates
from site_tools.store import Store
from site_tools.store.choices import EVERYTHING, URGENT_ONLY, WEEKLY

from .conftest import Town
from .services import phones, simulator, wait_for
from .test_transition import _with

ROME = ZoneInfo("Europe/Rome")
DIGEST = "    digest: {weekday: venerdì, hour: 9}\n"
#: ISO week 50 of 2026: Monday 7 to Sunday 13 December; its digest leaves on Friday 11 December at 9:00, with the
#: bulletins dated after Friday 4 December at 9:00.
WEEK = "2026-W50"

BULLETINS = {
    # in: an event still ahead, a call with an open deadline, a notice with no date at all
    "sagra": "title: Sagra della castagna\ndate: 2026-12-07 10:00\ncategories: [eventi]\n"
    "event: {start: 2026-12-12 15:00, location: Piazza del Comune}",
    "bando-affitti": "title: Bando contributi affitto\ndate: 2026-12-08 09:00\ncategories: [bandi-e-concorsi]\n"
    "type: bando\nexpires: 2026-12-20",
    "tari": "title: Rata TARI\ndate: 2026-12-09 12:00\ncategories: [scadenze]\ntype: avviso",
    # out
    "concerto": "title: Concerto di Santa Lucia\ndate: 2026-12-05 10:00\ncategories: [eventi]\n"
    "event: {start: 2026-12-06 21:00}",
    "iscrizioni": "title: Iscrizioni chiuse\ndate: 2026-12-06 10:00\ncategories: [scadenze]\nexpires: 2026-12-10",
    "strada": "title: Lavori in via Roma\ndate: 2026-12-09 10:00\ncategories: [viabilita]",
    "vecchio": "title: Mostra di Natale\ndate: 2026-12-01 10:00\ncategories: [eventi]\nevent: {start: 2026-12-20 10:00}",
    "dopo": "title: Tombolata\ndate: 2026-12-11 10:00\ncategories: [eventi]\nevent: {start: 2026-12-27 16:00}",
    "allerta": "title: Allerta neve\ndate: 2026-12-10 07:00\ncategories: [eventi]\npriority: urgent",
    "bozza": "title: Bozza\ndate: 2026-12-09 10:00\ncategories: [eventi]\ndraft: true",
    "mercato": "title: Mercato straordinario\ndate: 2026-12-07 11:00\ncategories: [eventi]\n"
    "event: {start: 2026-12-13 08:00}",
    "mercato-annullato": "title: Mercato annullato\ndate: 2026-12-10 11:00\ncategories: [eventi]\ncancels: mercato",
}
IN = ["sagra", "bando-affitti", "tari"]


def write(town: Town, **bulletins: str) -> None:
    for slug, fields in bulletins.items():
        day = fields.split("date: ")[1][:10]
        town.write(
            f"{day}-{slug}.md", f"id: {slug}\nsummary: Il riassunto dell'avviso {slug} per i cittadini.\n{fields}"
        )


def config_with_digest(town: Town, block: str = DIGEST) -> TownConfig:
    return load_config(_with(town, block))


def selected(town: Town, week: str = WEEK) -> render.DigestContent:
    config = town.config
    assert config.digest is not None
    chosen = render.week_by_key(week, config, config.digest)
    assert chosen is not None
    content = load_content(config)
    assert content.problems == [], content.problems
    return render.select(content.bulletins, chosen, config.digest)


def test_the_week_holds_events_ahead_open_deadlines_and_calls_of_its_categories(town: Town) -> None:
    config_with_digest(town)
    write(town, **BULLETINS)
    content = selected(town)
    assert content.week.send_at == datetime(2026, 12, 11, 9, 0, tzinfo=ROME)
    assert [b.id for b in content.items] == IN
    reasons = {b.id: why for b, why in content.left_out}
    assert reasons == {
        "concerto": "l'evento è già passato",
        "iscrizioni": "scaduto",
        "strada": "categoria non nel riepilogo",
        "allerta": "urgente: è già arrivato a tutti",
        "mercato": "annullato",
        "mercato-annullato": "annulla un altro avviso",
    }  # «vecchio» (last week's), «dopo» (next week's) and the draft are not this week's at all


def test_the_next_week_holds_what_came_after_the_send(town: Town) -> None:
    config_with_digest(town)
    write(town, **BULLETINS)
    assert [b.id for b in selected(town, "2026-W51").items] == ["dopo"]


def test_a_bulletin_withdrawn_after_the_digest_left_stays_in_that_digest_and_one_withdrawn_before_is_out(
    town: Town,
) -> None:
    config_with_digest(town)
    write(town, sagra=BULLETINS["sagra"])
    write(town, **{"sagra-annullata": "title: Sagra annullata\ndate: 2026-12-11 12:00\ncategories: [eventi]\n"
                   "cancels: sagra"})  # fmt: skip
    assert [b.id for b in selected(town).items] == ["sagra"]  # as it was sent: a resumed send agrees
    (town.bulletins / "2026" / "2026-12-11-sagra-annullata.md").unlink()
    write(town, **{"sagra-annullata": "title: Sagra annullata\ndate: 2026-12-10 12:00\ncategories: [eventi]\n"
                   "cancels: sagra"})  # fmt: skip
    assert selected(town).empty


def test_the_empty_week_has_no_message(town: Town) -> None:
    config_with_digest(town)
    write(town, strada=BULLETINS["strada"], concerto=BULLETINS["concerto"])
    assert selected(town).empty


def test_types_and_categories_come_from_the_town(town: Town) -> None:
    config_with_digest(town, "    digest: {types: [bando], categories: [bandi-e-concorsi, viabilita]}\n")
    write(town, **BULLETINS)
    assert [b.id for b in selected(town).items] == ["bando-affitti"]


def test_an_unknown_category_or_weekday_is_refused_in_italian(town: Town) -> None:
    result = CliRunner().invoke(main, ["--config", str(_with(town, "    digest: {categories: [sagre]}\n")), "validate"])
    assert result.exit_code == 1
    assert "«digest»: la categoria «sagre» non è tra le categorie del Comune." in result.output
    path = town.root / "mkdocs.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("{categories: [sagre]}", "{weekday: fridey}"), "utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "validate"])
    assert "«fridey» non è un giorno della settimana." in result.output


def test_the_lines_live_in_the_template_one_template_per_count(town: Town) -> None:
    config = config_with_digest(town)
    assert config.digest is not None
    write(town, **BULLETINS)
    content = selected(town)
    message = render.message(content, config, config.digest)
    assert message.name == "riepilogo_settimanale_3"
    assert message.text.splitlines()[2:5] == [
        "• Sagra della castagna – sabato 12 dicembre",
        "• Bando contributi affitto – entro domenica 20 dicembre 2026",
        "• Rata TARI",
    ]
    body = message.payload("393330000001")["template"]["components"][0]["parameters"]
    assert all("\n" not in p["text"] and "\t" not in p["text"] for p in body)
    assert message.payload("393330000001")["template"]["components"][1]["parameters"][0]["text"] == (
        "riepiloghi/2026-W50/"
    )
    declared = {t["name"]: t for t in project_templates(config)}
    for n in range(1, render.SLOTS + 1):
        template = declared[f"riepilogo_settimanale_{n}"]
        assert template["category"] == "MARKETING"
        assert template["components"][0]["text"].count("• {{voce_") == n


def test_over_five_bulletins_the_last_line_counts_the_rest(town: Town) -> None:
    config = config_with_digest(town)
    assert config.digest is not None
    for n in range(8):
        write(town, **{f"evento-{n}": f"title: Evento {n}\ndate: 2026-12-08 1{n}:00\ncategories: [eventi]"})
    message = render.message(selected(town), config, config.digest)
    assert message.name == "riepilogo_settimanale_5"
    assert message.params["voce_5"] == "e altri 4 avvisi nella pagina del riepilogo"


def preview(town: Town, db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(town.root / "mkdocs.yml"), "digest", "preview", "--db", db, *args])


def test_the_preview_shows_the_cost_of_one_digest_against_the_bulletins_one_by_one(town: Town, sqlite_url: str) -> None:
    config_with_digest(town)
    write(town, **BULLETINS)
    shown = preview(town, sqlite_url, "--week", WEEK, "--recipients", "15000")
    assert shown.exit_code == 0, shown.output
    assert "### Riepilogo della settimana dal 7 al 13 dicembre 2026" in shown.output
    assert "• Rata TARI" in shown.output
    assert "- escluso: Mercato straordinario (annullato)" in shown.output
    # 15,000 × € 0.12 (marketing) against 3 bulletins × 15,000 × € 0.05 (utility)
    assert (
        "**Costo** per 15.000 iscritti: il riepilogo € 1.800,00 (un messaggio di marketing a testa, € 0,12); "
        "gli stessi 3 avvisi mandati uno per uno € 2.250,00 (€ 0,05 a messaggio): risparmio € 450,00."
    ) in shown.output


def test_the_pull_request_preview_shows_the_digest_the_day_before(town: Town) -> None:
    config_with_digest(town)
    write(town, **BULLETINS)
    path = town.bulletins / "2026" / "2026-12-09-tari.md"
    args = ["--config", str(town.root / "mkdocs.yml"), "preview", str(path)]
    day_before = CliRunner().invoke(main, [*args, "--now", "2026-12-10 12:00"])
    assert day_before.exit_code == 0, day_before.output
    assert "## Anteprima del riepilogo settimanale" in day_before.output
    assert "• Bando contributi affitto" in day_before.output
    days_before = CliRunner().invoke(main, [*args, "--now", "2026-12-08 12:00"])
    assert "riepilogo settimanale" not in days_before.output


def subscribe(db: str, by_choice: dict[str, list[str]]) -> None:
    with closing(Store.open(db)) as store:
        for choice, numbers in by_choice.items():
            store.subscribers.bulk_subscribe(numbers, "test")
            for phone in numbers:
                store.db.execute("UPDATE subscribers SET choice = ? WHERE phone = ?", (choice, phone))


def send(town: Town, db: str, env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(
        main,
        [
            "--config",
            str(town.root / "mkdocs.yml"),
            "digest",
            "send",
            "--week",
            WEEK,
            "--now",
            "2026-12-11 10:00",
            "--db",
            db,
            *args,
        ],
        env=env,
    )


def test_the_digest_reaches_only_the_weekly_subscribers_through_marketing_messages_once(
    town: Town, store_url: str
) -> None:
    config_with_digest(town)
    write(town, **BULLETINS)
    weekly, everything, urgent = phones(3, 100), phones(2, 200), phones(2, 300)
    subscribe(store_url, {WEEKLY: weekly, EVERYTHING: everything, URGENT_ONLY: urgent})
    with closing(Store.open(store_url)) as store:
        store.subscribers.unsubscribe(weekly[2])  # left the list: nothing
    with simulator("--latency", "0.01") as sim:
        sent = send(town, store_url, sim.env())
        assert sent.exit_code == 0, sent.output
        assert "Riepilogo 2026-W50: 2 inviati." in sent.output
        messages = sim.messages()["whatsapp"]
        assert sorted(m["to"] for m in messages) == sorted(weekly[:2])
        assert {m["endpoint"] for m in messages} == {"marketing_messages"}
        assert {m["callback"] for m in messages} == {"riepilogo-2026-W50"}
        assert "• Sagra della castagna – sabato 12 dicembre" in messages[0]["text"]

        again = send(town, store_url, sim.env())
        assert "Riepilogo 2026-W50: già inviato, nulla da fare." in again.output
        assert len(sim.messages()["whatsapp"]) == 2
    for digits in weekly + everything + urgent:
        assert digits not in sent.output + again.output


def test_an_empty_week_sends_nothing_and_is_not_tried_again(town: Town, sqlite_url: str) -> None:
    config_with_digest(town)
    write(town, strada=BULLETINS["strada"])
    subscribe(sqlite_url, {WEEKLY: phones(2, 100)})
    with simulator("--latency", "0.01") as sim:
        result = send(town, sqlite_url, sim.env())
        assert "Riepilogo 2026-W50: settimana vuota, non è partito." in result.output
        write(town, tari=BULLETINS["tari"])  # a late file changes nothing: the week was decided
        assert "già inviato" in send(town, sqlite_url, sim.env()).output
        assert sim.messages()["whatsapp"] == []


def test_the_publish_run_after_the_moment_sends_it_once_resuming_a_broken_run(
    town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's clock wakes at the digest's minute and runs ``publish``: the digest goes with it; a run that
    stopped half way (the simulator refusing everything) is resumed by the next, and nobody gets it twice."""
    from site_tools.cli.publish import run_publish

    from .test_urgent_first import options

    config_with_digest(town)
    write(town, **{k: BULLETINS[k] for k in IN})
    weekly = phones(4, 100)
    subscribe(sqlite_url, {WEEKLY: weekly})
    with closing(Store.open(sqlite_url)) as store:
        adopted_at = datetime(2026, 12, 1, tzinfo=ROME).timestamp()
        assert store.ledger.adopt([], ["whatsapp_list"], "test", at=adopted_at)
    with simulator("--latency", "0.01") as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        before = options(db_url=sqlite_url, now_text="2026-12-11 08:50", max_age_days=30)
        run_publish(load_config(town.root / "mkdocs.yml"), before)
        assert not any(m["callback"] == "riepilogo-2026-W50" for m in sim.messages()["whatsapp"])

        sim.configure(fail_with=131048)  # the messaging limit: the run pauses, the rest owed
        after = options(db_url=sqlite_url, now_text="2026-12-11 09:01", max_age_days=30)
        with pytest.raises(SystemExit):
            run_publish(load_config(town.root / "mkdocs.yml"), after)
        sim.configure(fail_with=None)
        try:
            run_publish(load_config(town.root / "mkdocs.yml"), after)
        except SystemExit as exit:
            assert not exit.code
        digests = [m for m in sim.messages()["whatsapp"] if m["callback"] == "riepilogo-2026-W50"]
        assert sorted(m["to"] for m in digests) == sorted(weekly)
        run_publish(load_config(town.root / "mkdocs.yml"), after)
        assert len([m for m in sim.messages()["whatsapp"] if m["callback"] == "riepilogo-2026-W50"]) == 4


def test_a_digest_due_before_the_town_adopted_the_tool_is_not_sent_late(
    town: Town, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from site_tools.cli.publish import run_publish

    from .test_urgent_first import options

    config_with_digest(town)
    write(town, **{k: BULLETINS[k] for k in IN})
    subscribe(sqlite_url, {WEEKLY: phones(2, 100)})
    with closing(Store.open(sqlite_url)) as store:
        store.ledger.adopt([], ["whatsapp_list"], "test", at=datetime(2026, 12, 11, 12, 0, tzinfo=ROME).timestamp())
    with simulator("--latency", "0.01") as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        run_publish(town.config, options(db_url=sqlite_url, now_text="2026-12-11 13:00", max_age_days=30))
        assert sim.messages()["whatsapp"] == []


class _Capture(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        _Capture.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _statuses() -> list[dict[str, Any]]:
    """The status items the simulator posted back."""
    return [s for b in _Capture.bodies for s in json.loads(b)["entry"][0]["changes"][0]["value"]["statuses"]]


def test_the_marketing_cap_defers_and_a_stop_takes_the_citizen_out_of_the_digest_only(
    town: Town, sqlite_url: str
) -> None:
    """Meta answers both later, by webhook (the simulator posts them as Meta does): 131049 (the citizen's marketing
    cap) is tried again after 24 hours and is no failure; 131050 (the citizen stopped marketing messages) moves the
    citizen from «settimanale» to «urgenti» — still on the list, never a digest again — and staff see it."""
    from site_tools.store.ledger import DEFER_131049

    from .test_receipts import store_as_the_webhook_does, worker_on

    config_with_digest(town)
    write(town, **{k: BULLETINS[k] for k in IN})
    ok, capped, stopped = "393331000001", "393331000049", "393331000050"
    subscribe(sqlite_url, {WEEKLY: [ok, capped, stopped]})
    _Capture.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = f"http://127.0.0.1:{server.server_address[1]}/webhook"
        with simulator("--latency", "0.01", "--webhook-url", hook, "--marketing-cap-suffix", "049",
                       "--marketing-stopped-suffix", "050") as sim:  # fmt: skip
            assert "3 inviati" in send(town, sqlite_url, sim.env()).output
            wait_for(lambda: len([s for s in _statuses() if s["status"] == "failed"]) == 2)
    finally:
        server.shutdown()
    with closing(Store.open(sqlite_url)) as store:
        for body in _Capture.bodies:
            store_as_the_webhook_does(store, json.loads(body))
        asyncio.run(worker_on(store).pass_once())
        stopped_row = store.db.one("SELECT status, choice FROM subscribers WHERE phone = ?", (stopped,))
        assert stopped_row == ("active", URGENT_ONLY)
        capped_row = store.db.one(
            "SELECT d.state, d.next_attempt_at, s.failures, s.choice FROM deliveries d JOIN subscribers s"
            " ON s.id = d.subscriber_id WHERE s.phone = ?",
            (capped,),
        )
        assert capped_row[0] == "retry" and capped_row[1] >= time.time() + DEFER_131049 - 120
        assert capped_row[2:] == (0, WEEKLY)
        assert store.subscribers.count_active((WEEKLY,)) == 2
    shown = preview(town, sqlite_url, "--week", WEEK)
    assert "⚠️ 1 iscritto ha bloccato i messaggi di marketing (131050): non ricevono più il riepilogo" in shown.output
    assert "Costo** per 2 iscritti" in shown.output


def test_a_stop_answered_at_once_also_takes_the_citizen_out_of_the_digest(town: Town, sqlite_url: str) -> None:
    config_with_digest(town)
    write(town, **{k: BULLETINS[k] for k in IN})
    subscribe(sqlite_url, {WEEKLY: phones(2, 100)})
    with simulator("--latency", "0.01") as sim:
        sim.configure(fail_with=131050)
        send(town, sqlite_url, sim.env())
    with closing(Store.open(sqlite_url)) as store:
        assert store.subscribers.count_active((WEEKLY,)) == 0
        assert store.subscribers.count_active((URGENT_ONLY,)) == 2


@pytest.mark.slow
def test_each_digest_has_its_page_an_archive_and_a_feed(town: Town, tmp_path: Path) -> None:
    from lxml import etree, html

    from .test_site import build_at

    config_with_digest(town)
    write(town, **BULLETINS)
    site = build_at("2026-12-19 12:00", tmp_path / "site", town.root / "mkdocs.yml")
    page = html.fromstring((site / "riepiloghi" / "2026-W50" / "index.html").read_text(encoding="utf-8"))
    article = page.xpath("//article")[0]
    assert article.xpath("string(.//h1)") == "Riepilogo della settimana dal 7 al 13 dicembre 2026"
    assert [a.text_content() for a in article.xpath(".//ul[@class='st-list']//a[@class='st-title']")] == [
        "Sagra della castagna",
        "Bando contributi affitto",
        "Rata TARI",
    ]
    archive = html.fromstring((site / "riepiloghi" / "index.html").read_text(encoding="utf-8"))
    listed = [a.text_content() for a in archive.xpath("//article//li/a")]
    assert listed == [  # newest first; the week after 18 December is not due yet
        "Riepilogo della settimana dal 14 al 20 dicembre 2026",
        "Riepilogo della settimana dal 7 al 13 dicembre 2026",
        "Riepilogo della settimana dal 30 novembre al 6 dicembre 2026",
    ]
    feed = etree.fromstring((site / "riepiloghi" / "feed.xml").read_bytes())
    items = feed.findall("./channel/item")
    assert [i.findtext("link") for i in items] == [
        "https://avvisi.valfiorita.example.it/riepiloghi/2026-W51/",
        "https://avvisi.valfiorita.example.it/riepiloghi/2026-W50/",
        "https://avvisi.valfiorita.example.it/riepiloghi/2026-W49/",
    ]
    assert items[1].findtext("description") == (
        "Sagra della castagna – sabato 12 dicembre; Bando contributi affitto – entro domenica 20 dicembre 2026; "
        "Rata TARI"
    )


def test_the_service_clock_wakes_at_the_digest_minute(town: Town) -> None:
    """The clock's agenda holds the next digest moments: the tick's publish run sends it, the site refresh builds
    its page at the same minute."""
    from site_tools.service.schedule import Agenda, digest_moments

    config = config_with_digest(town, "    digest: {weekday: lunedì, hour: 18}\n")
    moments = digest_moments(config, datetime(2026, 12, 10, 12, 0, tzinfo=ROME))
    assert moments == [
        datetime(2026, 12, 14, 18, 0, tzinfo=ROME).timestamp(),
        datetime(2026, 12, 21, 18, 0, tzinfo=ROME).timestamp(),
    ]
    agenda = Agenda(digests=moments)
    after = datetime(2026, 12, 10, 12, 0, tzinfo=ROME).timestamp()
    assert agenda.sends(after)[0] == agenda.site_changes(after)[0] == moments[0]
    at_the_minute = datetime(2026, 12, 14, 18, 0, tzinfo=ROME)
    assert digest_moments(config, at_the_minute)[0] == moments[1]  # the moment itself is past: the next one


def test_a_digest_over_the_cost_ceiling_waits_for_approval(town: Town, sqlite_url: str) -> None:
    config_with_digest(town, DIGEST + "    cost_ceiling_eur: 0.2\n")
    write(town, **{k: BULLETINS[k] for k in IN})
    subscribe(sqlite_url, {WEEKLY: phones(2, 100)})
    with simulator("--latency", "0.01") as sim:
        held = send(town, sqlite_url, sim.env())
        assert held.exit_code == 1
        assert "⚠ Riepilogo 2026-W50: non inviato: 2 iscritti, costo stimato € 0,24, oltre il tetto" in held.output
        assert "«site-tools digest send --week 2026-W50 --approve-cost»" in held.output
        assert sim.messages()["whatsapp"] == []
        approved = send(town, sqlite_url, sim.env(), "--approve-cost")
        assert "Riepilogo 2026-W50: 2 inviati." in approved.output
        assert len(sim.messages()["whatsapp"]) == 2
