"""``site-tools subscribers invite-channel``: the cost first, then the Channel's link to each subscriber once
(the ledger's exactly-once claim), against the simulator over real HTTP."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from site_tools.cli.main import main
from site_tools.delivery.invitation import INVITE_ID
from site_tools.render.whatsapp_template import INVITE_BODY
from site_tools.store import Store

from .conftest import Town
from .services import phones, simulator
from .test_transition import _with

PLAN = "    transition: {from: 2027-01-10, until: 2027-02-10}\n"


def run(town: Town, db: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        main,
        ["--config", str(town.root / "mkdocs.yml"), "subscribers", "invite-channel", *args, "--db", db],
        env=env,
    )


def subscribed(db: str, numbers: list[str]) -> None:
    with closing(Store.open(db)) as store:
        for phone in numbers:
            store.subscribers.subscribe(phone, "whatsapp")


def test_without_a_plan_it_says_what_to_declare(town: Town, tmp_path: Path) -> None:
    result = run(town, f"sqlite:///{tmp_path / 'store.db'}")
    assert result.exit_code == 1
    assert "aggiungi in extra.town «transition:" in result.output


@pytest.mark.slow
def test_the_cost_first_then_each_subscriber_once(town: Town, tmp_path: Path) -> None:
    _with(town, PLAN)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    first, later = phones(3, 700), phones(2, 710)
    subscribed(db, first)
    with closing(Store.open(db)) as store:
        store.subscribers.unsubscribe(first[2])  # left the list: not invited
    with simulator() as sim:
        shown = run(town, db, env=sim.env())
        assert shown.exit_code == 0, shown.output
        assert (
            "Invito al Canale WhatsApp: 2 iscritti da invitare (0 già invitati); costo stimato € 0,10" in shown.stdout
        )
        assert "Nulla è stato inviato." in shown.stdout
        assert sim.messages()["whatsapp"] == []

        sent = run(town, db, "--approve-cost", env=sim.env())
        assert sent.exit_code == 0, sent.output
        assert "Inviti inviati: 2." in sent.stdout
        messages = sim.messages()["whatsapp"]
        assert sorted(m["to"] for m in messages) == sorted(first[:2])
        assert {m["callback"] for m in messages} == {INVITE_ID} and messages[0]["text"] == INVITE_BODY

        again = run(town, db, "--approve-cost", env=sim.env())
        assert "0 iscritti da invitare (2 già invitati)" in again.stdout
        assert "Nessuno da invitare: nulla è stato inviato." in again.stdout
        assert len(sim.messages()["whatsapp"]) == 2

        subscribed(db, later)  # joined since: a rerun invites only them
        rest = run(town, db, "--approve-cost", env=sim.env())
        assert "Inviti inviati: 2." in rest.stdout
        messages = sim.messages()["whatsapp"]
        assert sorted(m["to"] for m in messages) == sorted(first[:2] + later)
    for digits in first + later:
        assert digits not in shown.output + sent.output + again.output + rest.output


@pytest.mark.slow
def test_after_a_crash_only_the_rest_are_sent(town: Town, tmp_path: Path) -> None:
    """A run that died after Meta accepted some: the ledger holds them, the rerun sends to the others only."""
    from site_tools.store.ledger import Result as LedgerResult

    _with(town, PLAN)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    numbers = phones(4, 720)
    subscribed(db, numbers)
    with closing(Store.open(db)) as store:
        first_id = store.subscribers.get(numbers[0]).id
        claimed = store.ledger.claim_new(INVITE_ID, "whatsapp_list", "dead-run", first_id, first_id + 1)
        store.ledger.record_results(
            [LedgerResult(d, s, "accepted", wamid=f"wamid.dead{s}") for s, d in claimed.items()]
        )
    with simulator() as sim:
        result = run(town, db, "--approve-cost", env=sim.env())
        assert "2 iscritti da invitare (2 già invitati)" in result.stdout
        assert "Inviti inviati: 2." in result.stdout, result.output
        assert sorted(m["to"] for m in sim.messages()["whatsapp"]) == sorted(numbers[2:])
    shown = CliRunner().invoke(main, ["--config", str(town.root / "mkdocs.yml"), "deliveries", INVITE_ID, "--db", db])
    assert "accepted: 4" in shown.output, shown.output
