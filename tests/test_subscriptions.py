"""The subscriptions service, signed as Meta signs, on SQLite and PostgreSQL.

Most tests drive the Starlette app in-process (TestClient) while its background loops run and its replies go
over real HTTP to the simulator; one test runs ``site-tools webhook`` as a process behind uvicorn.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from site_tools.content.config import TownConfig
from site_tools.store import Store
from site_tools.store.ledger import Result

from .command import Ran, site_tools
from .conftest import FIXTURE_TOWN
from .services import free_port, phones, simulator, wait_for

SECRET = "test-app-secret"
VERIFY = "test-verify-token"


class Service:
    """A running service: ``client`` is a TestClient (in-process) or an httpx client (a real server)."""

    def __init__(self, client: Any, db: str, sim: Any):
        self.client, self.db, self.sim = client, db, sim

    def post(
        self, payload: Any, secret: str = SECRET, raw: bytes | None = None, headers: dict | None = None
    ) -> httpx.Response:
        body = raw if raw is not None else json.dumps(payload).encode()  # ASCII-escaped, as Meta sends
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return self.client.post(
            "/webhook",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature, **(headers or {})},
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def health(self) -> dict[str, Any]:
        return self.get("/health").json()

    def settle(self) -> None:
        wait_for(lambda: self.health()["pending_events"] == 0, timeout=30)

    def drained(self) -> None:
        """Every event processed and every reply out of the outbox: nothing more will arrive."""
        self.settle()
        with closing(self.store()) as store:
            wait_for(lambda: not store.db.scalar("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')"))

    def store(self) -> Store:
        return Store.open(self.db)

    def texts_to(self, phone: str) -> list[str]:
        return [m["text"] for m in self.sim.messages()["whatsapp"] if m["to"] == phone and m["type"] == "text"]


@pytest.fixture
def service(store_url: str) -> Iterator[Service]:
    """The app in-process, its loops running, replies going to the simulator over HTTP."""
    from site_tools.content.config import load_config

    with running(load_config(FIXTURE_TOWN / "mkdocs.yml"), store_url) as started:
        yield started


@contextmanager
def running(config: TownConfig, store_url: str) -> Iterator[Service]:
    """The app of ``config`` in-process, its loops running, replies going to the simulator over HTTP."""
    from starlette.testclient import TestClient

    from site_tools.service.app import Service as App
    from site_tools.settings import Settings

    with simulator("--latency", "0") as sim:
        settings = Settings.from_env({**sim.env(), "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY})
        app = App(config, settings, lambda: Store.open(store_url))
        Store.open(store_url).close()  # migrated once, as the command does before serving
        with TestClient(app.app()) as client:
            yield Service(client, store_url, sim)


@pytest.fixture
def served(store_url: str) -> Iterator[Service]:
    """``site-tools webhook`` as a process on loopback; its log is checked for phone numbers."""
    with simulator("--latency", "0") as sim:
        port = free_port()
        env = {
            **os.environ,
            **sim.env(),
            "SITE_TOOLS_DB": store_url,
            "WHATSAPP_APP_SECRET": SECRET,
            "WHATSAPP_VERIFY_TOKEN": VERIFY,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "site_tools", "webhook", "--port", str(port)],
            cwd=FIXTURE_TOWN,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _up(url), timeout=20)
            with httpx.Client(base_url=url, timeout=30) as client:
                yield Service(client, store_url, sim)
        finally:
            proc.terminate()
            out = proc.communicate(timeout=10)[0].decode()
            assert "393330" not in out, "a phone number reached the log"


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health").status_code == 200
    except httpx.HTTPError:
        return False


def inbound(phone: str, text: str | None, wamid: str, kind: str = "text") -> dict:
    message: dict[str, Any] = {"from": phone, "id": wamid, "timestamp": str(int(time.time())), "type": kind}
    if text is not None:
        message["text"] = {"body": text}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                            "contacts": [{"profile": {"name": "Maria Rossi"}, "wa_id": phone}],
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }


def status(wamid: str, phone: str, state: str, code: int | None = None) -> dict:
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": phone,
        "biz_opaque_callback_data": "bul",
    }
    if code:
        item["errors"] = [{"code": code, "title": "Message undeliverable"}]
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
                            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                            "statuses": [item],
                        },
                    }
                ],
            }
        ],
    }


def test_verification_handshake(service: Service) -> None:
    ok = service.get(
        "/webhook", params={"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY}
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = service.get("/webhook", params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"})
    assert bad.status_code == 403


def test_signatures_are_checked(service: Service) -> None:
    phone = phones(1)[0]
    payload = inbound(phone, "VALFIORITA ON", "wamid.sig")
    assert service.post(payload, secret="wrong").status_code == 403
    assert service.post(payload, secret=VERIFY).status_code == 403  # the verify token is not the key
    unsigned = service.client.post("/webhook", json=payload)
    assert unsigned.status_code == 403
    # Non-ASCII escaped as Meta does: the raw bytes are what is signed.
    raw = json.dumps(inbound(phone, "Valfiorità on", "wamid.sig2")).encode()
    assert b"\\u00e0" in raw
    assert service.post(None, raw=raw).status_code == 200
    service.settle()
    store = service.store()
    assert store.subscribers.get(phone).status == "active"  # only the signed one counted
    store.close()


def test_keywords_subscribe_and_unsubscribe_with_confirmations(service: Service) -> None:
    a, b = phones(2)
    for n, text in enumerate(["VALFIORITA ON", "  valfiorità   on! ", "Iscrivimi"]):
        assert service.post(inbound(a, text, f"wamid.a{n}")).status_code == 200
    assert service.post(inbound(b, "start", "wamid.b0")).status_code == 200
    service.settle()
    wait_for(lambda: len(service.texts_to(a)) == 1 and len(service.texts_to(b)) == 1)
    assert "VALFIORITA OFF" in service.texts_to(a)[0]  # says how to stop
    store = service.store()
    sub = store.subscribers.get(a)
    assert sub.status == "active" and sub.consent_source == "whatsapp" and sub.consent_text == "VALFIORITA ON"
    service.post(inbound(a, "STOP", "wamid.a9"))
    service.post(inbound(a, "cancellami", "wamid.a10"))
    service.settle()
    assert store.subscribers.get(a).status == "left" and store.subscribers.get(a).opted_out_at
    wait_for(lambda: len(service.texts_to(a)) == 2, timeout=10)
    assert "Cancellazione confermata" in service.texts_to(a)[1]
    service.drained()
    assert len(service.texts_to(a)) == 2  # the repeated OFF changed nothing
    store.close()


def test_one_automatic_answer_per_day(service: Service) -> None:
    phone = phones(1, 50)[0]
    service.post(inbound(phone, "Buongiorno, c'è una buca in via Roma", "wamid.q1"))
    service.post(inbound(phone, "Mi rispondete?", "wamid.q2"))
    service.post(inbound(phone, None, "wamid.q3", kind="image"))
    service.settle()
    service.drained()
    (answer,) = service.texts_to(phone)
    assert "800 000 000" in answer and "112" in answer
    store = service.store()
    assert store.subscribers.get(phone) is None  # asking is not subscribing
    store.close()


def test_status_webhooks_update_the_ledger_in_any_order(service: Service) -> None:
    phone = phones(1, 70)[0]
    store = service.store()
    store.subscribers.bulk_subscribe([phone], "test")
    sub = store.subscribers.get(phone)
    (delivery_id,) = store.ledger.claim_new("bul", "whatsapp_list", "run", sub.id, sub.id).values()
    store.ledger.record_results([Result(delivery_id, sub.id, "accepted", wamid="wamid.out1")])
    for state in ("read", "sent", "delivered", "read"):
        assert service.post(status("wamid.out1", phone, state)).status_code == 200
    service.settle()
    assert store.ledger.delivery_counts("bul") == {"whatsapp_list": {"read": 1}}
    store.close()


def test_bad_input_never_crashes_nor_loses_a_valid_event(service: Service) -> None:
    phone = phones(1, 90)[0]
    assert service.post(None, raw=b"{not json").status_code == 400
    assert service.post(None, raw=b"\xff\xfe").status_code == 400
    assert service.post([1, 2]).status_code == 400
    big = b'{"object": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    assert service.post(None, raw=big).status_code == 413
    assert service.post({"object": "page", "entry": []}).status_code == 200  # stored, then rejected by the worker
    assert (
        service.post(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "changes": [
                            {"field": "account_update", "value": {}},
                            {"field": "messages", "value": {"messages": [{"type": "text"}]}},
                            {"field": "messages", "value": {"statuses": [{"status": "exploded"}]}},
                        ]
                    }
                ],
            }
        ).status_code
        == 200
    )
    payload = inbound(phone, "VALFIORITA ON", "wamid.valid")
    assert service.post(payload).status_code == 200
    assert service.post(payload).status_code == 200  # replayed
    service.settle()
    store = service.store()
    assert store.subscribers.get(phone).status == "active"
    service.drained()
    assert len(service.texts_to(phone)) == 1
    health = service.health()
    assert health["failed"] == 1 and health["processed"] >= 2  # the page event parked, the valid one applied
    assert health["foreign_events"] == 2  # changes without our phone_number_id: acknowledged, never applied
    store.close()


@pytest.mark.e2e
def test_the_service_as_a_process_subscribes_and_logs_no_number(served: Service) -> None:
    """uvicorn, signals and logging as in production (the fixture checks the log for numbers)."""
    phone = phones(1, 95)[0]
    assert served.post(inbound(phone, "VALFIORITA ON", "wamid.proc")).status_code == 200
    served.drained()
    with closing(served.store()) as store:
        assert store.subscribers.get(phone).status == "active"
    assert len(served.texts_to(phone)) == 1


def cli(*args: str, db: str, cwd: Path = FIXTURE_TOWN) -> Ran:
    return site_tools("subscribers", *args, cwd=cwd, env={"SITE_TOOLS_DB": db})


def test_import_export_forget_stats(store_url: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "lista.csv"
    csv_file.write_text(
        "numero;data_consenso;fonte\n"
        "+39 333 000 0101;12/03/2024;lista broadcast 1\n"
        "3330000102;2024-03-13;lista broadcast 1\n"
        "0039 333 000 0103;2024-03-14 10:00;lista broadcast 2\n"
        "333 000 0101;2024-03-15;duplicato nello stesso file\n"
        "12345;2024-03-15;\n"
        "3330000104;31/02/2024;\n",
        encoding="utf-8",
    )
    first = cli("import", str(csv_file), db=store_url)
    assert first.returncode == 1
    assert "Importati 3 nuovi iscritti; 0 erano già presenti." in first.stdout
    assert "lista.csv:6: [numero]" in first.stderr and "lista.csv:7: [data_consenso]" in first.stderr
    assert "12345" not in first.stderr  # masked like every number in a report
    again = cli("import", str(csv_file), db=store_url)
    assert "Importati 0 nuovi iscritti; 3 erano già presenti." in again.stdout
    store = Store.open(store_url)
    assert store.subscribers.count_active() == 3
    ((sub_id, delivery_id),) = store.ledger.claim_new("bul", "whatsapp_list", "run", 1, 1).items()
    store.ledger.record_results([Result(delivery_id, sub_id, "accepted", wamid="wamid.z")])
    store.close()
    exported = cli("export", "+39 333 000 0101", db=store_url)
    data = json.loads(exported.stdout)
    assert data["phone"] == "393330000101" and data["consent_source"] == "import:lista broadcast 1"
    assert data["deliveries"][0]["bulletin"] == "bul"
    stats = cli("stats", db=store_url)
    assert "Iscritti attivi alla lista WhatsApp: 3 su 38.400 residenti" in stats.stdout
    gone = cli("forget", "3330000101", db=store_url)
    assert "dati cancellati" in gone.stdout and "0101" not in gone.stdout
    store = Store.open(store_url)
    assert store.subscribers.get("393330000101") is None
    assert store.ledger.delivery_counts("bul") == {"whatsapp_list": {"accepted": 1}}  # the count stays, anonymous
    store.close()
    assert cli("export", "3330000101", db=store_url).returncode == 1
