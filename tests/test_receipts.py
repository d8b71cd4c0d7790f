"""Receipts in batches, citizens first: on SQLite and PostgreSQL.

The worker applies status-only events in batches (one transaction for thousands); these tests hold the batches
to exactly what applying the same events one by one gives, in any order and with repeats, and check that a
citizen's «ON» never waits behind receipts, that one bad event costs only itself, and that a database drop in the
middle of a batch loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_tools.content.config import load_config
from site_tools.service.events import kind_of, process_event
from site_tools.service.receipts import apply_receipt_events
from site_tools.service.worker import Counters, EventWorker
from site_tools.store import Store
from site_tools.store.inbox import MESSAGE, STATUS, StoredEvent
from site_tools.store.ledger import Result

from .conftest import FIXTURE_TOWN
from .services import phones, simulator, wait_for
from .test_subscriptions import inbound

NUMBER = "106540352242922"
CONFIG = load_config(FIXTURE_TOWN / "mkdocs.yml")
CODES = [None, 131026, 131050, 131049, 131049, 131000]  # of failures; 131049 (the marketing cap) is not final
STATES = ["sent", "delivered", "read"] * 2 + ["failed", "deleted"]


def status_event(items: list[dict[str, Any]]) -> dict[str, Any]:
    """One webhook POST carrying these status items, as Meta sends them."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550783881", "phone_number_id": NUMBER},
                            "statuses": items,
                        },
                    }
                ],
            }
        ],
    }


def item(
    wamid: str, phone: str | None, state: str, code: int | None = None, callback: str | None = "bul", at: float = 0
) -> dict:
    out: dict[str, Any] = {"id": wamid, "status": state, "timestamp": str(int(at or time.time()))}
    if phone:
        out["recipient_id"] = phone
    if callback:
        out["biz_opaque_callback_data"] = callback
    if code is not None:
        out["errors"] = [{"code": code, "title": "Errore"}]
    return out


# -- a send's ledger, and what receipts leave in it ------------------------------------------------------------------
N = 8  # recipients: wamid.0 … wamid.5 recorded, 6 and 7 left 'sending' by a run that died before recording them


def ledger_of_a_send(store: Store) -> list[str]:
    numbers = phones(N, 500)
    store.subscribers.bulk_subscribe(numbers, "test")
    assert store.ledger.claim_publication("bul", "whatsapp_list", "api", "normal", shared=True)
    ids = {store.subscribers.get(p).id: p for p in numbers}  # type: ignore[union-attr]
    claimed = store.ledger.claim_new("bul", "whatsapp_list", "run", min(ids), max(ids))
    by_phone = {ids[sub]: (sub, delivery) for sub, delivery in claimed.items()}
    store.ledger.record_results(
        [Result(d, s, "accepted", wamid=f"wamid.{i}") for i, (s, d) in enumerate(by_phone[p] for p in numbers[:6])]
    )
    store.ledger.finish_publication("bul", "whatsapp_list", "done")
    reply = store.outbox.queue(phones(1, 900)[0], "Iscrizione confermata")
    store.db.execute("UPDATE outbox SET state = 'sent', wamid = 'wamid.reply' WHERE id = ?", (reply,))
    return numbers


def random_receipts(rng: random.Random, numbers: list[str], n: int) -> list[dict[str, Any]]:
    """Receipts for the send's messages, for one the ledger never recorded (held) and for a reply; each message
    id belongs to one recipient, as Meta's do."""
    owner = {f"wamid.{i}": p for i, p in enumerate(numbers)} | {
        "wamid.unknown": phones(1, 800)[0],
        "wamid.reply": phones(1, 900)[0],
    }
    out = []
    for _ in range(n):
        w = rng.choice(list(owner))
        phone = owner[w] if rng.random() < 0.9 else None
        callback = "bul" if w != "wamid.reply" and rng.random() < 0.8 else None
        state = rng.choice(STATES)
        out.append(item(w, phone, state, rng.choice(CODES) if state == "failed" else None, callback))
    return out


def as_events(receipts: list[dict[str, Any]], rng: random.Random) -> list[str]:
    """Receipts grouped into webhook POSTs of one to three statuses, repeats included (Meta retries)."""
    bodies, i = [], 0
    while i < len(receipts):
        size = rng.randint(1, 3)
        bodies.append(json.dumps(status_event(receipts[i : i + size])))
        i += size
    repeats = [rng.choice(bodies) for _ in range(len(bodies) // 4)]
    return bodies + repeats


def snapshot(store: Store) -> dict[str, Any]:
    """What the ledger says, keyed by what a person reads (bulletin, phone), not by ids."""
    return {
        "deliveries": sorted(
            store.db.all(
                "SELECT d.bulletin_id, s.phone, d.state, d.wamid, d.error_code, d.next_attempt_at IS NOT NULL"
                " FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            )
        ),
        "subscribers": sorted(store.db.all("SELECT phone, status, failures FROM subscribers")),
        "held": sorted(
            store.db.all("SELECT wamid, phone, status, callback, error_code FROM pending_receipts"), key=repr
        ),
        "replies": sorted(store.db.all("SELECT wamid, status, error_code FROM reply_statuses")),
        "publications": sorted(store.db.all("SELECT bulletin_id, channel, state FROM publications")),
        "events": sorted(store.db.all("SELECT state, COUNT(*) FROM events GROUP BY state")),
    }


def one_by_one(store: Store, bodies: list[str]) -> None:
    for body in bodies:
        outcome = process_event(store, CONFIG, body, number_id=NUMBER)
        assert not outcome.errors


def in_batches(store: Store, bodies: list[str], rng: random.Random) -> None:
    events = [StoredEvent(store.inbox.add(b, None, STATUS), b) for b in bodies]
    while events:
        size = rng.randint(1, len(events))
        batch, events = events[:size], events[size:]
        report = apply_receipt_events(store, batch, NUMBER, bool(CONFIG.counter))
        assert not report.parked and not report.single


def same_end_state(make_store: Callable[[], Store], seed: int, n: int) -> None:
    rng = random.Random(seed)
    with closing(make_store()) as a, closing(make_store()) as b:
        numbers = ledger_of_a_send(a)
        ledger_of_a_send(b)
        bodies = as_events(random_receipts(rng, numbers, n), rng)
        rng.shuffle(bodies)
        one_by_one(a, bodies)
        in_batches(b, bodies, rng)
        assert snapshot(b) == snapshot(a)


@contextmanager
def two_stores(url: str) -> Iterator[Callable[[], Store]]:
    """Two empty stores: SQLite files, or two PostgreSQL schemas."""
    if url.startswith("sqlite"):
        made = iter([url, url.replace("store.db", "other.db")])
        yield lambda: Store.open(next(made))
        return
    from .services import pg_schema_url

    with pg_schema_url() as other:
        made = iter([url, other])
        yield lambda: Store.open(next(made))


@pytest.mark.parametrize("seed", range(6))
def test_batches_leave_the_ledger_exactly_as_one_by_one(store_url: str, seed: int) -> None:
    with two_stores(store_url) as make:
        same_end_state(make, seed, n=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80))
def test_batches_equal_one_by_one_for_any_order_and_repeats(seed: int, n: int) -> None:
    same_end_state(lambda: Store.open("sqlite:///:memory:"), seed, n)


def test_a_batch_follows_each_rule(store_url: str) -> None:
    """The rules one by one, spelled out: forward only, failures, 131026, 131050, 131049, held, replies."""
    with closing(Store.open(store_url)) as store:
        numbers = ledger_of_a_send(store)
        bodies = [
            json.dumps(status_event([item("wamid.0", numbers[0], "read"), item("wamid.0", numbers[0], "sent")])),
            json.dumps(status_event([item("wamid.1", numbers[1], "failed", 131026)])),
            json.dumps(status_event([item("wamid.2", numbers[2], "failed", 131050)])),
            json.dumps(status_event([item("wamid.3", numbers[3], "failed", 131049)])),
            json.dumps(status_event([item("wamid.late", numbers[6], "delivered")])),  # its run died unrecorded
            json.dumps(status_event([item("wamid.early", numbers[7], "delivered", callback=None)])),  # held
            json.dumps(status_event([item("wamid.reply", phones(1, 900)[0], "delivered", callback=None)])),
        ]
        in_batches(store, bodies * 2, random.Random(1))  # every event twice: Meta delivers at least once
        got = {row[1]: row[2:] for row in snapshot(store)["deliveries"]}
        assert got[numbers[0]] == ("read", "wamid.0", None, False)
        assert got[numbers[1]] == ("failed", "wamid.1", 131026, False)
        assert got[numbers[3]][0] == "retry" and got[numbers[3]][3]  # the marketing cap: tried again in 24 hours
        assert got[numbers[6]] == ("delivered", "wamid.late", None, False)
        assert got[numbers[7]] == ("sending", None, None, False)
        assert store.db.scalar("SELECT failures FROM subscribers WHERE phone = ?", (numbers[1],)) == 1
        assert store.subscribers.get(numbers[2]).status == "left"  # type: ignore[union-attr]
        assert store.ledger.publication("bul", "whatsapp_list").state == "waiting"  # type: ignore[union-attr]
        assert [h.wamid for h in store.ledger.held_receipts()] == ["wamid.early", "wamid.early"]
        assert store.inbox.pending() == 0 and store.inbox.parked_count() == 0


# -- the worker: citizens first, a bad event parked alone, a drop mid-batch ------------------------------------------
def worker_on(store: Store) -> EventWorker:
    async def work(fn: Callable[[Store], Any]) -> Any:
        return fn(store)

    worker = EventWorker(CONFIG, NUMBER, work, Counters())
    worker.housekeeping_every = 3600.0
    return worker


def store_as_the_webhook_does(store: Store, payload: dict[str, Any]) -> None:
    store.inbox.add(json.dumps(payload), None, kind_of(payload, NUMBER))


def receipts_for(numbers: list[str], count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield status_event([item(f"wamid.{i % 6}", numbers[i % 6], ("sent", "delivered", "read")[i // 6 % 3])])


def test_an_on_stored_after_5000_receipts_is_applied_first(store_url: str) -> None:
    with closing(Store.open(store_url)) as store:
        numbers = ledger_of_a_send(store)
        for payload in receipts_for(numbers, 5000):
            store_as_the_webhook_does(store, payload)
        citizen = phones(1, 700)[0]
        store_as_the_webhook_does(store, inbound(citizen, "VALFIORITA ON", "wamid.on"))
        assert store.inbox.pending_by_kind() == {MESSAGE: 1, STATUS: 5000}
        worker = worker_on(store)
        asyncio.run(worker.pass_once())  # one pass: the citizen's message, then one batch of receipts
        assert store.subscribers.get(citizen).status == "active"  # type: ignore[union-attr]
        assert store.outbox.pending() == 1  # the confirmation is on its way
        assert store.inbox.pending_by_kind() == {MESSAGE: 0, STATUS: 5000 - worker.receipt_batch}
        while asyncio.run(worker.pass_once()):
            pass
        assert store.inbox.pending() == 0 and worker.counters.processed == 5001
        assert {row[2] for row in snapshot(store)["deliveries"][:6]} == {"read"}


def test_the_webhook_stores_receipts_and_messages_apart(sqlite_url: str) -> None:
    from starlette.testclient import TestClient

    from site_tools.service.app import Service as App
    from site_tools.settings import Settings

    from .test_subscriptions import SECRET, VERIFY, Service

    with simulator("--latency", "0") as sim:
        settings = Settings.from_env({**sim.env(), "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY})
        app = App(CONFIG, settings, lambda: Store.open(sqlite_url))
        Store.open(sqlite_url).close()
        app.loops = []  # no worker: what the webhook stored stays to be looked at
        with TestClient(app.app()) as client:
            service = Service(client, sqlite_url, sim)
            citizen = phones(1, 710)[0]
            mixed = status_event([item("wamid.0", citizen, "read")])
            mixed["entry"][0]["changes"][0]["value"]["messages"] = inbound(citizen, "ciao", "wamid.m")["entry"][0][
                "changes"
            ][0]["value"]["messages"]
            for payload in (status_event([item("wamid.0", citizen, "read")]), inbound(citizen, "ON", "wamid.x"), mixed):
                assert service.post(payload).status_code == 200
            health = service.health()
            assert health["pending_by_kind"] == {"message": 2, "status": 1}  # a mixed event counts as a message
            assert health["pending_events"] == 3 and "applied_per_second" in health


def test_a_poisoned_event_in_a_batch_is_parked_alone(store_url: str) -> None:
    with closing(Store.open(store_url)) as store:
        numbers = ledger_of_a_send(store)
        store_as_the_webhook_does(store, status_event([item("wamid.0", numbers[0], "read")]))
        store_as_the_webhook_does(  # a code no column holds: its other item is applied, the event kept
            store, status_event([item("wamid.1", numbers[1], "failed", 10**30), item("wamid.2", numbers[2], "read")])
        )
        store_as_the_webhook_does(store, status_event([item("wamid.3", numbers[3], "delivered")]))
        worker = worker_on(store)
        asyncio.run(worker.pass_once())
        got = {row[1]: row[2] for row in snapshot(store)["deliveries"]}
        assert [got[p] for p in numbers[:4]] == ["read", "accepted", "read", "delivered"]
        (parked,) = store.inbox.parked()
        assert "error code out of range" in (parked.error or "") and store.inbox.pending() == 0
        assert worker.counters.parked == 1 and worker.counters.processed == 2


def test_an_item_failing_in_a_batch_costs_only_its_event(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever breaks one event's item inside the batch (here: recording an undeliverable number), the batch is
    applied one event at a time: the others go through, the bad one is parked with its reason."""
    with closing(Store.open(store_url)) as store:
        numbers = ledger_of_a_send(store)
        cursed = store.subscribers.get(numbers[1]).id  # type: ignore[union-attr]
        real = store.subscribers.record_undeliverable

        def record_undeliverable(ids: Any) -> None:
            if cursed in ids:
                raise RuntimeError("the subscriber's row is damaged")
            real(ids)

        monkeypatch.setattr(store.subscribers, "record_undeliverable", record_undeliverable)
        for i, phone in enumerate(numbers[:6]):
            code = 131026 if i == 1 else None
            store_as_the_webhook_does(
                store, status_event([item(f"wamid.{i}", phone, "failed" if code else "read", code)])
            )
        worker = worker_on(store)
        asyncio.run(worker.pass_once())
        (parked,) = store.inbox.parked()
        assert "damaged" in (parked.error or "")
        got = {row[1]: row[2] for row in snapshot(store)["deliveries"]}
        assert [got[p] for p in numbers[:6]] == ["read", "failed", "read", "read", "read", "read"]
        assert worker.counters.processed == 5 and store.inbox.pending() == 0


def test_a_database_drop_mid_batch_loses_nothing(pg_url: str) -> None:
    from .test_store import _terminate

    with closing(Store.open(pg_url)) as store:
        numbers = ledger_of_a_send(store)
        for payload in receipts_for(numbers, 600):
            store_as_the_webhook_does(store, payload)
        real, drops = store.ledger.apply_statuses, []

        def dropped_after_the_updates(receipts: Any, at: Any = None) -> Any:
            results = real(receipts, at)
            if not drops:
                drops.append(1)
                _terminate(store)  # the server goes before the batch commits
            return results

        store.ledger.apply_statuses = dropped_after_the_updates  # type: ignore[method-assign]
        worker = worker_on(store)
        asyncio.run(worker.pass_once())
        assert drops and worker.counters.processed == 0 and worker.counters.retried == 600
        assert store.inbox.pending() == 600  # nothing half-written: the whole batch waits for its retry
        wait_for(lambda: asyncio.run(worker.pass_once()) and store.inbox.pending() == 0, timeout=30)
        assert store.inbox.parked_count() == 0 and worker.counters.processed == 600
        assert {row[2] for row in snapshot(store)["deliveries"][:6]} == {"read"}


# -- group commit at the webhook -------------------------------------------------------------------------------------
def test_events_that_arrive_together_are_committed_together(store_url: str) -> None:
    from site_tools.service.group_commit import GroupCommit

    with closing(Store.open(store_url)) as store:
        numbers = ledger_of_a_send(store)
        commits: list[int] = []

        async def run(fn: Callable[[Store], Any]) -> Any:
            before = store.inbox.pending()
            await asyncio.to_thread(fn, store)  # the service's inbox thread
            commits.append(store.inbox.pending() - before)

        async def webhook() -> None:
            group = GroupCommit(run)
            bodies = [json.dumps(p) for p in receipts_for(numbers, 300)]
            await asyncio.gather(*(group.add(body, STATUS) for body in bodies))

        asyncio.run(webhook())
        assert sum(commits) == 300 == store.inbox.pending()  # every request answered only after its commit
        assert len(commits) < 10  # not 300 commits: the first alone, the rest together


def test_a_failed_group_commit_stores_nothing_and_tells_every_request(store_url: str) -> None:
    from site_tools.service.group_commit import GroupCommit
    from site_tools.store.database import StoreUnavailable

    with closing(Store.open(store_url)) as store:
        real, calls = store.inbox.add_many, []

        def add_many(*args: Any) -> None:
            real(*args)  # written, then the connection drops before the commit
            calls.append(1)
            if len(calls) == 1:
                raise StoreUnavailable("server closed the connection unexpectedly")

        store.inbox.add_many = add_many  # type: ignore[method-assign]

        async def run(fn: Callable[[Store], Any]) -> Any:
            return await asyncio.to_thread(fn, store)

        async def webhook() -> list[Any]:
            group = GroupCommit(run)
            return await asyncio.gather(*(group.add(f"body {i}", STATUS) for i in range(20)), return_exceptions=True)

        answers = asyncio.run(webhook())
        failed = [a for a in answers if isinstance(a, StoreUnavailable)]
        assert failed and store.inbox.pending() == 20 - len(failed)  # the failed group wrote nothing
        assert all(a is None or isinstance(a, StoreUnavailable) for a in answers)


def test_an_on_written_after_a_stopped_marketing_receipt_still_wins(store_url: str) -> None:
    """131050 is the citizen's own word (they stopped marketing messages): it keeps its place among their messages,
    so the «ON» they wrote after it — applied before the receipts waiting — is still their last word."""
    with closing(Store.open(store_url)) as store:
        numbers = ledger_of_a_send(store)
        for payload in receipts_for(numbers, 300):
            store_as_the_webhook_does(store, payload)
        stopped = status_event([item("wamid.2", numbers[2], "failed", 131050, at=time.time() - 5)])  # then the ON
        assert kind_of(stopped, NUMBER) == MESSAGE
        store_as_the_webhook_does(store, stopped)
        store_as_the_webhook_does(store, inbound(numbers[2], "VALFIORITA ON", "wamid.again"))
        asyncio.run(worker_on(store).pass_once())
        assert store.subscribers.get(numbers[2]).status == "active"  # type: ignore[union-attr]
        assert store.outbox.pending() == 1  # welcomed back


# -- a real send, its receipts posted back by the simulator, on PostgreSQL --------------------------------------------
@pytest.mark.e2e
@pytest.mark.slow
def test_a_send_and_its_receipts_on_postgresql_end_with_every_delivery_known(demo_town: Any, pg_url: str) -> None:
    """`site-tools publish` sends while the simulator posts the receipts back to `site-tools webhook` (both
    processes): the batches and the publisher's own ledger writes meet on the same rows. Every delivery ends
    «delivered», nothing is parked or left held, and an «ON» written mid-send is confirmed."""
    import os
    import subprocess
    import sys

    import httpx

    from .services import SimProcess
    from .test_publisher import URGENT, add, adopt, subscribe
    from .test_subscriptions import SECRET, _up, free_port

    port, n = free_port(), 600
    sim = SimProcess("--latency", "0.01", "--mps", "200", "--app-secret", SECRET,
                     "--webhook-url", f"http://127.0.0.1:{port}/webhook")  # fmt: skip
    env = {**os.environ, **sim.env(), "SITE_TOOLS_DB": pg_url, "WHATSAPP_APP_SECRET": SECRET,
           "WHATSAPP_VERIFY_TOKEN": "v", "SITE_TOOLS_NOW": "2026-11-23 12:00"}  # fmt: skip
    service = subprocess.Popen([sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
                               cwd=demo_town.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        numbers = phones(n, 3000)
        subscribe(pg_url, numbers)
        adopt(demo_town, pg_url, sim)
        add(demo_town, URGENT, "allerta-rossa")
        wait_for(lambda: _up(f"http://127.0.0.1:{port}"), timeout=30)
        publish = subprocess.Popen([sys.executable, "-m", "site_tools", "publish", "--rate", "200", "--no-progress",
                                    "--channel", "whatsapp_list"], cwd=demo_town.root, env=env)  # fmt: skip
        wait_for(lambda: sim.stats().get("accepted", 0) >= n // 3, timeout=60)
        citizen = phones(1, 3900)[0]
        written = httpx.post(f"{sim.url}/_sim/inbound", json={"from": citizen, "text": "VALFIORITA ON"}, timeout=30)
        assert written.json()["delivered"]
        assert publish.wait(timeout=120) == 0
        with closing(Store.open(pg_url)) as store:
            seen: list[Any] = []

            def all_delivered() -> bool:
                seen.append(store.ledger.delivery_counts("allerta-rossa"))
                # n, or n + 1: the fan-out still running reaches the citizen who just subscribed, as it should
                return (
                    set(seen[-1].get("whatsapp_list", {})) == {"delivered"}
                    and seen[-1]["whatsapp_list"]["delivered"] >= n
                )

            try:
                wait_for(all_delivered, timeout=60)
            except AssertionError:
                health = httpx.get(f"http://127.0.0.1:{port}/health").json()
                raise AssertionError(f"the ledger says {seen[-1]}; the service: {health}; {sim.stats()}") from None
            wait_for(lambda: store.ledger.held_count() == 0, timeout=30)
            assert store.inbox.parked_count() == 0
            assert store.subscribers.get(citizen).status == "active"  # type: ignore[union-attr]
        wait_for(lambda: any(m["to"] == citizen for m in sim.messages()["whatsapp"]), timeout=30)
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert health["status"] == "ok" and health["pending_events"] == 0, health
    finally:
        service.terminate()
        service.wait(15)
        sim.stop()


def test_a_batch_is_bounded_by_the_size_of_its_events() -> None:
    """Meta may put hundreds of statuses in one event (the simulator puts up to 500): a batch stops at a size,
    never below one event, and the rest waits for the next pass, after any message that came meanwhile."""
    from site_tools.service.worker import _up_to

    events = [StoredEvent(i, "x" * 600) for i in range(5)]
    assert [e.id for e in _up_to(events, limit=1500)] == [0, 1]
    assert [e.id for e in _up_to(events, limit=100)] == [0]
    assert len(_up_to(events)) == 5
