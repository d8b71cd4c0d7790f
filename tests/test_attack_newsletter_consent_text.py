# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""The consent the store records for a newsletter address is the sentence the citizen ticked on the signup page.

It recorded a longer text («… (newsletter). Posso annullare l'iscrizione in ogni momento …») that the page never
showed: the town's proof of consent named words the citizen had not seen."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from site_tools.site.signup import newsletter_action, newsletter_form_html
from site_tools.store import Store

from .conftest import Town
from .test_newsletter import ask, link_in, local, news_town, service_client, sink  # noqa: F401 — fixtures


def test_the_recorded_consent_is_the_ticked_sentence(news_town: Town, sink, sqlite_url: str) -> None:
    box, port = sink
    config = news_town.config
    form = LexborHTMLParser(newsletter_form_html(config, newsletter_action(config) or ""))
    box_label = next(label for label in form.css("label") if label.css_first("input[name=consenso]") is not None)
    shown = " ".join(box_label.text().split())
    for client in service_client(config, port, sqlite_url):
        ask(client, "anna@esempio.it")
        [message] = box.received_by("anna@esempio.it")
        assert client.post(local(link_in(message.message.get_content(), "/newsletter/conferma"))).status_code == 200
    store = Store.open(sqlite_url)
    _, source, text = store.newsletter.consent(1)
    assert source == "modulo del sito" and text == shown
    store.close()
