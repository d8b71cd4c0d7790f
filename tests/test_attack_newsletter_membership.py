# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""An outsider must not learn from the newsletter's form whether an address is subscribed.

The form answered a new address by sending the confirmation e-mail (an SMTP round trip, and a 503 page when the
town's SMTP server was down or greylisting) and an already subscribed address with nothing at all (a quick 303):
both the answer's time and, with the mail server down, the answer itself told who is subscribed."""

from __future__ import annotations

from site_tools.store import Store

from .conftest import Town
from .test_newsletter import ask, link_in, news_town, service_client, sink  # noqa: F401 — fixtures

KNOWN, UNKNOWN = "iscritto@esempio.it", "sconosciuto@esempio.it"


def test_with_the_mail_server_down_a_subscribed_address_gets_the_same_answer(news_town: Town, sqlite_url: str) -> None:
    from .services import free_port

    store = Store.open(sqlite_url)
    store.newsletter.add_active([KNOWN], "test", "test")
    for client in service_client(news_town.config, free_port(), sqlite_url):
        known, unknown = ask(client, KNOWN), ask(client, UNKNOWN)
        assert unknown.status_code == 503 and "Non riusciamo a inviare" in unknown.text
        assert (known.status_code, known.text) == (unknown.status_code, unknown.text)
    store.close()


def test_a_subscribed_address_is_told_so_by_e_mail_with_its_unsubscribe_link(
    news_town: Town,
    sink,
    sqlite_url: str,
) -> None:
    box, port = sink
    store = Store.open(sqlite_url)
    store.newsletter.add_active([KNOWN], "test", "test")
    for client in service_client(news_town.config, port, sqlite_url):
        assert ask(client, KNOWN).status_code == 303
        [note] = box.received_by(KNOWN)  # the same work as for a new address: one e-mail
        text = note.message.get_content()
        assert "sei già iscritto" in text.lower()
        unsubscribe = link_in(text, "/newsletter/cancella")
        assert "/newsletter/conferma" not in text
        assert client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert store.newsletter.count() == 0
    store.close()
