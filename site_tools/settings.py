"""Runtime settings: secrets and endpoints, only from the environment.

Tokens never appear in the repository, the built site or a log line
(:meth:`Settings.describe` prints which are set, never their values).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from site_tools.content import limits

GRAPH_DEFAULT = "https://graph.facebook.com/v24.0"
TELEGRAM_DEFAULT = "https://api.telegram.org"


@dataclass(frozen=True)
class Settings:
    whatsapp_token: str | None = field(default=None, repr=False)
    whatsapp_phone_number_id: str | None = None
    whatsapp_api_url: str = GRAPH_DEFAULT
    whatsapp_mps: float = limits.WHATSAPP_DEFAULT_MPS
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = TELEGRAM_DEFAULT
    channel_gateway_url: str | None = None
    channel_gateway_token: str | None = field(default=None, repr=False)
    channel_id: str | None = None  # the newsletter id at the gateway, "…@newsletter"
    app_secret: str | None = field(default=None, repr=False)
    verify_token: str | None = field(default=None, repr=False)
    db_url: str | None = None
    http_timeout: float = 20.0
    #: Signs the staff inbox's session cookies (the one-to-one counter); the inbox stays closed without it.
    session_secret: str | None = field(default=None, repr=False)
    #: The workflow's own token and repository (GitHub sets them): manual posts become issues for the editors.
    github_token: str | None = field(default=None, repr=False)
    github_repository: str | None = None
    github_api_url: str = "https://api.github.com"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        mps = float(e.get("WHATSAPP_MPS") or limits.WHATSAPP_DEFAULT_MPS)
        return cls(
            whatsapp_token=e.get("WHATSAPP_TOKEN") or None,
            whatsapp_phone_number_id=e.get("WHATSAPP_PHONE_NUMBER_ID") or None,
            whatsapp_api_url=(e.get("WHATSAPP_API_URL") or GRAPH_DEFAULT).rstrip("/"),
            whatsapp_mps=max(1.0, min(mps, float(limits.WHATSAPP_MAX_MPS))),
            telegram_bot_token=e.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_url=(e.get("TELEGRAM_API_URL") or TELEGRAM_DEFAULT).rstrip("/"),
            channel_gateway_url=(e.get("WHATSAPP_CHANNEL_GATEWAY_URL") or "").rstrip("/") or None,
            channel_gateway_token=e.get("WHATSAPP_CHANNEL_GATEWAY_TOKEN") or None,
            channel_id=e.get("WHATSAPP_CHANNEL_ID") or None,
            app_secret=e.get("WHATSAPP_APP_SECRET") or None,
            verify_token=e.get("WHATSAPP_VERIFY_TOKEN") or None,
            db_url=e.get("SITE_TOOLS_DB") or None,
            http_timeout=float(e.get("SITE_TOOLS_HTTP_TIMEOUT") or 20.0),
            session_secret=e.get("SITE_TOOLS_SESSION_SECRET") or None,
            github_token=e.get("GITHUB_TOKEN") or None,
            github_repository=e.get("GITHUB_REPOSITORY") or None,
            github_api_url=(e.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        )

    def secrets(self) -> list[str]:
        """Values to scrub from any text before it is printed."""
        return [
            s
            for s in (
                self.whatsapp_token,
                self.telegram_bot_token,
                self.channel_gateway_token,
                self.app_secret,
                self.verify_token,
                self.session_secret,
                self.github_token,
            )
            if s
        ]

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "•••")
        return text
