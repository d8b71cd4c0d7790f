"""``/health`` asked when it should not say all is well."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from site_tools.content.config import load_config
from site_tools.service import meta_health
from site_tools.settings import Settings
from site_tools.store import Store
from site_tools.store.database import StoreUnavailable

from .conftest import FIXTURE_TOWN
from .test_meta_health import checked, running, sim, template_event  # noqa: F401 - the simulator fixture


def test_a_service_without_a_whatsapp_token_says_no_reply_can_leave(sqlite_url: str, sim: Any) -> None:  # noqa: F811
    with running(sqlite_url, sim, WHATSAPP_TOKEN="") as (service, _):
        health = checked(service)
        assert health["meta"]["state"] == "not_configured"
        assert any("WHATSAPP_TOKEN" in w and "no reply" in w for w in health["warnings"]), health["warnings"]


def test_the_start_check_is_tried_again_when_the_store_failed_to_keep_its_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL restarting while the service starts: the check's answer cannot be stored. The start check must try
    # again (as it does when Meta cannot be reached), not end for good with /health «not checked yet» for ever.
    monkeypatch.setattr(meta_health, "RETRY_FIRST", 0.01)
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    failures = [StoreUnavailable("database unreachable (OperationalError)")]

    async def db(work: Any) -> Any:
        if failures:
            raise failures.pop()
        return work(store)

    number = {"id": "1234", "verified_name": "Comune", "status": "CONNECTED", "quality_rating": "GREEN"}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=number))
    settings = Settings.from_env({"WHATSAPP_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "1234",
                                  "WHATSAPP_API_URL": "https://graph.example/v24.0"})  # fmt: skip
    config = load_config(FIXTURE_TOWN / "mkdocs.yml")
    watch = meta_health.MetaWatch(lambda: config, settings, db, transport=transport)
    try:
        asyncio.run(asyncio.wait_for(watch.run(), timeout=30))
        assert json.loads(store.state.get(meta_health.NUMBER_KEY) or "{}").get("state") == "ok"
    finally:
        asyncio.run(watch.close())
        store.close()


def test_a_template_reinstated_or_flagged_can_still_be_sent(sqlite_url: str, sim: Any) -> None:  # noqa: F811
    # Meta's events are not all statuses: REINSTATED means «can be sent again», FLAGGED «negative feedback, at risk
    # of being disabled» while the template stays APPROVED. Neither may make /health say «sends with it fail».
    with running(sqlite_url, sim) as (service, _):
        checked(service)
        at = int(time.time()) + 1
        service.post(template_event("sportello_risposta", "PAUSED", at=at))
        service.post(template_event("sportello_risposta", "REINSTATED", at=at + 60))
        service.post(template_event("avviso_comunale", "FLAGGED", at=at + 61))
        service.settle()
        health = service.health()
        assert health["status"] == "ok", health["problems"]
        assert any("avviso_comunale" in w and "FLAGGED" in w for w in health["warnings"]), health["warnings"]


def test_a_pause_in_the_same_second_as_the_check_is_not_taken_for_an_older_event(tmp_path: Any) -> None:
    """Meta dates webhooks in whole seconds, the start check uses this server's clock: a template paused within the
    second the check answered «APPROVED» must still read PAUSED, not be dropped as a replay."""
    from site_tools.service.meta_health import TEMPLATE_KEY, apply_account_changes, record_probe
    from site_tools.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        second = 1_796_000_000
        approved = {"name": "avviso_comunale", "language": "it", "status": "APPROVED", "reason": None, "id": "1"}
        record_probe(store.state, {"state": "ok", "at": second + 0.6, "templates": [approved]}, "WABA")
        key = TEMPLATE_KEY.format(waba="WABA", name="avviso_comunale", language="it")

        def webhook(event: str, at: int) -> dict[str, Any]:
            value = {"event": event, "message_template_id": 1, "message_template_name": "avviso_comunale",
                     "message_template_language": "it", "reason": "NONE"}  # fmt: skip
            change = {"field": "message_template_status_update", "value": value}
            return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "time": at, "changes": [change]}]}

        assert apply_account_changes(store, webhook("PAUSED", second)) == 1
        assert json.loads(store.state.get(key) or "{}")["status"] == "PAUSED"
        # A replay from a second before the check still loses to it.
        record_probe(store.state, {"state": "ok", "at": second + 5.2, "templates": [approved]}, "WABA")
        assert apply_account_changes(store, webhook("PAUSED", second + 4)) == 0
        assert json.loads(store.state.get(key) or "{}")["status"] == "APPROVED"
    finally:
        store.close()
