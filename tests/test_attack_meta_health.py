"""``/health`` asked when it should not say all is well (review of issue 23)."""

from __future__ import annotations

from typing import Any

from .test_meta_health import checked, running, sim  # noqa: F401 - the simulator fixture


def test_a_service_without_a_whatsapp_token_says_no_reply_can_leave(sqlite_url: str, sim: Any) -> None:  # noqa: F811
    with running(sqlite_url, sim, WHATSAPP_TOKEN="") as (service, _):
        health = checked(service)
        assert health["meta"]["state"] == "not_configured"
        assert any("WHATSAPP_TOKEN" in w and "no reply" in w for w in health["warnings"]), health["warnings"]
