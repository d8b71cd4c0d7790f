"""``/health`` follows Meta's side: the start check of the token and the number (over real HTTP to the simulator),
the templates' approval and the number's quality from signed webhooks, and a check again after a refused send."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from site_tools.content.config import load_config
from site_tools.service.app import Service as App
from site_tools.settings import Settings
from site_tools.store import Store

from .conftest import FIXTURE_TOWN, Town
from .services import free_port, simulator, wait_for
from .test_subscriptions import SECRET, VERIFY, Service, inbound

WABA = "102290129340398"


@pytest.fixture
def sim() -> Iterator[Any]:
    with simulator("--latency", "0", "--town-config", str(FIXTURE_TOWN / "mkdocs.yml")) as sim:
        yield sim


@contextmanager
def running(
    url: str, sim: Any, config: Path = FIXTURE_TOWN / "mkdocs.yml", **env: str
) -> Iterator[tuple[Service, App]]:
    settings = Settings.from_env({**sim.env(), "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY,
                                  "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA, **env})  # fmt: skip
    app = App(load_config(config), settings, lambda: Store.open(url))
    Store.open(url).close()
    with TestClient(app.app()) as client:
        yield Service(client, url, sim), app


def checked(service: Service) -> dict[str, Any]:
    """/health once the start check has answered."""
    wait_for(lambda: service.health()["meta"].get("state") not in (None,))
    return service.health()


def account_event(field: str, value: dict[str, Any], at: int | None = None) -> dict[str, Any]:
    entry = {"id": WABA, "time": at or int(time.time()), "changes": [{"field": field, "value": value}]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


def template_event(name: str, event: str, reason: str = "NONE", at: int | None = None) -> dict[str, Any]:
    value = {"event": event, "message_template_id": 880000000000002, "message_template_name": name,
             "message_template_language": "it", "reason": reason}  # fmt: skip
    return account_event("message_template_status_update", value, at)


def test_the_start_check_finds_the_number_and_the_templates(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim) as (service, _):
        health = checked(service)
        assert health["status"] == "ok", health
        assert health["meta"] == {
            "state": "ok",
            "quality": "GREEN",
            "limit": "TIER_UNLIMITED",
            "checked_at": health["meta"]["checked_at"],
            "templates": {"avviso_comunale": "APPROVED", "sportello_risposta": "APPROVED"},
        }


def test_a_paused_template_fails_health_until_meta_approves_it_again(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim) as (service, _):
        checked(service)
        paused_at = int(time.time()) + 1
        assert service.post(template_event("sportello_risposta", "PAUSED", at=paused_at)).status_code == 200
        service.settle()
        health = service.health()
        assert health["status"] == "failing"
        assert "WhatsApp template sportello_risposta is PAUSED: sends with it fail" in health["problems"]

        assert service.post(template_event("sportello_risposta", "APPROVED", at=paused_at + 60)).status_code == 200
        service.settle()
        assert service.health()["status"] == "ok"
        # Meta retries for days: the PAUSED event arriving again, late, does not undo the newer approval.
        service.post(template_event("sportello_risposta", "PAUSED", at=paused_at))
        service.settle()
        assert service.health()["status"] == "ok"


def test_a_rejected_template_says_why(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim) as (service, _):
        checked(service)
        service.post(template_event("avviso_comunale", "REJECTED", "INCORRECT_CATEGORY", at=int(time.time()) + 1))
        service.settle()
        assert (
            "WhatsApp template avviso_comunale is REJECTED (reason: INCORRECT_CATEGORY): sends with it fail"
            in (service.health()["problems"])
        )


def test_quality_and_a_limit_below_the_subscribers_are_warnings(sqlite_url: str, sim: Any) -> None:
    with closing(Store.open(sqlite_url)) as store:
        store.subscribers.bulk_subscribe([f"+39333{n:07d}" for n in range(3000)], "test")
    with running(sqlite_url, sim) as (service, _):
        checked(service)
        value = {"display_phone_number": "15550783881", "event": "DOWNGRADE", "current_limit": "TIER_2K",
                 "old_limit": "TIER_10K"}  # fmt: skip
        service.post(account_event("phone_number_quality_update", value, int(time.time()) + 1))
        service.post(account_event("phone_number_quality_update", {**value, "event": "FLAGGED"}, int(time.time()) + 2))
        service.settle()
        health = service.health()
        assert health["status"] == "ok"  # warnings only: sends still go
        assert "the messaging limit TIER_2K (2000 people a day) is below the 3000 subscribers" in health["warnings"]
        assert any(w.startswith("the WhatsApp number's quality is FLAGGED") for w in health["warnings"])


def test_a_bad_token_at_start_fails_health(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim, WHATSAPP_TOKEN="revoked-token") as (service, _):
        health = checked(service)
        assert health["status"] == "failing"
        assert "Meta refuses WHATSAPP_TOKEN (code 190): replace it with a valid system user token" in health["problems"]
        assert "revoked-token" not in json.dumps(health)


def test_a_wrong_number_id_at_start_fails_health(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim, WHATSAPP_PHONE_NUMBER_ID="123456789012345") as (service, _):
        health = checked(service)
        assert "WHATSAPP_PHONE_NUMBER_ID is not a number this token can see (code 100)" in health["problems"]


def test_the_service_starts_when_the_graph_api_is_down_and_says_so(sqlite_url: str, sim: Any) -> None:
    down = f"http://127.0.0.1:{free_port()}/v24.0"
    with running(sqlite_url, sim, WHATSAPP_API_URL=down) as (service, _):
        health = checked(service)
        assert health["status"] == "ok"  # webhooks are still taken and applied
        assert "the Graph API could not be reached to check the token and the number (retrying)" in health["warnings"]


def test_a_send_refused_for_the_token_checks_meta_again(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim) as (service, app):
        assert checked(service)["status"] == "ok"
        app.meta.recheck_every = 0
        sim.configure(whatsapp_token="rotated-at-meta")  # the token was revoked: sends and checks get 190
        service.post(inbound("+393331234567", "Valfiorita ON", "wamid.health-1"))  # the confirmation is refused
        wait_for(lambda: "Meta refuses WHATSAPP_TOKEN (code 190)" in " ".join(service.health()["problems"]))


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append((body, self.headers.get("X-Hub-Signature-256", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_simulator_posts_signed_account_webhooks_in_metas_shape() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.bodies = []
    url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    try:
        with simulator("--latency", "0", "--webhook-url", url, "--app-secret", SECRET) as sim:
            sim.configure(template_review_seconds=0)
            created = httpx.post(f"{sim.url}/v24.0/{WABA}/message_templates", headers={"Authorization":
                                 "Bearer sim-whatsapp-token"}, json={"name": "prova", "language": "it",
                                 "category": "UTILITY", "components": [{"type": "BODY", "text": "Ciao"}]}).json()  # fmt: skip
            assert created["status"] == "PENDING"
            sim.configure(quality_rating="RED", messaging_limit="TIER_10K")
            wait_for(lambda: len(_Receiver.bodies) >= 3)
    finally:
        server.shutdown()
    changes = []
    for body, signature in _Receiver.bodies:
        assert signature == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        payload = json.loads(body)
        assert payload["entry"][0]["id"] == WABA
        changes += payload["entry"][0]["changes"]
    assert {"field": "message_template_status_update", "value": {
        "event": "APPROVED", "message_template_id": int(created["id"]), "message_template_name": "prova",
        "message_template_language": "it", "reason": "NONE"}} in changes  # fmt: skip
    quality = [c["value"] for c in changes if c["field"] == "phone_number_quality_update"]
    assert {"display_phone_number": "15550783881", "event": "DOWNGRADE", "current_limit": "TIER_10K",
            "old_limit": "TIER_UNLIMITED"} in quality  # fmt: skip
    assert {"display_phone_number": "15550783881", "event": "FLAGGED", "current_limit": "TIER_10K"} in quality


def test_a_wrong_account_id_is_a_problem_but_the_number_is_still_checked(sqlite_url: str, sim: Any) -> None:
    with running(sqlite_url, sim, WHATSAPP_BUSINESS_ACCOUNT_ID="999999999") as (service, _):
        health = checked(service)
        assert health["meta"]["state"] == "ok" and health["meta"]["quality"] == "GREEN"
        assert (
            "WHATSAPP_BUSINESS_ACCOUNT_ID: the templates cannot be read (unknown_account, code 100)"
            in (health["problems"])
        )


def test_a_template_meta_does_not_hold_fails_health(sqlite_url: str, sim: Any, town: Town) -> None:
    mkdocs = town.root / "mkdocs.yml"
    mkdocs.write_text(mkdocs.read_text(encoding="utf-8").replace("template: sportello_risposta",
                                                                 "template: sportello_nuovo"), encoding="utf-8")  # fmt: skip
    with running(sqlite_url, sim, config=mkdocs) as (service, _):
        checked(service)
        assert "WhatsApp template sportello_nuovo is MISSING: sends with it fail" in service.health()["problems"]
