# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""A citizen whose mailbox is on a domain with accents (``comune.città.it``, an IDN) can subscribe: the SMTP
server is given the domain's ASCII form (``xn--…``, RFC 5890). The form refused it as «non è valido», and an
accent before the @ (which most mail servers cannot carry) got the same unhelpful page, not why."""

from __future__ import annotations

from site_tools.channels.email import normalize_address
from site_tools.store import Store

from .conftest import Town
from .test_newsletter import ask, news_town, service_client, sink  # noqa: F401 — fixtures


def test_an_address_on_an_accented_domain_is_sent_its_confirmation(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    assert normalize_address("Mario@Città.IT") == "Mario@xn--citt-3na.it"
    for client in service_client(news_town.config, port, sqlite_url):
        assert ask(client, "mario@città.it").status_code == 303
    assert len(box.received_by("mario@xn--citt-3na.it")) == 1
    store = Store.open(sqlite_url)
    assert store.newsletter.count("pending") == 1
    store.close()


def test_an_accent_before_the_at_is_refused_saying_why(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    for client in service_client(news_town.config, port, sqlite_url):
        answer = ask(client, "niccolò@esempio.it")
        assert answer.status_code == 400
        assert "lettere accentate" in answer.text
    assert box.messages == []
