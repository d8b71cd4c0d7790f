# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""The service POSTs only to the push services ``WEBPUSH_SERVICES`` names: at send time too, not only when a
browser subscribes.

A subscription stored when the list was wider (the local stand-in allowed on a staging service sharing the
store, a push service the town has since removed, a store restored from elsewhere) was still sent to: the
service POSTed to whatever address the store held, on its own network included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from site_tools.settings import Settings
from site_tools.store import Store

from .conftest import Town
from .test_publisher import URGENT, add
from .test_webpush import SUBJECT, browsers, deliver, delivered, keys, push_town, sim  # noqa: F401 — fixtures


def test_a_stored_subscription_outside_the_allowed_services_is_never_sent_to(
    push_town: Town,
    keys: tuple[str, Path],
    sim: Any,
    sqlite_url: str,
) -> None:
    add(push_town, URGENT, "2026-11-23-allerta")
    browsers(sim, keys[0], sqlite_url, 2)  # at the stand-in, http://127.0.0.1:…: allowed when they subscribed
    narrowed = Settings.from_env({"VAPID_PRIVATE_KEY": str(keys[1]), "VAPID_SUBJECT": SUBJECT})  # the default list
    result = deliver(push_town, sqlite_url, narrowed, "2026-11-23-allerta")
    assert delivered(sim) == []  # not one request reached the address outside the list
    assert result.recipients == 0
    store = Store.open(sqlite_url)
    assert store.push.totals("2026-11-23-allerta") == {"failed": 2}
    store.close()
