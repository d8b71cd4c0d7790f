# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""A town whose service sits under a path (``service.url: https://www.comune.example.it/servizi``): the site's
notification button and service worker must send the subscription under that path, as the publisher's requests
to the service do. They sent it to the host's root (``/push/iscrizione``): the town's web server answered 404 and
no browser could subscribe."""

from __future__ import annotations

import json
import re
from pathlib import Path

from site_tools.site import csp
from site_tools.site import webpush as site_webpush

from .conftest import Town
from .test_oidc import AUDIENCE
from .test_webpush import keys, with_webpush  # noqa: F401 — fixture

UNDER = "https://www.valfiorita.example.it/servizi"


def _var(script: str, name: str) -> object:
    found = re.search(rf"^var {name} = (.*);$", script, re.M)
    assert found, script[:200]
    return json.loads(found.group(1))


def test_the_button_and_the_worker_post_under_the_service_path(town: Town, keys: tuple[str, Path]) -> None:
    with_webpush(town, keys[0])
    path = town.root / "mkdocs.yml"
    path.write_text(path.read_text(encoding="utf-8").replace(f"url: {AUDIENCE}/", f"url: {UNDER}", 1))
    config = town.config
    assert str(config.service.url).rstrip("/") == UNDER if config.service else False
    worker = _var(site_webpush.service_worker(config), "SERVICE")
    button = _var(site_webpush.script(config), "ST_PUSH")
    assert f"{worker}/push/iscrizione" == f"{UNDER}/push/iscrizione"
    assert isinstance(button, dict) and f"{button['service']}/push/iscrizione" == f"{UNDER}/push/iscrizione"
    # The page's policy still lets the button reach the service (CSP matches the origin).
    rules = csp.rules_for(None, push_service=site_webpush.service_origin(config), newsletter_url="")
    assert "https://www.valfiorita.example.it" in csp.render(csp.policy_for("iscriviti/index.html", rules), [])
