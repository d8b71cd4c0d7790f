"""GitHub login for the web editor: the service's OAuth endpoint, against a fake GitHub over real HTTP, and with Decap in Chromium."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from site_tools.content.config import TownConfig, load_config
from site_tools.service.oauth import editor_login_routes
from site_tools.settings import Settings
from site_tools.site.local_editor import free_port

from .conftest import FIXTURE_TOWN
from .services import wait_for
from .test_cms_browser import build, static_server

CLIENT_ID, SECRET, CODE, TOKEN = "Iv1.test-client", "test-client-secret", "code-123", "gho_testtoken"


class Served:
    def __init__(self, app: Starlette):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=10)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def fake_github(seen: list[dict[str, Any]]) -> Starlette:
    async def authorize(request: Request) -> Response:
        q = request.query_params
        seen.append({"authorize": dict(q)})
        assert q["client_id"] == CLIENT_ID
        return RedirectResponse(f"{q['redirect_uri']}?code={CODE}&state={q['state']}", status_code=302)

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        seen.append({"token": form})
        if form.get("client_secret") == SECRET and form.get("code") == CODE and form.get("client_id") == CLIENT_ID:
            return JSONResponse({"access_token": TOKEN, "token_type": "bearer", "scope": "repo"})
        return JSONResponse({"error": "bad_verification_code"})

    return Starlette(
        routes=[
            Route("/login/oauth/authorize", authorize),
            Route("/login/oauth/access_token", token, methods=["POST"]),
        ]
    )


def town_with(tmp: Path, site_url: str, auth_url: str) -> TownConfig:
    shutil.copytree(FIXTURE_TOWN / "content", tmp / "content")
    text = (FIXTURE_TOWN / "mkdocs.yml").read_text(encoding="utf-8")
    text = text.replace("site_url: https://avvisi.valfiorita.example.it/", f"site_url: {site_url}")
    text = text.replace("auth_url: https://servizi.valfiorita.example.it", f"auth_url: {auth_url}")
    text = text.replace("open_authoring: true", "open_authoring: false")
    (tmp / "mkdocs.yml").write_text(text, encoding="utf-8")
    return load_config(tmp / "mkdocs.yml")


@pytest.fixture
def login(tmp_path: Path) -> Iterator[tuple[str, str, list[dict[str, Any]], Path]]:
    """(service URL, site folder URL, what the fake GitHub saw, site folder)."""
    seen: list[dict[str, Any]] = []
    github = Served(fake_github(seen))
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    with static_server(site_dir) as site_url:
        port = free_port()
        config = town_with(tmp_path, site_url, f"http://127.0.0.1:{port}")
        env = {"GITHUB_OAUTH_CLIENT_ID": CLIENT_ID, "GITHUB_OAUTH_CLIENT_SECRET": SECRET, "GITHUB_URL": github.url}
        service = Starlette(routes=editor_login_routes(config, Settings.from_env(env)))
        service_server = Served.__new__(Served)
        service_server.port = port
        service_server.server = uvicorn.Server(
            uvicorn.Config(service, host="127.0.0.1", port=port, log_level="warning")
        )
        service_server.thread = threading.Thread(target=service_server.server.run, daemon=True)
        service_server.thread.start()
        wait_for(lambda: service_server.server.started, timeout=10)
        try:
            yield f"http://127.0.0.1:{port}", site_url, seen, tmp_path
        finally:
            service_server.server.should_exit = True
            github.stop()


def test_no_routes_without_the_oauth_apps_secrets() -> None:
    config = load_config(FIXTURE_TOWN / "mkdocs.yml")
    assert editor_login_routes(config, Settings.from_env({})) == []
    assert editor_login_routes(config, Settings.from_env({"GITHUB_OAUTH_CLIENT_ID": CLIENT_ID})) == []
    assert (
        len(
            editor_login_routes(
                config, Settings.from_env({"GITHUB_OAUTH_CLIENT_ID": CLIENT_ID, "GITHUB_OAUTH_CLIENT_SECRET": SECRET})
            )
        )
        == 2
    )


def test_the_token_goes_only_to_the_sites_origin_after_a_checked_state(login) -> None:  # type: ignore[no-untyped-def]
    service, site_url, seen, _ = login
    with httpx.Client(base_url=service) as client:
        start = client.get("/cms/auth", params={"provider": "github", "scope": "repo", "site_id": "x"})
        assert start.status_code == 302
        to_github = httpx.URL(start.headers["location"])
        state = to_github.params["state"]
        assert to_github.params["redirect_uri"] == service + "/cms/callback" and len(state) >= 32
        assert "HttpOnly" in start.headers["set-cookie"] and "SameSite=lax" in start.headers["set-cookie"]
        # A callback with someone else's state (login CSRF) is refused before GitHub is asked anything.
        forged = client.get("/cms/callback", params={"code": CODE, "state": "forged"})
        assert forged.status_code == 400 and TOKEN not in forged.text and not [s for s in seen if "token" in s]
        done = client.get("/cms/callback", params={"code": CODE, "state": state})
    assert done.status_code == 200
    assert seen[-1]["token"]["client_secret"] == SECRET  # the secret travels only server to GitHub
    assert SECRET not in done.text
    origin = site_url.rstrip("/")
    assert f'var origin="{origin}"' in done.text and "'*'" not in done.text and '"*"' not in done.text
    assert TOKEN in done.text
    nonce = re.search(r'nonce="([^"]+)"', done.text).group(1)
    assert done.headers["content-security-policy"] == f"default-src 'none'; script-src 'nonce-{nonce}'"
    assert done.headers["cache-control"] == "no-store"


def test_a_code_github_refuses_gives_no_token(login) -> None:  # type: ignore[no-untyped-def]
    service, _, _, _ = login
    with httpx.Client(base_url=service) as client:
        state = httpx.URL(client.get("/cms/auth", params={"provider": "github"}).headers["location"]).params["state"]
        refused = client.get("/cms/callback", params={"code": "stolen-or-old", "state": state})
    assert refused.status_code == 403 and "access_token" not in refused.text and TOKEN not in refused.text
    assert "authorization:github:error:" in refused.text


def test_bad_requests_are_refused(login) -> None:  # type: ignore[no-untyped-def]
    service, _, _, _ = login
    assert httpx.get(service + "/cms/auth", params={"provider": "gitlab"}).status_code == 400
    assert httpx.get(service + "/cms/auth", params={"provider": "github", "scope": "admin:org"}).status_code == 400
    assert httpx.get(service + "/cms/callback", params={"code": CODE}).status_code == 400  # no state cookie


def test_decap_logs_in_through_the_service_and_uses_the_token(login, browser) -> None:  # type: ignore[no-untyped-def]
    """The real editor: login popup, the service, (fake) GitHub, the token handed back to Decap."""
    service, site_url, _, folder = login
    build(folder / "mkdocs.yml", folder / "site")
    api_calls: list[str] = []

    def github_api(route):  # type: ignore[no-untyped-def]
        request = route.request
        api_calls.append(f"{request.url} {request.headers.get('authorization')}")
        if request.url.endswith("/user"):
            return route.fulfill(json={"login": "redattrice", "name": "Redattrice", "avatar_url": ""})
        if request.url.endswith("/repos/comune-valfiorita/avvisi"):
            return route.fulfill(json={"permissions": {"push": True}, "default_branch": "main"})
        return route.fulfill(status=404, json={"message": "Not Found"})

    context = browser.new_context(locale="it-IT")
    context.route("https://api.github.com/**", github_api)
    page = context.new_page()
    page.goto(site_url + "admin/")
    with page.expect_popup() as popup:
        page.get_by_role("button", name="Accedi con GitHub").click()
    popup.value.wait_for_event("close")
    wait_for(lambda: page.evaluate("0") == 0 and any(c.endswith(f"/user token {TOKEN}") for c in api_calls))
    context.close()
