# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""A town whose service sits under a path (``https://www.comune.example.it/servizi``, behind the town's reverse
proxy): the newsletter's own redirects and forms must stay under that path, as its e-mailed links do.

They were absolute paths (``/newsletter/esito``, ``/newsletter/cancella``): the browser left the service for the
town's web server and got a 404 after subscribing, and the unsubscribe button posted nowhere."""

from __future__ import annotations

from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser
from starlette.applications import Starlette
from starlette.testclient import TestClient

from site_tools.channels import newsletter_tokens as tokens
from site_tools.service.newsletter import NewsletterService
from site_tools.settings import Settings
from site_tools.store import Store

from .conftest import Town
from .test_newsletter import SECRET, SERVICE, SITE_ORIGIN, news_town, sink, smtp_env  # noqa: F401 — fixtures

UNDER = "https://www.valfiorita.example.it/servizi"


def test_the_answers_stay_under_the_service_path(news_town: Town, sink, sqlite_url: str) -> None:
    _, port = sink
    path = news_town.root / "mkdocs.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(f"service_url: {SERVICE}", f"service_url: {UNDER}"), encoding="utf-8"
    )
    config = news_town.config
    assert config.newsletter_service_url == UNDER
    svc = NewsletterService(config, Settings.from_env(smtp_env(port)), lambda: Store.open(sqlite_url))
    try:
        # The proxy strips /servizi: the service sees /newsletter/…, and is told its prefix as root_path.
        app = Starlette(routes=svc.routes())
        with TestClient(app, base_url="https://www.valfiorita.example.it", root_path="/servizi") as client:
            answer = client.post(
                "/newsletter/iscrizione",
                data={"email": "mario@esempio.it", "consenso": "si"},
                headers={"Origin": SITE_ORIGIN},
                follow_redirects=False,
            )
            assert answer.status_code == 303
            assert answer.headers["location"].startswith(f"{UNDER}/newsletter/esito")
            token = tokens.make(SECRET, tokens.UNSUBSCRIBE, 1)
            page = client.get(f"/newsletter/cancella?t={token}")
            action = LexborHTMLParser(page.text).css_first("form").attributes["action"] or ""
            assert urlsplit(action, scheme="https", allow_fragments=False).path.startswith("/servizi/newsletter/")
    finally:
        svc.close()
