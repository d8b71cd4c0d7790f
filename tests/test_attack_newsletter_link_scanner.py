# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""Opening the confirmation link must not be enough to subscribe: mail security scanners and previews (Outlook's
Safe Links, antivirus gateways) GET every link of an incoming e-mail. Anyone could type a stranger's address in
the form, and the stranger's scanner confirmed it: the town recorded a consent nobody gave. The unsubscribe link
already asked first, for the same reason; the confirmation link now does too (a GET shows a button; the POST
confirms)."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from site_tools.store import Store

from .conftest import Town
from .test_newsletter import ask, link_in, news_town, service_client, sink  # noqa: F401 — fixtures


def test_a_scanner_opening_the_confirmation_link_confirms_nothing(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    for client in service_client(news_town.config, port, sqlite_url):
        ask(client, "sconosciuto@esempio.it")
        [message] = box.received_by("sconosciuto@esempio.it")
        link = link_in(message.message.get_content(), "/newsletter/conferma")
        scanned = client.get(link)  # the scanner, the preview, twice
        client.get(link)
        assert scanned.status_code == 200 and "Conferma" in scanned.text
        store = Store.open(sqlite_url)
        assert store.newsletter.count() == 0 and store.newsletter.count("pending") == 1
        form = LexborHTMLParser(scanned.text).css_first("form")
        assert form.attributes["method"] == "post" and form.attributes["action"] == link
        done = client.post(form.attributes["action"] or "")  # the citizen's own tap
        assert done.status_code == 200 and "Iscrizione confermata" in done.text
        assert store.newsletter.count() == 1
        store.close()
