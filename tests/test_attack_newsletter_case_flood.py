# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""The cap on confirmation e-mails to one mailbox (3, then one an hour) holds whatever capitals the address is
typed with: it was keyed on the address as typed, so «Vittima@», «vIttima@», «viTtima@»… each had a cap of their
own, and anyone could flood a mailbox with confirmation e-mails from the town's server."""

from __future__ import annotations

from site_tools.service.newsletter import Limits
from site_tools.service.ratelimit import RateLimit

from .conftest import Town
from .test_newsletter import ask, news_town, service_client, sink  # noqa: F401 — fixtures


def test_the_per_address_cap_ignores_capitals(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    roomy = Limits(by_client=RateLimit(rate=100, burst=100, total_rate=100, total_burst=100))
    typed = [
        "vittima@esempio.it",
        "Vittima@esempio.it",
        "vIttima@esempio.it",
        "viTtima@esempio.it",
        "VITTIMA@esempio.it",
    ]
    for client in service_client(news_town.config, port, sqlite_url, roomy):
        assert {ask(client, t).status_code for t in typed} == {303}
    assert len([m for m in box.messages if m.recipients[0].lower() == "vittima@esempio.it"]) == 3
