# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""The same mailbox typed twice with different capitals («Mario@…», «mario@…») is one subscriber, not two.

Mail servers treat the local part without regard to case (RFC 5321 allows otherwise; no provider a citizen uses
does), but the store compared addresses byte for byte: the second form created a second subscription, and the
citizen got every bulletin twice."""

from __future__ import annotations

from site_tools.store import Store

from .conftest import Town
from .test_newsletter import ask, deliver, link_in, local, news_town, service_client, sink, write  # noqa: F401


def test_an_address_typed_again_in_other_capitals_is_the_same_subscriber(
    news_town: Town,
    sink,
    store_url: str,
) -> None:
    box, port = sink
    for client in service_client(news_town.config, port, store_url):
        for typed in ("Mario.Rossi@esempio.it", "mario.rossi@esempio.it"):
            assert ask(client, typed).status_code == 303
            message = box.received_by(typed)[-1].message.get_content()
            if "/newsletter/conferma" in message:
                assert client.post(local(link_in(message, "/newsletter/conferma"))).status_code == 200
    store = Store.open(store_url)
    assert store.newsletter.count() == 1
    write(news_town, "2026-11-23-mercato")
    deliver(news_town, store_url, port, "run-1")
    bulletins = [m for m in box.messages if "Mercato" in str(m.message["Subject"])]
    assert len(bulletins) == 1
    store.close()
