"""GitHub login for the web editor: the OAuth endpoint Decap CMS's GitHub backend needs.

Decap's GitHub backend has no PKCE (only its GitLab and Gitea backends do),
and GitHub's token endpoint answers no browser (no CORS): a server must turn
the login's ``code`` into a token with the OAuth app's client secret. The
subscriptions service is already a server the town runs, so it hosts it:

* ``GET /cms/auth?provider=github&scope=…`` — a state in a short-lived cookie,
  then GitHub's authorisation page;
* ``GET /cms/callback?code=…&state=…`` — the state checked against the
  cookie, the code exchanged (client secret from ``GITHUB_OAUTH_CLIENT_SECRET``,
  never in the repository), and a page that hands the token to the editor
  window with Decap's ``postMessage`` handshake — only to the site's own
  origin, never to ``*``.

Enabled when ``GITHUB_OAUTH_CLIENT_ID`` and ``GITHUB_OAUTH_CLIENT_SECRET``
are set and mkdocs.yml has ``extra.town.editor.auth_url`` (this service's
public address, which is also the OAuth app's callback:
``<auth_url>/cms/callback``).
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from site_tools.content.config import TownConfig
from site_tools.settings import Settings, reveal

log = logging.getLogger("site_tools.oauth")
GITHUB = "https://github.com"
COOKIE = "site_tools_cms_state"
SCOPES = ("repo", "public_repo")  # Decap asks public_repo with open authoring, repo otherwise


@dataclass(frozen=True)
class OAuthSettings:
    client_id: str
    client_secret: str = field(repr=False)
    github_url: str = GITHUB

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthSettings | None:
        client_id, secret = settings.github_oauth_client_id, reveal(settings.github_oauth_client_secret)
        if not client_id or not secret:
            return None
        return cls(client_id, secret, settings.github_url)


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"


class EditorLogin:
    def __init__(self, config: TownConfig, settings: OAuthSettings, timeout: float = 20.0):
        assert config.editor is not None and config.editor.auth_url
        self.settings = settings
        self.callback = config.editor.auth_url + "/cms/callback"
        self.cms_origin = _origin(config.site_url)
        self.secure = self.callback.startswith("https://")
        self.timeout = timeout

    async def start(self, request: Request) -> Response:
        scope = request.query_params.get("scope", "repo")
        if request.query_params.get("provider") != "github" or scope not in SCOPES:
            return self._page("error", {"message": "Richiesta di accesso non valida."}, status=400)
        state = secrets.token_urlsafe(32)
        query = urlencode(
            {"client_id": self.settings.client_id, "redirect_uri": self.callback, "scope": scope, "state": state}
        )
        response = RedirectResponse(f"{self.settings.github_url}/login/oauth/authorize?{query}", status_code=302)
        response.set_cookie(COOKIE, state, max_age=600, path="/cms/", httponly=True, secure=self.secure, samesite="lax")
        return response

    async def finish(self, request: Request) -> Response:
        state, expected = request.query_params.get("state", ""), request.cookies.get(COOKIE, "")
        code = request.query_params.get("code", "")
        if not code or not expected or not hmac.compare_digest(state, expected):
            return self._page(
                "error", {"message": "Accesso scaduto o non valido: chiudi questa finestra e riprova."}, 400
            )
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.post(
                    f"{self.settings.github_url}/login/oauth/access_token",
                    data={
                        "client_id": self.settings.client_id,
                        "client_secret": self.settings.client_secret,
                        "code": code,
                        "redirect_uri": self.callback,
                    },
                    headers={"Accept": "application/json"},
                )
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("GitHub token exchange failed: %s", type(exc).__name__)
            return self._page("error", {"message": "GitHub non risponde: riprova tra poco."}, 502)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            log.warning("GitHub refused the code: %s", body.get("error") if isinstance(body, dict) else "?")
            return self._page("error", {"message": "GitHub ha rifiutato l'accesso: riprova."}, 403)
        return self._page("success", {"token": token, "provider": "github"})

    def _page(self, outcome: str, payload: dict[str, str], status: int = 200) -> Response:
        """Decap's handshake: announce, wait for the editor window to answer, then hand it the result."""
        message = json.dumps(f"authorization:github:{outcome}:{json.dumps(payload)}")
        script = (
            "(function(){var origin=" + json.dumps(self.cms_origin) + ";var message=" + message + ";"
            "if(!window.opener){document.body.textContent='Apri l\\u2019editor dal sito del Comune.';return;}"
            "window.addEventListener('message',function(e){"
            "if(e.origin!==origin||e.data!=='authorizing:github')return;"
            "window.opener.postMessage(message,origin);},false);"
            "window.opener.postMessage('authorizing:github',origin);})();"
        ).replace("</", "<\\/")
        nonce = secrets.token_urlsafe(16)
        text = "Accesso riuscito: puoi chiudere questa finestra." if outcome == "success" else payload["message"]
        page = (
            f'<!doctype html><html lang="it"><meta charset="utf-8"><title>Accesso all\'editor</title>'
            f'<p>{html.escape(text)}</p><script nonce="{nonce}">{script}</script></html>'
        )
        response = HTMLResponse(page, status_code=status)
        response.headers["Content-Security-Policy"] = f"default-src 'none'; script-src 'nonce-{nonce}'"
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        if outcome == "success":
            response.delete_cookie(COOKIE, path="/cms/")  # one state, one token
        return response

    def routes(self) -> list[Route]:
        return [
            Route("/cms/auth", self.start, methods=["GET"]),
            Route("/cms/callback", self.finish, methods=["GET"]),
        ]


def editor_login_routes(config: TownConfig, service_settings: Settings) -> list[Route]:
    """The routes, when the town has set the editor up and the service has the OAuth app's secrets."""
    settings = OAuthSettings.from_settings(service_settings)
    if settings is None or config.editor is None or not config.editor.auth_url:
        return []
    return EditorLogin(config, settings).routes()
