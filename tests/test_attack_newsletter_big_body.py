# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""The newsletter's form must refuse a huge body without reading it all: it read the whole body into memory
(``request.body()``) before comparing its length to the 4 KiB limit, so one request of a few gigabytes (or one
trickling forever) from anyone on the internet could exhaust the service's memory.

The app is driven as the HTTP server drives it (ASGI messages, one chunk of the body at a time), because the
test client reads the whole body before the app sees any of it: the test counts the chunks the app asked for."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from site_tools.aio import run_loop
from site_tools.service.newsletter import NewsletterService
from site_tools.settings import Settings
from site_tools.store import Store

from .conftest import Town
from .test_newsletter import SITE_ORIGIN, news_town, sink, smtp_env  # noqa: F401 — fixtures

CHUNK = b"email=" + b"a" * (64 * 1024 - 6)
CHUNKS = 200  # 12.5 MiB: stands for gigabytes


def post(app: Any, headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """(the answer's status, how many chunks of the body the app read)."""
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": CHUNK, "more_body": pulled < CHUNKS}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/newsletter/iscrizione",
        "raw_path": b"/newsletter/iscrizione",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"servizi.valfiorita.example.it"), (b"origin", SITE_ORIGIN.encode()), *headers],
        "client": ("203.0.113.9", 40000),
        "server": ("servizi.valfiorita.example.it", 443),
    }
    run_loop(app(scope, receive, send))
    return status, pulled


def test_a_huge_form_is_refused_after_the_limit_not_read_to_its_end(news_town: Town, sink, sqlite_url: str) -> None:
    _, port = sink
    svc = NewsletterService(news_town.config, Settings.from_env(smtp_env(port)), lambda: Store.open(sqlite_url))
    try:
        app = Starlette(routes=svc.routes())
        form = (b"content-type", b"application/x-www-form-urlencoded")
        status, pulled = post(app, [form])  # chunked: no length announced
        assert status == 413
        assert pulled < 10  # read up to the limit, then refused: not the whole body
        status, pulled = post(app, [form, (b"content-length", str(CHUNKS * len(CHUNK)).encode())])
        assert status == 413 and pulled <= 1  # the announced length alone is enough
    finally:
        svc.close()
