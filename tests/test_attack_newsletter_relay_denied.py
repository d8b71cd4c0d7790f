# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""A town's SMTP server that refuses every recipient for a reason of its own (relaying denied, authentication
required: a misconfiguration, a 5.7.x) must not cost the town its subscribers.

Every 5xx to ``RCPT`` marked the address ``bouncing`` for good: one run against a misconfigured relay turned the
whole list into bounces, and nobody received anything again until each citizen signed up anew. Only a refusal of
the address itself (5.1.x: no such mailbox or domain; 5.2.1: mailbox disabled) is a bounce now; a refusal of every
recipient stops the channel after a few, and the rest waits for the next run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from site_tools.devtools.smtp_sink import SmtpSink, start
from site_tools.store import Store

from .conftest import Town
from .test_newsletter import addresses, deliver, news_town, write  # noqa: F401 — fixtures


class RelayDenied(SmtpSink):
    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        return "554 5.7.1 <destinatario>: Relay access denied"


@pytest.fixture
def relay() -> Iterator[int]:
    controller = start(RelayDenied())
    try:
        yield controller.port
    finally:
        controller.stop()


def test_a_relay_that_refuses_everyone_bounces_no_one_and_stops_the_channel(
    news_town: Town, relay: int, store_url: str
) -> None:
    store = Store.open(store_url)
    store.newsletter.add_active(addresses(40), "t", "t")
    write(news_town, "2026-11-23-mercato")
    result = deliver(news_town, store_url, relay, "run-1", pool=2)
    assert result.state == "failed" and result.channel_down
    assert "rifiuta ogni destinatario" in result.detail
    assert store.newsletter.count("bouncing") == 0 and store.newsletter.count() == 40  # the list is intact
    counts = store.newsletter.counts("2026-11-23-mercato")
    assert counts.get("queued", 0) >= 30  # owed, for the run after the town fixes its server
    store.close()
