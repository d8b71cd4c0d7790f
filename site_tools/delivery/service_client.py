"""The CI side of trusted publishing, after the run: prove who we are again and report to the town's service.

The ``Pubblica`` job holds no secret. To tell the service what it did with the manual posts (the issues it
opened, the ones editors closed) it asks the runner for a fresh GitHub OIDC token — a new ``jti``: the
service accepts each token once — whose audience is the service's URL, and POSTs the reports to
``<service>/publish/issues`` with it (docs/architecture/trusted-publishing.md). The token is never printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from site_tools.settings import Settings, reveal


class ServiceError(Exception):
    """The token or the report could not be had; the message is one Italian line for the job's log."""


@dataclass(frozen=True)
class ServiceClient:
    """The service's URL (the repository variable ``SITE_TOOLS_SERVICE_URL``) and the runner's token endpoint."""

    service_url: str
    request_url: str
    request_token: str
    timeout: float = 20.0

    @classmethod
    def from_settings(cls, settings: Settings, service_url: str | None = None) -> ServiceClient:
        url = service_url or settings.service_url
        if not url:
            raise ServiceError(
                "manca l'indirizzo del servizio: la variabile SITE_TOOLS_SERVICE_URL del repository "
                "(Settings › Secrets and variables › Actions › Variables)."
            )
        if not (settings.actions_id_token_request_url and settings.actions_id_token_request_token):
            raise ServiceError(
                "GitHub non dà a questo job il token OIDC: serve «permissions: id-token: write» nel job."
            )
        return cls(
            url.rstrip("/"),  # the audience is the URL as extra.town.service.url has it: no final slash
            settings.actions_id_token_request_url,
            reveal(settings.actions_id_token_request_token),
            settings.http_timeout,
        )

    def id_token(self, client: httpx.Client) -> str:
        """A fresh OIDC token from the runner, for the service's URL as audience."""
        separator = "&" if "?" in self.request_url else "?"
        try:
            response = client.get(
                f"{self.request_url}{separator}audience={quote(self.service_url, safe='')}",
                headers={"Authorization": f"bearer {self.request_token}"},
            )
            response.raise_for_status()
            value = response.json().get("value")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise ServiceError(f"GitHub non ha dato il token OIDC ({why_failed(exc)}).") from None
        if not isinstance(value, str) or value.count(".") != 2:
            raise ServiceError("GitHub ha risposto alla richiesta del token OIDC senza un token.")
        return value

    def report_issues(self, reports: list[dict[str, Any]]) -> int:
        """POST the reports with a fresh token; how many the service recorded."""
        with httpx.Client(timeout=self.timeout) as client:
            token = self.id_token(client)
            try:
                response = client.post(
                    f"{self.service_url}/publish/issues",
                    json={"issues": reports},
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError as exc:
                raise ServiceError(f"il servizio non risponde ({why_failed(exc)}).") from None
            if response.status_code != 200:
                reason = " ".join(response.text.split())[:300] or "nessun motivo"
                raise ServiceError(f"il servizio ha rifiutato il resoconto (HTTP {response.status_code}): {reason}")
            try:
                return int(response.json()["recorded"])
            except (ValueError, KeyError, TypeError):
                raise ServiceError("il servizio ha risposto senza dire quante issue ha registrato.") from None


def why_failed(exc: Exception) -> str:
    """What went wrong with a call, in a few words that carry no secret (no URL, no header)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError):
        return type(exc).__name__
    return "risposta non valida"
