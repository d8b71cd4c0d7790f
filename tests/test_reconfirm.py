"""The app's contacts (candidates) become subscribers only on a basis — the re-confirmation message and its
answers, the town's declared import, and the counter's read-only review page.

The message goes to the simulator over real HTTP; the answers come through the signed webhook and the service's own
worker; the page is the real inbox app under Starlette's TestClient.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from site_tools.content.town import Coexistence
from site_tools.render import reconfirm_template
from site_tools.service.meta_templates import project_templates
from site_tools.store import Store, consent
from site_tools.store import candidates as c

from .command import site_tools
from .conftest import Town
from .services import SimThread, simulator
from .test_counter_web import CONFIG, Desk, make_desk

NEW_A, NEW_B, NEW_C = "393331110001", "393331110002", "393331110003"
ASKED, DECLINED, STRANGER = "393331110004", "393331110005", "393339990000"


def with_coexistence(town: Town, basis: str) -> None:
    mkdocs = town.root / "mkdocs.yml"
    text = mkdocs.read_text(encoding="utf-8")
    assert '      off: "OFF"\n' in text
    text = text.replace(
        '      off: "OFF"\n',
        f'      off: "OFF"\n      coexistence:\n        since: 2026-11-30\n        candidates: {basis}\n',
    )
    mkdocs.write_text(text, encoding="utf-8")


def seeded(url: str) -> str:
    with closing(Store.open(url)) as store:
        for n, phone in enumerate((NEW_A, NEW_B, NEW_C, ASKED, DECLINED)):
            store.candidates.seen(phone, f"Contatto {n}", at=1000.0 + n)
        store.candidates.set_state([ASKED, DECLINED], c.ASKED, at=2000.0)
        store.candidates.set_state([DECLINED], c.DECLINED, at=3000.0)
    return url


def state(url: str, phone: str) -> str | None:
    with closing(Store.open(url)) as store:
        held = store.candidates.get(phone)
        return held.state if held else None


def sent_to(sim: SimThread) -> list[str]:
    """Who the simulator accepted the re-confirmation for (its callback names the coexistence's start)."""
    return [m["to"] for m in sim.messages()["whatsapp"] if m["callback"] == "riconferma-2026-11-30"]


# -- 1. the template, declared once ------------------------------------------------------------


@pytest.mark.parametrize(("basis", "declared"), [("riconferma", True), ("dichiarazione", False), (None, False)])
def test_the_reconfirmation_template_is_declared_only_when_the_town_reconfirms(
    town: Town, basis: str | None, declared: bool
) -> None:
    if basis:
        with_coexistence(town, basis)
    ran = site_tools("whatsapp", "templates", "--print", cwd=town.root, env={"WHATSAPP_TOKEN": None})
    assert ran.returncode == 0, ran.stderr
    bodies = {b["name"]: b for b in json.loads(ran.stdout)}
    assert ("conferma_iscrizione" in bodies) is declared
    if declared:
        body = bodies["conferma_iscrizione"]
        assert body["category"] == "UTILITY" and body["language"] == "it"
        buttons = next(comp["buttons"] for comp in body["components"] if comp["type"] == "BUTTONS")
        assert buttons == [{"type": "QUICK_REPLY", "text": "Sì, continuo"}, {"type": "QUICK_REPLY", "text": "No"}]
        text = next(comp["text"] for comp in body["components"] if comp["type"] == "BODY")
        assert "{{comune}}" in text and "avvisi" in text


# -- 2. sending it: the cost first, once per person ever ------------------------------------------


@pytest.fixture
def reconfirming(town: Town, sqlite_url: str) -> Iterator[tuple[Town, str, SimThread]]:
    with_coexistence(town, "riconferma")
    with simulator("--latency", "0", "--town-config", str(town.root / "mkdocs.yml")) as sim:
        yield town, seeded(sqlite_url), sim


def reconfirm(town: Town, url: str, sim: SimThread, *args: str) -> Any:
    ran = site_tools("subscribers", "reconfirm", *args, cwd=town.root, env={**sim.env(), "SITE_TOOLS_DB": url})
    assert "Traceback" not in ran.stderr and "sim-whatsapp-token" not in ran.stdout + ran.stderr
    return ran


def test_the_cost_is_shown_and_nothing_is_sent_without_approval(reconfirming: tuple[Town, str, SimThread]) -> None:
    town, url, sim = reconfirming
    dry = reconfirm(town, url, sim, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "3 contatti dell'app da interpellare; costo stimato € 0,15 (3 × € 0,05)." in dry.stdout
    assert "Il Comune di Valfiorita ha collegato questo numero" in dry.stdout
    refused = reconfirm(town, url, sim)
    assert refused.returncode != 0 and "--approve-cost" in refused.stderr
    assert sent_to(sim) == [] and state(url, NEW_A) == c.NEW


def test_each_new_contact_is_asked_once_and_a_second_run_sends_nothing(
    reconfirming: tuple[Town, str, SimThread],
) -> None:
    town, url, sim = reconfirming
    ran = reconfirm(town, url, sim, "--approve-cost")
    assert ran.returncode == 0, ran.stderr
    assert "Mandati 3" in ran.stdout
    assert sorted(sent_to(sim)) == [NEW_A, NEW_B, NEW_C]  # not the asked one, not the one who said no
    message = next(m for m in sim.messages()["whatsapp"] if m["to"] == NEW_A)
    assert message["text"].startswith("Il Comune di Valfiorita ha collegato questo numero")
    assert all(state(url, phone) == c.ASKED for phone in (NEW_A, NEW_B, NEW_C))
    with closing(Store.open(url)) as store:
        assert store.subscribers.get(NEW_A) is None  # asked is not subscribed

    again = reconfirm(town, url, sim, "--approve-cost")
    assert again.returncode == 0 and "Nessuno da interpellare" in again.stdout
    assert len(sent_to(sim)) == 3


def test_someone_the_list_already_knows_is_never_asked_nor_counted(reconfirming: tuple[Town, str, SimThread]) -> None:
    town, url, sim = reconfirming
    with closing(Store.open(url)) as store:
        store.subscribers.subscribe(NEW_A, consent.HISTORY, "VALFIORITA ON")  # subscribed from the shared history
        store.subscribers.subscribe(NEW_B, consent.KEYWORD, "VALFIORITA ON")
        store.subscribers.unsubscribe(NEW_B)  # and then wrote OFF: their last word
    dry = reconfirm(town, url, sim, "--dry-run")
    assert "1 contatto dell'app da interpellare; costo stimato € 0,05" in dry.stdout
    ran = reconfirm(town, url, sim, "--approve-cost")
    assert ran.returncode == 0, ran.stderr
    assert sent_to(sim) == [NEW_C]


def test_after_a_crash_the_claimed_are_never_sent_twice_and_the_rest_go_out(
    reconfirming: tuple[Town, str, SimThread],
) -> None:
    town, url, sim = reconfirming
    with closing(Store.open(url)) as store:  # a run claimed one and died before (or after) sending it
        claimed = store.candidates.claim(1)
    assert [x.phone for x in claimed] == [NEW_A]
    ran = reconfirm(town, url, sim, "--approve-cost")
    assert ran.returncode == 0, ran.stderr
    assert sorted(sent_to(sim)) == [NEW_B, NEW_C]


def test_a_refused_message_leaves_the_contact_to_ask_again(reconfirming: tuple[Town, str, SimThread]) -> None:
    town, url, sim = reconfirming
    sim.configure(fail_with=131026)  # undeliverable: nothing reached the person
    ran = reconfirm(town, url, sim, "--approve-cost")
    assert "3 rifiutati" in ran.stdout
    assert all(state(url, phone) == c.NEW for phone in (NEW_A, NEW_B, NEW_C))


def test_a_refused_token_stops_the_run_and_nobody_is_left_asked_without_a_message(
    reconfirming: tuple[Town, str, SimThread],
) -> None:
    town, url, sim = reconfirming
    sim.configure(fail_with=190)
    ran = reconfirm(town, url, sim, "--approve-cost")
    assert ran.returncode != 0 and "Invio interrotto" in ran.stderr
    assert sent_to(sim) == []
    assert all(state(url, phone) == c.NEW for phone in (NEW_A, NEW_B, NEW_C))


def test_whatsapp_check_covers_the_reconfirmation_template(reconfirming: tuple[Town, str, SimThread]) -> None:
    town, url, sim = reconfirming
    env = {**sim.env(), "WHATSAPP_BUSINESS_ACCOUNT_ID": "102290129340398", "SITE_TOOLS_DB": url}
    ran = site_tools("whatsapp", "check", cwd=town.root, env=env)
    assert "conferma_iscrizione" in ran.stdout
    line = next(x for x in ran.stdout.splitlines() if "conferma_iscrizione" in x)
    assert line.startswith("ok"), ran.stdout


def test_a_town_that_declares_cannot_send_the_reconfirmation(town: Town, sqlite_url: str) -> None:
    with_coexistence(town, "dichiarazione")
    ran = site_tools("subscribers", "reconfirm", "--dry-run", cwd=town.root, env={"SITE_TOOLS_DB": sqlite_url})
    assert ran.returncode != 0 and "«dichiarazione», non «riconferma»" in ran.stderr


# -- 3. the answers, through the webhook ---------------------------------------------------------


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    yield from make_desk(seeded(f"sqlite:///{tmp_path / 'store.db'}"))


def answer(desk: Desk, phone: str, yes: bool) -> None:
    label, payload = ("Sì, continuo", "riconferma_si") if yes else ("No", "riconferma_no")
    desk.write(phone, kind="button", extra={"button": {"payload": payload, "text": label}})


def test_yes_subscribes_an_asked_contact_with_the_moment_and_basis_of_its_answer(desk: Desk) -> None:
    answer(desk, ASKED, yes=True)
    sub = desk.store.subscribers.get(ASKED)
    assert sub is not None and sub.status == "active"
    row = desk.store.db.one(
        "SELECT consent_source, consent_at, consent_text FROM subscribers WHERE phone = ?", (ASKED,)
    )
    assert row is not None and row[0] == consent.RECONFIRMED
    held = desk.store.candidates.get(ASKED)
    assert held is not None and held.state == c.CONFIRMED and row[1] == held.answered_at
    assert "Sì, continuo" in row[2]
    assert desk.outbox(ASKED), "the citizen is told they are subscribed"


def test_no_declines_for_good_and_answers_from_the_unasked_change_nothing(desk: Desk) -> None:
    answer(desk, ASKED, yes=False)
    assert desk.store.candidates.get(ASKED).state == c.DECLINED  # type: ignore[union-attr]
    answer(desk, ASKED, yes=True)  # a later yes does not undo the no
    answer(desk, NEW_A, yes=True)  # never asked
    answer(desk, STRANGER, yes=True)  # not even a contact
    for phone in (ASKED, NEW_A, STRANGER):
        assert desk.store.subscribers.get(phone) is None
    assert desk.store.candidates.get(ASKED).state == c.DECLINED  # type: ignore[union-attr]
    assert desk.store.candidates.get(NEW_A).state == c.NEW  # type: ignore[union-attr]
    assert desk.store.candidates.get(STRANGER) is None


def test_an_interactive_reply_button_with_the_same_id_counts_as_the_same_answer(desk: Desk) -> None:
    reply = {"type": "button_reply", "button_reply": {"id": "riconferma_si", "title": "Sì, continuo"}}
    desk.write(ASKED, kind="interactive", extra={"interactive": reply})
    assert desk.store.candidates.get(ASKED).state == c.CONFIRMED  # type: ignore[union-attr]
    assert desk.store.subscribers.get(ASKED) is not None


def test_another_templates_button_is_not_an_answer(desk: Desk) -> None:
    desk.write(ASKED, kind="button", extra={"button": {"payload": "altro", "text": "Leggi l'avviso"}})
    assert desk.store.candidates.get(ASKED).state == c.ASKED  # type: ignore[union-attr]
    assert desk.store.subscribers.get(ASKED) is None


def test_claims_are_disjoint_and_answers_move_only_the_asked(store_url: str) -> None:
    with closing(Store.open(seeded(store_url))) as store, closing(Store.open(store_url)) as other:
        first, second = store.candidates.claim(2, at=5000.0), other.candidates.claim(5, at=5001.0)
        assert [x.phone for x in first] == [NEW_A, NEW_B] and [x.phone for x in second] == [NEW_C]
        assert store.candidates.claim(5) == []
        assert first[0].state == c.ASKED and first[0].asked_at == 5000.0
        store.candidates.unclaim(NEW_C)
        store.candidates.unclaim(DECLINED)  # only an asked one goes back
        assert store.candidates.get(NEW_C).state == c.NEW  # type: ignore[union-attr]
        assert store.candidates.get(DECLINED).state == c.DECLINED  # type: ignore[union-attr]
        assert store.candidates.answer(NEW_A, True, at=6000.0) is True
        assert store.candidates.answer(NEW_A, False) is False  # answered already
        assert store.candidates.answer(NEW_C, True) is False  # never asked
        assert store.candidates.answer(STRANGER, True) is False
        held = store.candidates.get(NEW_A)
        assert held is not None and held.state == c.CONFIRMED and held.answered_at == 6000.0


# -- 4. the declared import -----------------------------------------------------------------------


def test_declared_import_needs_the_declaration_and_subscribes_only_waiting_contacts(
    town: Town, sqlite_url: str
) -> None:
    with_coexistence(town, "dichiarazione")
    url = seeded(sqlite_url)
    listed = town.root / "consensi_comune.csv"
    listed.write_text(f"numero\n+{NEW_A}\n{ASKED}\n{DECLINED}\n{STRANGER}\n{NEW_B}\nnon so\n", encoding="utf-8")
    with closing(Store.open(url)) as store:  # NEW_B wrote OFF once: a declaration does not undo it
        store.subscribers.subscribe(NEW_B, consent.KEYWORD, "VALFIORITA ON")
        store.subscribers.unsubscribe(NEW_B)
    env = {"SITE_TOOLS_DB": url}
    refused = site_tools("subscribers", "declare", str(listed), cwd=town.root, env=env)
    assert refused.returncode != 0 and "--dichiaro" in refused.stderr
    assert state(url, NEW_A) == c.NEW

    ran = site_tools("subscribers", "declare", str(listed), "--dichiaro", cwd=town.root, env=env)
    assert "Iscritti 2 contatti su dichiarazione del Comune." in ran.stdout
    assert "1 numero non è tra i contatti dell'app" in ran.stdout
    assert "1 già nello stato «declined»: lasciato com'era." in ran.stdout
    assert "1 già nella lista o cancellato con la parola chiave: lasciato com'era." in ran.stdout
    assert ran.returncode != 0 and "non è un numero valido" in ran.stdout + ran.stderr  # the bad line is named
    with closing(Store.open(url)) as store:
        for phone in (NEW_A, ASKED):
            row = store.db.one("SELECT status, consent_source, consent_text FROM subscribers WHERE phone = ?", (phone,))
            assert row is not None and row[0] == "active" and row[1] == consent.DECLARED
            assert "dichiarato dal Comune il" in row[2] and "consensi_comune.csv" in row[2]
            assert store.candidates.get(phone).state == c.IMPORTED  # type: ignore[union-attr]
        assert store.subscribers.get(DECLINED) is None and store.subscribers.get(STRANGER) is None
        left = store.subscribers.get(NEW_B)
        assert left is not None and left.status != "active"


def test_a_town_that_reconfirms_cannot_declare(town: Town, sqlite_url: str) -> None:
    with_coexistence(town, "riconferma")
    listed = town.root / "x.csv"
    listed.write_text(f"{NEW_A}\n", encoding="utf-8")
    ran = site_tools(
        "subscribers", "declare", str(listed), "--dichiaro", cwd=town.root, env={"SITE_TOOLS_DB": sqlite_url}
    )
    assert ran.returncode != 0 and "«riconferma», non «dichiarazione»" in ran.stderr


# -- 5. the counter's review page -----------------------------------------------------------------


@pytest.fixture
def coexisting_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    assert CONFIG.whatsapp is not None
    coexisting = dataclasses.replace(
        CONFIG, whatsapp=CONFIG.whatsapp.model_copy(update={"coexistence": Coexistence(since=date(2026, 11, 30))})
    )
    monkeypatch.setattr("tests.test_counter_web.CONFIG", coexisting)
    yield from make_desk(seeded(f"sqlite:///{tmp_path / 'store.db'}"))


def test_staff_see_the_contacts_by_state_masked_and_cannot_subscribe_anyone(coexisting_desk: Desk) -> None:
    desk = coexisting_desk
    assert desk.client.get("/sportello/candidati", follow_redirects=False).status_code == 303  # login first
    desk.login()
    inbox = desk.client.get("/sportello/")
    assert 'href="/sportello/candidati"' in inbox.text
    page = desk.client.get("/sportello/candidati")
    assert page.status_code == 200
    assert "Da interpellare</a></th><td>3</td>" in page.text
    assert "Contatto 0" in page.text and "+39 333 ••• ••01" in page.text
    assert "Hanno risposto «Sì, continuo»: iscritti" in page.text
    assert NEW_A not in page.text and "333 111 0001" not in page.text  # never the whole number
    assert "<form" not in page.text.split("<main", 1)[1]  # read-only
    declined = desk.client.get("/sportello/candidati?stato=declined")
    assert "Contatto 4" in declined.text and "Contatto 0" not in declined.text
    assert desk.client.post("/sportello/candidati").status_code == 405
    assert desk.store.subscribers.count_active() == 0


def test_the_inbox_has_no_link_when_the_number_is_not_in_coexistence(desk: Desk) -> None:
    desk.login()
    assert "/sportello/candidati" not in desk.client.get("/sportello/").text
    assert reconfirm_template.NAME not in [b["name"] for b in project_templates(CONFIG)]


def test_the_connection_day_is_written_as_in_yaml_and_a_wrong_one_says_how(town: Town) -> None:
    with_coexistence(town, "riconferma")
    mkdocs = town.root / "mkdocs.yml"
    # The same day written the Italian way is the same day (the other dates of mkdocs.yml are read alike).
    mkdocs.write_text(mkdocs.read_text(encoding="utf-8").replace("since: 2026-11-30", "since: 30/11/2026"), "utf-8")
    ran = site_tools("whatsapp", "templates", "--print", cwd=town.root, env={"WHATSAPP_TOKEN": None})
    assert ran.returncode == 0, ran.stderr
    mkdocs.write_text(mkdocs.read_text(encoding="utf-8").replace("since: 30/11/2026", "since: presto"), "utf-8")
    ran = site_tools("whatsapp", "templates", "--print", cwd=town.root, env={"WHATSAPP_TOKEN": None})
    assert ran.returncode != 0 and "«presto» non è una data" in ran.stderr and "AAAA-MM-GG" in ran.stderr
