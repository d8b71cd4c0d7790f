"""The subscriptions service under faults: dropped database connections, failing error handling, foreign and
hostile input. Nothing acknowledged is lost, and /health tells the truth."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from site_tools.content.config import load_config
from site_tools.service.app import Service as App
from site_tools.settings import Settings
from site_tools.store import Store
from site_tools.store.database import StoreUnavailable
from site_tools.store.ledger import Result

from .conftest import FIXTURE_TOWN
from .services import PG_BASE, phones, simulator, wait_for
from .test_subscriptions import SECRET, VERIFY, Service, inbound, status

pytestmark = pytest.mark.slow  # database and process faults, with waits and retries

OTHER_NUMBER = "999999999999999"


@contextmanager
def running(url: str, sim: Any, **env: str) -> Iterator[tuple[Service, App]]:
    settings = Settings.from_env({**sim.env(), "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY, **env})
    app = App(load_config(FIXTURE_TOWN / "mkdocs.yml"), settings, lambda: Store.open(url))
    app.worker.housekeeping_every = 0.2
    Store.open(url).close()
    with TestClient(app.app()) as client:
        yield Service(client, url, sim), app


@pytest.fixture
def sim() -> Iterator[Any]:
    with simulator("--latency", "0") as sim:
        yield sim


def foreign(payload: dict[str, Any]) -> dict[str, Any]:
    for entry in payload["entry"]:
        for change in entry["changes"]:
            change["value"]["metadata"]["phone_number_id"] = OTHER_NUMBER
    return payload


def test_killing_the_database_connections_under_load_loses_no_event(pg_url: str, sim: Any) -> None:
    tagged = f"{pg_url}&application_name=svc-under-test"
    numbers = phones(300, 1000)
    stop = threading.Event()
    kills = []

    def killer() -> None:
        with psycopg.connect(PG_BASE, autocommit=True) as admin:
            while not stop.is_set():
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'svc-under-test'"
                ).fetchall()
                kills.append(len(killed))
                time.sleep(0.15)

    with running(tagged, sim) as (service, app):
        thread = threading.Thread(target=killer)
        thread.start()
        answers = [
            service.post(inbound(p, "VALFIORITA ON", f"wamid.kill{i}")).status_code for i, p in enumerate(numbers)
        ]
        stop.set()
        thread.join()
        # Every event was either stored (200) or refused so that Meta sends it again (503): resend the refused.
        for i, (phone, code) in enumerate(zip(numbers, answers, strict=True)):
            while code != 200:
                code = service.post(inbound(phone, "VALFIORITA ON", f"wamid.kill{i}")).status_code
        service.settle()
        with closing(Store.open(pg_url)) as store:
            assert store.subscribers.count_active() == 300
        health = service.get("/health")
        assert health.status_code == 200, health.json()
        assert sum(kills) > 0 and health.json()["reconnects"] > 0  # the webhook's connection was killed, and came back
    assert set(answers) <= {200, 503}


def test_a_dead_database_makes_health_fail_and_events_wait(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim) as (service, app):
        broken = app._store("inbox").db

        def unavailable(*_: Any, **__: Any) -> Any:
            raise StoreUnavailable("server closed the connection")

        original = broken._run
        broken._run = unavailable  # type: ignore[method-assign]
        assert service.post(inbound(phones(1)[0], "VALFIORITA ON", "wamid.dead")).status_code == 503
        health = service.get("/health")
        assert health.status_code == 503 and "database unreachable" in health.json()["problems"][0]
        broken._run = original  # type: ignore[method-assign]
        assert service.get("/health").status_code == 200


@pytest.mark.slow  # waits out the retry back-off
def test_when_the_workers_own_error_handling_fails_the_event_is_still_applied(sqlite_url: str, sim: Any) -> None:
    phone = phones(1, 40)[0]
    with running(sqlite_url, sim) as (service, app):
        work_store = app._store("worker")
        real_process, real_retry = work_store.subscribers.subscribe, work_store.inbox.retry_later
        calls = {"n": 0}

        def flaky_subscribe(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] <= 3:
                raise StoreUnavailable("database is locked")
            return real_process(*args, **kwargs)

        def failing_retry(*_: Any, **__: Any) -> None:
            raise StoreUnavailable("database is locked")  # marking it for later fails too

        work_store.subscribers.subscribe = flaky_subscribe  # type: ignore[method-assign]
        work_store.inbox.retry_later = failing_retry  # type: ignore[method-assign]
        assert service.post(inbound(phone, "VALFIORITA ON", "wamid.flaky")).status_code == 200
        wait_for(lambda: service.health()["pending_events"] == 0, timeout=30)
        work_store.inbox.retry_later = real_retry  # type: ignore[method-assign]
        with closing(service.store()) as store:
            assert store.subscribers.get(phone).status == "active"
        assert service.health()["loops"]["events"] == "running"


@pytest.mark.slow  # waits out the restart back-off
def test_a_loop_that_keeps_crashing_is_restarted_then_gives_up_loudly(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim) as (service, app):
        work_store = app._store("worker")

        def bug(*_: Any, **__: Any) -> Any:
            raise RuntimeError("a bug in the worker")

        work_store.inbox.new = bug  # type: ignore[method-assign]
        app.worker.wake.set()
        wait_for(lambda: app.loops[0].state == "dead", timeout=60)
        health = service.get("/health")
        assert health.status_code == 503
        assert any("events" in p and "RuntimeError" in p for p in health.json()["problems"])
        assert app.fatal and "5 failures in a row" in app.fatal


def test_an_event_for_another_number_changes_nothing(sqlite_url: str, sim: Any) -> None:
    phone = phones(1, 60)[0]
    with running(sqlite_url, sim) as (service, app):
        assert service.post(foreign(inbound(phone, "VALFIORITA ON", "wamid.foreign"))).status_code == 200
        service.drained()
        with closing(service.store()) as store:
            assert store.subscribers.get(phone) is None
        assert service.health()["foreign_events"] == 1 and service.texts_to(phone) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Hub-Signature-256": "sha256=àèìòù"},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": ""},
    ],
)
def test_odd_signature_headers_are_403_not_500(sqlite_url: str, sim: Any, headers: dict[str, str]) -> None:
    with running(sqlite_url, sim) as (service, _):
        body = json.dumps(inbound(phones(1)[0], "VALFIORITA ON", "wamid.odd")).encode()
        raw = [(k.encode(), v.encode("utf-8")) for k, v in headers.items()]
        answer = service.client.post("/webhook", content=body, headers=dict(raw))
        assert answer.status_code == 403


def test_odd_verify_tokens_are_403_not_500(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim) as (service, _):
        for token in ("tökén", "\u2028", "x" * 10_000):
            params = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": token}
            assert service.get("/webhook", params=params).status_code == 403


def test_a_deeply_nested_signed_body_is_a_400(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim) as (service, _):
        nested = b"[" * 50_000 + b"]" * 50_000
        assert service.post(None, raw=nested).status_code == 400
        assert service.post(None, raw=b'{"a":' * 40 + b"1" + b"}" * 40).status_code == 400
        assert service.get("/health").status_code == 200


def test_an_off_is_applied_before_the_answer(sqlite_url: str, sim: Any) -> None:
    phone = phones(1, 70)[0]
    with running(sqlite_url, sim) as (service, _):
        with closing(service.store()) as store:
            store.subscribers.subscribe(phone, "test")
            assert service.post(inbound(phone, "stop per favore", "wamid.off-now")).status_code == 200
            assert store.subscribers.get(phone).status == "left"  # already, before the worker ran
        service.drained()
        assert len(service.texts_to(phone)) == 1  # one confirmation, not two


def test_stopped_marketing_in_a_receipt_and_in_preferences_unsubscribe(sqlite_url: str, sim: Any) -> None:
    a, b = phones(2, 80)
    with running(sqlite_url, sim) as (service, _):
        with closing(service.store()) as store:
            store.subscribers.bulk_subscribe([a, b], "test")
            sub = store.subscribers.get(a)
            (delivery,) = store.ledger.claim_new("bul", "whatsapp_list", "run", sub.id, sub.id).values()
            store.ledger.record_results([Result(delivery, sub.id, "accepted", wamid="wamid.m1")])
        service.post(status("wamid.m1", a, "failed", code=131050))
        prefs = inbound(b, None, "unused")
        value = prefs["entry"][0]["changes"][0]["value"]
        value.pop("messages")
        value["user_preferences"] = [{"wa_id": b, "category": "marketing_messages", "value": "stop"}]
        prefs["entry"][0]["changes"][0]["field"] = "user_preferences"
        service.post(prefs)
        service.settle()
        with closing(service.store()) as store:
            assert store.subscribers.get(a).status == "left" and store.subscribers.get(b).status == "left"


def test_a_receipt_before_its_send_was_recorded_is_held_then_matched(sqlite_url: str, sim: Any) -> None:
    phone = phones(1, 90)[0]
    with running(sqlite_url, sim) as (service, _):
        early = status("wamid.early", phone, "delivered")
        early["entry"][0]["changes"][0]["value"]["statuses"][0].pop("biz_opaque_callback_data")
        service.post(early)
        service.settle()
        with closing(service.store()) as store:
            assert store.db.scalar("SELECT COUNT(*) FROM pending_receipts") == 1
            store.subscribers.bulk_subscribe([phone], "test")
            sub = store.subscribers.get(phone)
            (delivery,) = store.ledger.claim_new("bul", "whatsapp_list", "run", sub.id, sub.id).values()
            store.ledger.record_results([Result(delivery, sub.id, "accepted", wamid="wamid.early")])
            wait_for(lambda: store.ledger.delivery_counts("bul") == {"whatsapp_list": {"delivered": 1}}, timeout=10)
            assert store.db.scalar("SELECT COUNT(*) FROM pending_receipts") == 0


def test_erasure_removes_the_inbound_ids_that_encode_the_number(sqlite_url: str, sim: Any) -> None:
    phone = phones(1, 95)[0]
    with running(sqlite_url, sim) as (service, _):
        service.post(inbound(phone, "VALFIORITA ON", "wamid.HBgMMzkzMzMwMDAwMDk1FQIAEhgg"))
        service.drained()
        with closing(service.store()) as store:
            assert store.db.scalar("SELECT COUNT(*) FROM inbound") == 1
            assert store.forget(phone)
            assert store.db.scalar("SELECT COUNT(*) FROM inbound") == 0


def test_a_permanently_bad_event_is_parked_and_can_be_requeued(sqlite_url: str, sim: Any) -> None:
    from .command import site_tools

    with running(sqlite_url, sim) as (service, _):
        assert service.post({"object": "page", "entry": []}).status_code == 200
        service.settle()
        listed = site_tools("webhook-events", cwd=FIXTURE_TOWN, env={"SITE_TOOLS_DB": sqlite_url})
        assert listed.returncode == 1 and "not a WhatsApp Business Account event" in listed.stdout
        (event_id,) = [line.split()[0] for line in listed.stdout.splitlines() if line.split()[:1] and line[0].isdigit()]
        again = site_tools("webhook-events", "--requeue", event_id, cwd=FIXTURE_TOWN, env={"SITE_TOOLS_DB": sqlite_url})
        assert again.returncode == 0, again.stderr
        service.settle()
        assert service.health()["parked_events"] == 1  # still not Meta's shape: parked again, not lost


@pytest.mark.e2e
def test_the_server_closes_connections_that_never_finish_their_headers(served_slow: str) -> None:
    import socket

    host, port = served_slow.removeprefix("http://").split(":")
    slow = socket.create_connection((host, int(port)))
    slow.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")  # and then nothing
    slow.settimeout(10)
    started = time.monotonic()
    assert slow.recv(1) == b""  # closed by the server
    assert time.monotonic() - started < 5
    assert httpx.get(f"{served_slow}/health").status_code == 200  # and it still serves others


@pytest.fixture
def served_slow(sqlite_url: str) -> Iterator[str]:
    """``site-tools webhook`` as a process, with a 1-second header timeout."""
    import os
    import subprocess
    import sys

    from .test_subscriptions import _up, free_port

    with simulator("--latency", "0") as sim:
        port = free_port()
        env = {**os.environ, **sim.env(), "SITE_TOOLS_DB": sqlite_url, "WHATSAPP_APP_SECRET": SECRET,
               "WHATSAPP_VERIFY_TOKEN": VERIFY, "SITE_TOOLS_HEADER_TIMEOUT": "1"}  # fmt: skip
        proc = subprocess.Popen([sys.executable, "-m", "site_tools", "webhook", "--port", str(port)], cwd=FIXTURE_TOWN,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _up(url), timeout=20)
            yield url
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.mark.parametrize("entry", [5, "x", [5, None, {"changes": 7}], {"changes": []}])
def test_a_signed_body_of_the_wrong_shape_is_never_a_500(sqlite_url: str, sim: Any, entry: Any) -> None:
    with running(sqlite_url, sim) as (service, _):
        assert service.post({"object": "whatsapp_business_account", "entry": entry}).status_code == 200
        service.settle()
        assert service.get("/health").status_code == 200
